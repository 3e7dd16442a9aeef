// Encoding of log batches. One batch is what one persist() call writes: an
// optional hard state and a run of entries. Its payload starts with a type
// byte so that other record kinds can be added without a format break.
//
// Record types:
//   1 = the first layout (members without an incarnation); read only, so
//       that data written before incarnations opens unchanged;
//   2 = Avro via avsc, Member with an `incarnation` ('' = unknown) last, the
//       config of an entry a ['null', Config] union; read only;
//   3 = the current layout: hard state as in 2, then an Avro array of
//       entries in the layout shared with the wire (lib/codec/entry-codec.ts:
//       the config is a plain members array, no union). Normal and noop
//       entries are byte-for-byte the same as in type 2; a follower writes
//       the bytes of the Append it received (lib/codec/encoded-runs.ts).
import avro from 'avsc'
import { AvroCursor, longBytes, stringBytes, writeLong, writeString } from '../codec/avro-bytes.js'
import { forgetRun, runAt } from '../codec/encoded-runs.js'
import { entryBytes, writeEntry } from '../codec/entry-codec.js'
import type { Entry, HardState, Member } from '../raft/types.js'
import { unreachable } from '../util/assert.js'
import { readBatch } from './batch-reader.js'

/** The layout every batch is written in. */
export const batchRecordType = 3
/** The avsc layout with incarnations: read only. */
export const batchRecordTypeV2 = 2
/** Members without incarnations: read only. */
export const batchRecordTypeV1 = 1

export interface LogBatch {
  readonly hardState: HardState | null
  readonly entries: readonly Entry[]
}

// ---- writing (type 3) ---------------------------------------------------------

function hardStateBytes(hs: HardState | null): number {
  return hs === null ? 1 : 1 + longBytes(hs.term) + stringBytes(hs.vote) + longBytes(hs.commit)
}

/** Encoded size of `batch` with its type byte. Counts remembered runs (encoded-runs.ts) at their real size. */
export function batchPayloadBytes(batch: LogBatch): number {
  const entries = batch.entries
  let bytes = 1 + hardStateBytes(batch.hardState)
  if (entries.length === 0) return bytes + 1
  bytes += longBytes(entries.length) + 1
  for (let i = 0; i < entries.length;) {
    const run = runAt(entries, i)
    if (run !== null) {
      bytes += run.bytes.length
      i += run.entries.length
    } else {
      bytes += entryBytes(entries[i] as Entry)
      i++
    }
  }
  return bytes
}

/**
 * Encodes `batch` at `buf[offset]` (type byte, then the batch). Returns the
 * end offset, or -1 when `buf` is too small (batchPayloadBytes says how much
 * is needed). Runs of entries whose bytes were remembered are copied as they
 * are, then forgotten.
 */
export function encodeBatchInto(batch: LogBatch, buf: Buffer, offset: number): number {
  if (offset + batchPayloadBytes(batch) > buf.length) return -1
  buf[offset] = batchRecordType
  let at = offset + 1
  const hs = batch.hardState
  if (hs === null) {
    buf[at++] = 0
  } else {
    buf[at++] = 2
    at = writeLong(buf, at, hs.term)
    at = writeString(buf, at, hs.vote)
    at = writeLong(buf, at, hs.commit)
  }
  const entries = batch.entries
  if (entries.length > 0) {
    at = writeLong(buf, at, entries.length)
    for (let i = 0; i < entries.length;) {
      const run = runAt(entries, i)
      if (run !== null) {
        buf.set(run.bytes, at)
        at += run.bytes.length
        i += run.entries.length
        forgetRun(run)
      } else {
        at = writeEntry(buf, at, entries[i] as Entry)
        i++
      }
    }
  }
  buf[at++] = 0
  return at
}

/** Decodes a record payload; throws on anything that is not a well-formed batch. */
export function decodeBatch(payload: Buffer): LogBatch {
  const type = payload[0]
  if (type === batchRecordType || type === batchRecordTypeV2 || type === batchRecordTypeV1) {
    return readBatch(new AvroCursor(payload, 1), type)
  }
  throw new Error(`unknown record type ${String(type)}`)
}

// ---- the avsc schemas: the reference decoder, and type 2 for tests ----------

const memberFieldsV1 = [
  { name: 'id', type: 'string' },
  { name: 'addr', type: 'string' },
  { name: 'role', type: { type: 'enum', name: 'MemberRole', symbols: ['voter', 'learner'] } },
]
const memberFields = [...memberFieldsV1, { name: 'incarnation', type: 'string', default: '' }]

const batchTypeV1 = batchTypeWith(memberFieldsV1, true)
const batchTypeV2 = batchTypeWith(memberFields, true)
const batchTypeV3 = batchTypeWith(memberFields, false)

function batchTypeWith(memberFieldList: readonly object[], configUnion: boolean): avro.Type {
  const memberSchema = { type: 'record', name: 'Member', fields: memberFieldList } as avro.Schema
  const configSchema = { type: 'record', name: 'Config', fields: [{ name: 'members', type: { type: 'array', items: memberSchema } }] }
  return avro.Type.forSchema({
    type: 'record',
    name: 'LogBatch',
    fields: [
      {
        name: 'hardState',
        type: ['null', {
          type: 'record',
          name: 'HardState',
          fields: [
            { name: 'term', type: 'long' },
            { name: 'vote', type: 'string' },
            { name: 'commit', type: 'long' },
          ],
        }],
      },
      {
        name: 'entries',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Entry',
            fields: [
              { name: 'index', type: 'long' },
              { name: 'term', type: 'long' },
              { name: 'kind', type: { type: 'enum', name: 'EntryKind', symbols: ['normal', 'noop', 'config'] } },
              // Empty for noop and config entries: one flat record decodes faster than a union.
              { name: 'data', type: 'bytes' },
              { name: 'config', type: configUnion ? ['null', configSchema] : configSchema },
            ],
          },
        },
      },
    ],
  } as avro.Schema)
}

interface AvroMember {
  id: string
  addr: string
  role: Member['role']
  incarnation?: string
}
interface AvroEntry {
  index: number
  term: number
  kind: Entry['kind']
  data: Buffer
  config: { members: AvroMember[] } | null
}
interface AvroBatch {
  hardState: HardState | null
  entries: AvroEntry[]
}

const emptyData = Buffer.alloc(0)

function toAvroEntry(entry: Entry): AvroEntry {
  const { index, term } = entry
  switch (entry.kind) {
    // avsc needs a real Buffer; a plain Uint8Array is wrapped without a copy.
    case 'normal': return { index, term, kind: 'normal', data: asBuffer(entry.data), config: null }
    case 'noop': return { index, term, kind: 'noop', data: emptyData, config: null }
    case 'config': {
      const members = entry.config.members.map((m) => ({ id: m.id, addr: m.addr, role: m.role, incarnation: m.incarnation ?? '' }))
      return { index, term, kind: 'config', data: emptyData, config: { members } }
    }
    default: return unreachable(entry, 'entry kind')
  }
}

function fromAvroEntry(raw: AvroEntry): Entry {
  switch (raw.kind) {
    case 'normal': return { index: raw.index, term: raw.term, kind: 'normal', data: raw.data }
    case 'noop': return { index: raw.index, term: raw.term, kind: 'noop' }
    case 'config': {
      if (raw.config === null) throw new Error(`config entry ${raw.index} has no config`)
      const members = raw.config.members.map(memberFromAvro)
      return { index: raw.index, term: raw.term, kind: 'config', config: { members } }
    }
    default: return unreachable(raw.kind, 'entry kind')
  }
}

/** '' (or a v1 record, which has none) decodes to no incarnation at all, as the core writes it. */
function memberFromAvro(m: AvroMember): Member {
  const incarnation = m.incarnation ?? ''
  return incarnation === '' ? { id: m.id, addr: m.addr, role: m.role } : { id: m.id, addr: m.addr, role: m.role, incarnation }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * Encodes `batch` as record type 2 (the layout written before type 3) with
 * avsc. Nothing writes it any more: tests use it to check that older logs
 * still read.
 */
export function encodeBatchV2(batch: LogBatch): Buffer {
  const value: AvroBatch = { hardState: batch.hardState, entries: batch.entries.map(toAvroEntry) }
  return Buffer.concat([Buffer.from([batchRecordTypeV2]), batchTypeV2.toBuffer(value)])
}

/** The same as decodeBatch through avsc's generic decoder: the reference the direct reader is tested against. */
export function decodeBatchWithAvsc(payload: Buffer): LogBatch {
  const types = new Map([[batchRecordType, batchTypeV3], [batchRecordTypeV2, batchTypeV2], [batchRecordTypeV1, batchTypeV1]])
  const type = types.get(payload[0] ?? -1)
  if (type === undefined) throw new Error(`unknown record type ${String(payload[0])}`)
  const raw = type.fromBuffer(payload.subarray(1)) as AvroBatch
  const hardState = raw.hardState === null
    ? null
    : { term: raw.hardState.term, vote: raw.hardState.vote, commit: raw.hardState.commit }
  // Type 3 has no null config: a normal entry's empty members array means none.
  const entries = raw.entries.map((e) => fromAvroEntry(e.kind !== 'config' ? { ...e, config: null } : e))
  return { hardState, entries }
}
