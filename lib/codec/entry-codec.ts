// The one encoding of a log entry (and of a cluster member), used by both the
// peer wire (the entries of an Append, lib/transport/append-codec.ts) and the
// log file (record type 3, lib/storage/entry-codec.ts), so an entry's bytes
// are the same in both and a follower writes to its log the bytes it was
// sent. It lives in its own folder because both lib/storage and
// lib/transport depend on it and neither should depend on the other.
//
// The layout is the Avro record the wire has always used (wire-schema.ts
// ENTRY), flat rather than a union per kind:
//   index long, term long, kind enum {normal, noop, config}, data bytes,
//   config {members: array of Member {id string, addr string,
//           role enum {voter, learner}, incarnation string ('' = unknown)}}
// A normal entry is its header varints, its data and one 0 byte (no members).
import type { Config, Entry, Member } from '../raft/types.js'
import { AvroCursor, longBytes, stringBytes, writeBytes, writeLong, writeString } from './avro-bytes.js'

const entryKinds = ['normal', 'noop', 'config'] as const
const KIND_NORMAL = 0
const KIND_NOOP = 1
const KIND_CONFIG = 2
const memberRoles = ['voter', 'learner'] as const

function memberBytes(m: Member): number {
  return stringBytes(m.id) + stringBytes(m.addr) + 1 + stringBytes(m.incarnation ?? '')
}

function writeMember(buf: Buffer, offset: number, m: Member): number {
  let at = writeString(buf, offset, m.id)
  at = writeString(buf, at, m.addr)
  buf[at++] = m.role === 'learner' ? 2 : 0
  return writeString(buf, at, m.incarnation ?? '')
}

/** Bytes of a members array: count, members, end marker (one 0 byte when empty). */
function configBytes(config: Config): number {
  const members = config.members
  if (members.length === 0) return 1
  let bytes = longBytes(members.length) + 1
  for (const m of members) bytes += memberBytes(m)
  return bytes
}

function writeConfig(buf: Buffer, offset: number, config: Config): number {
  const members = config.members
  if (members.length === 0) {
    buf[offset] = 0
    return offset + 1
  }
  let at = writeLong(buf, offset, members.length)
  for (const m of members) at = writeMember(buf, at, m)
  buf[at] = 0
  return at + 1
}

/** Encoded size of `entry` in the shared layout. */
export function entryBytes(entry: Entry): number {
  const head = longBytes(entry.index) + longBytes(entry.term) + 1
  switch (entry.kind) {
    case 'normal': return head + longBytes(entry.data.length) + entry.data.length + 1
    case 'noop': return head + 2
    default: return head + 1 + configBytes(entry.config)
  }
}

/** Writes `entry` at buf[offset] (which must have room: see entryBytes); returns the end offset. */
export function writeEntry(buf: Buffer, offset: number, entry: Entry): number {
  let at = writeLong(buf, offset, entry.index)
  at = writeLong(buf, at, entry.term)
  switch (entry.kind) {
    case 'normal':
      buf[at++] = KIND_NORMAL * 2
      at = writeBytes(buf, at, entry.data)
      buf[at] = 0 // no members
      return at + 1
    case 'noop':
      buf[at] = KIND_NOOP * 2
      buf[at + 1] = 0 // no data
      buf[at + 2] = 0 // no members
      return at + 3
    default:
      buf[at++] = KIND_CONFIG * 2
      buf[at++] = 0 // no data
      return writeConfig(buf, at, entry.config)
  }
}

/** `withIncarnation` false: storage record type 1, whose members have no incarnation field. */
export function readMember(cursor: AvroCursor, withIncarnation = true): Member {
  const id = cursor.string()
  const addr = cursor.string()
  const role = memberRoles[cursor.index(memberRoles.length)] ?? 'voter'
  const incarnation = withIncarnation ? cursor.string() : ''
  // '' (unknown) decodes to no incarnation at all, the shape the core builds.
  return incarnation === '' ? { id, addr, role } : { id, addr, role, incarnation }
}

export function readConfig(cursor: AvroCursor, withIncarnation = true): Config {
  return { members: cursor.array(() => readMember(cursor, withIncarnation)) }
}

/**
 * Reads one entry in the shared layout. Data is a view of the cursor's
 * buffer (no copy). Members sent with a normal or noop entry are read and
 * dropped, as avsc's decoder did. Throws on malformed input.
 */
export function readEntry(cursor: AvroCursor): Entry {
  const index = cursor.long()
  const term = cursor.long()
  const kind = cursor.index(entryKinds.length)
  const data = cursor.bytes()
  if (kind === KIND_CONFIG) return { index, term, kind: 'config', config: readConfig(cursor) }
  if (cursor.buf[cursor.offset] === 0) cursor.offset++ // the usual: no members
  else readConfig(cursor)
  return kind === KIND_NORMAL ? { index, term, kind: 'normal', data } : { index, term, kind: 'noop' }
}

/** The entry kind symbols in enum order (for schemas that must match this layout). */
export const ENTRY_KIND_SYMBOLS: readonly string[] = entryKinds
