// Avro schemas for everything that crosses a peer connection: the WireMessage
// union (one record per message `type`, record name = type) and the handshake
// frames. avsc compiles each schema into fast readers and writers; logical
// types turn decoded records into the plain TypeScript shapes of
// wire-message.ts and raft/types.ts, so callers never see avsc classes.
//
// Schema evolution. Never reorder, rename or remove a field or union branch:
// the binary encoding is positional. To add a field, append it to its record
// with a `default`, keep the previous schema as WIRE_SCHEMA_V<n>, bump
// PROTOCOL_VERSION in handshake.ts and decode frames from an older peer (the
// handshake tells us its version) with `current.createResolver(previous)`,
// which fills the new field from its default. New message types are appended
// as new union branches.
//
// Version 2 appended incarnations (see raft/types.ts): Member.incarnation, the
// fromIncarnation/toIncarnation stamps on every raft message and snapshot
// chunk, and JoinRequest.incarnation. Version-1 peers are refused by the
// handshake (the whole cluster is upgraded together), so no V1 schema is kept.
//
// Version 3 appended `clockMs` (long, default 0 = unknown) to every raft
// message and snapshot chunk: the cluster clock as the sender knew it, which
// TTL expiry on reads follows (see raft/types.ts MessageBase.clockMs). A
// version-2 node would decide expiry from its own clock, so mixing them
// would bring back the skew bug: version-2 peers are refused by the
// handshake, as version 1 was, and no V2 schema is kept.
import avro from 'avsc'
import type { Entry, Member } from '../raft/types.js'

type AvroSchema = avro.Schema
type Field = { name: string; type: AvroSchema; default?: string | number }

const long = 'long'
const string = 'string'
const bytes = 'bytes'
const boolean = 'boolean'

function record(name: string, fields: Field[], logicalType = 'plain'): AvroSchema {
  return { type: 'record', name, logicalType, fields } as AvroSchema
}
function message(name: string, fields: Field[]): AvroSchema {
  return record(name, fields, 'message')
}
const f = (name: string, type: AvroSchema): Field => ({ name, type })
/** An incarnation field: '' (unknown, never checked) when a writer leaves it out. */
const inc = (name: string): Field => ({ name, type: string, default: '' })
const addressed = [f('from', string), f('to', string), f('term', long)]
/** Appended to every raft message: the sender's incarnation and the receiver's as the sender's config lists it. */
const stamps = [inc('fromIncarnation'), inc('toIncarnation'), { name: 'clockMs', type: long, default: 0 }]

const MEMBER = record('Member', [
  f('id', string),
  f('addr', string),
  f('role', { type: 'enum', name: 'MemberRole', symbols: ['voter', 'learner'] }),
  inc('incarnation'),
], 'member')
const CONFIG = record('Config', [f('members', array(MEMBER))])
// Config is defined in full at its first use (Entry, inside Append) and named after that.
const SNAPSHOT_META = record('SnapshotMeta', [f('index', long), f('term', long), f('config', 'Config')])
// Entries are flat on the wire (kind + every variant's payload, empty when
// unused): cheaper than a nested union per entry. EntryType restores the variant.
const ENTRY = record(
  'Entry',
  [
    f('index', long),
    f('term', long),
    f('kind', { type: 'enum', name: 'EntryKind', symbols: ['normal', 'noop', 'config'] }),
    f('data', bytes),
    f('config', CONFIG),
  ],
  'entry',
)
const vote = [...addressed, f('lastIndex', long), f('lastTerm', long), f('transfer', boolean)]

/** Union branches in wire order. Append new message types at the end only. */
export const WIRE_MESSAGE_SCHEMAS: readonly AvroSchema[] = [
  message('PreVote', [...vote, ...stamps]),
  message('Vote', [...vote, ...stamps]),
  message('PreVoteResp', [...addressed, f('reject', boolean), ...stamps]),
  message('VoteResp', [...addressed, f('reject', boolean), ...stamps]),
  message('Append', [
    ...addressed,
    f('prevIndex', long),
    f('prevTerm', long),
    f('entries', array(ENTRY)),
    f('commit', long),
    ...stamps,
  ]),
  message('AppendResp', [
    ...addressed,
    f('reject', boolean),
    f('index', long),
    f('hintIndex', long),
    f('hintTerm', long),
    ...stamps,
  ]),
  message('Heartbeat', [...addressed, f('commit', long), f('readSeq', long), ...stamps]),
  message('HeartbeatResp', [...addressed, f('readSeq', long), ...stamps]),
  message('Snapshot', [...addressed, f('snapshot', SNAPSHOT_META), ...stamps]),
  message('TimeoutNow', [...addressed, ...stamps]),
  message('ReadIndex', [...addressed, f('ctx', string), ...stamps]),
  message('ReadIndexResp', [...addressed, f('ctx', string), f('index', long), ...stamps]),
  message('JoinRequest', [f('requestId', string), f('id', string), f('addr', string), inc('incarnation')]),
  message('JoinResponse', [
    f('requestId', string),
    f('ok', boolean),
    f('error', string),
    f('clusterId', string),
    f('leaderHint', string),
  ]),
  message('ForwardRequest', [f('requestId', string), f('data', bytes)]),
  message('ForwardResponse', [
    f('requestId', string),
    f('ok', boolean),
    f('result', bytes),
    f('errorCode', string),
    f('error', string),
  ]),
  message('SnapshotChunk', [
    f('term', long),
    f('from', string),
    f('to', string),
    f('meta', 'SnapshotMeta'),
    f('offset', long),
    f('totalBytes', long),
    f('data', bytes),
    f('crc', long),
    ...stamps,
  ]),
  message('SnapshotChunkAck', [
    f('term', long),
    f('from', string),
    f('to', string),
    f('index', long),
    f('nextOffset', long),
    f('ok', boolean),
  ]),
  message('AdminRequest', [f('requestId', string), f('op', string), f('args', array(string))]),
  message('AdminResponse', [
    f('requestId', string),
    f('ok', boolean),
    f('error', string),
    f('body', string),
  ]),
]

// Handshake frames (see handshake.ts). Branches 0 (Hello) and 1 (Refuse) and
// Hello's first field (protocolVersion) are frozen forever, so that any two
// versions can at least tell each other that they do not match.
const NONCE = { type: 'fixed', name: 'Nonce', size: 32 }
const MAC = { type: 'fixed', name: 'Mac', size: 32 }
export const HANDSHAKE_SCHEMAS: readonly AvroSchema[] = [
  message('Hello', [
    f('protocolVersion', long),
    f('clusterId', string),
    f('fromId', string),
    f('toId', string),
    f('nonce', NONCE as AvroSchema),
  ]),
  message('Refuse', [f('protocolVersion', long), f('reason', string), f('detail', string)]),
  message('Challenge', [f('nonce', 'Nonce')]),
  message('Proof', [f('mac', MAC as AvroSchema)]),
  message('Accept', [f('nodeId', string), f('clusterId', string), f('mac', 'Mac')]),
]

/** What both sides feed to HMAC-SHA256; Avro strings are length-prefixed, so fields cannot run together. */
export const TRANSCRIPT_SCHEMA: AvroSchema = record('Transcript', [
  f('label', string),
  f('protocolVersion', long),
  f('dialerClusterId', string),
  f('dialerId', string),
  f('requestedId', string),
  f('listenerId', string),
  f('listenerClusterId', string),
  f('dialerNonce', bytes),
  f('listenerNonce', bytes),
])

// ---- logical types: avsc records <-> plain objects --------------------------
// avsc's LogicalType API is typed with `any`; the casts stay inside these classes.

type Fields = Record<string, unknown>

/**
 * A function that copies a decoded record's fields into a plain object, the
 * `type` tag first when there is one, made once per record type as avsc
 * makes its readers. A loop over the field names (`out[name] = value[name]`)
 * left every one of its property reads and writes megamorphic in every node
 * (`--log-ic`, session 33): a slow lookup per field of every message a node
 * decodes, acks and heartbeats included. The names are this module's own
 * schema constants, quoted with JSON.stringify. clockMs 0 (unknown) decodes
 * as absent, the shape the core builds.
 */
export function plainRecordCopier(tag: string | null, fieldNames: readonly string[]): (value: Fields) => Fields {
  const q = (name: string): string => JSON.stringify(name)
  const clockAt = fieldNames.indexOf('clockMs')
  const literal = (clockAt < 0 ? fieldNames : fieldNames.slice(0, clockAt)).map((name) => `${q(name)}: v[${q(name)}]`)
  if (tag !== null) literal.unshift(`type: ${q(tag)}`)
  const after = clockAt < 0 ? [] : fieldNames.slice(clockAt + 1).map((name) => `o[${q(name)}] = v[${q(name)}];`)
  const clock = clockAt < 0 ? '' : 'if (v.clockMs !== 0) o.clockMs = v.clockMs;'
  return new Function('v', `const o = { ${literal.join(', ')} }; ${clock} ${after.join(' ')} return o`) as (value: Fields) => Fields
}

/** Copies a decoded record into a plain object; `message` records also get their `type` tag first. */
class PlainRecordType extends avro.types.LogicalType {
  private readonly copy: (value: Fields) => Fields

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts)
    const underlying = this.underlyingType as unknown as { name: string; fields: { name: string }[] }
    const tag = (schema as { logicalType: string }).logicalType === 'message' ? underlying.name : null
    this.copy = plainRecordCopier(tag, underlying.fields.map((field) => field.name))
  }

  protected override _fromValue(value: Fields): Fields {
    return this.copy(value)
  }

  // The record writer reads only declared fields, so the object goes out as is.
  protected override _toValue(value: Fields): Fields {
    return value
  }
}

/** A member decodes without `incarnation` when it is '' (unknown), exactly as storage reads it back. */
class MemberType extends avro.types.LogicalType {
  protected override _fromValue(value: { id: string; addr: string; role: Member['role']; incarnation: string }): Member {
    const { id, addr, role, incarnation } = value
    return incarnation === '' ? { id, addr, role } : { id, addr, role, incarnation }
  }

  protected override _toValue(member: Member): unknown {
    return { id: member.id, addr: member.addr, role: member.role, incarnation: member.incarnation ?? '' }
  }
}

const EMPTY_BUFFER = Buffer.alloc(0)
const EMPTY_CONFIG = Object.freeze({ members: Object.freeze([]) })

interface FlatEntry {
  index: number
  term: number
  kind: Entry['kind']
  data: Buffer
  config: { members: unknown[] }
}

class EntryType extends avro.types.LogicalType {
  protected override _fromValue(flat: FlatEntry): Entry {
    switch (flat.kind) {
      case 'normal':
        return { index: flat.index, term: flat.term, kind: 'normal', data: flat.data }
      case 'noop':
        return { index: flat.index, term: flat.term, kind: 'noop' }
      default:
        return { index: flat.index, term: flat.term, kind: 'config', config: flat.config as never }
    }
  }

  protected override _toValue(entry: Entry): unknown {
    return {
      index: entry.index,
      term: entry.term,
      kind: entry.kind,
      data: entry.kind === 'normal' ? entry.data : EMPTY_BUFFER,
      config: entry.kind === 'config' ? entry.config : EMPTY_CONFIG,
    }
  }
}

// ---- bounded array reads ----------------------------------------------------
// avsc trusts an array's block count: a 20-byte frame claiming 2^40 entries
// would loop, allocating, long after the buffer ran out. Every item in our
// schemas takes at least one byte, so a count above the bytes left is a lie
// and is refused before the loop. avsc's own types are frozen; a logical type
// is not, so the bounded reader lives here and replaces avsc's internal
// `_read` for arrays in our schemas only.
interface AvroTap {
  buf: Buffer
  pos: number
  readLong(): number
  skipLong(): void
}
interface AvroReadable {
  _read(tap: AvroTap): unknown
}

class BoundedArrayType extends avro.types.LogicalType {
  _read(tap: AvroTap): unknown[] {
    const items = (this.underlyingType as unknown as { itemsType: AvroReadable }).itemsType
    const out: unknown[] = []
    let n = tap.readLong()
    while (n !== 0) {
      if (n < 0) {
        n = -n
        tap.skipLong() // block size in bytes, unused
      }
      if (!(n <= tap.buf.length - tap.pos)) throw new Error('array count exceeds frame')
      for (; n > 0; n--) out.push(items._read(tap))
      n = tap.readLong()
    }
    return out
  }

  protected override _fromValue(value: unknown): unknown {
    return value
  }

  protected override _toValue(value: unknown): unknown {
    return value
  }
}

function array(items: AvroSchema): AvroSchema {
  return { type: 'array', items, logicalType: 'bounded-array' } as AvroSchema
}

function compile(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, {
    wrapUnions: true,
    omitRecordMethods: true,
    logicalTypes: {
      plain: PlainRecordType,
      message: PlainRecordType,
      entry: EntryType,
      member: MemberType,
      'bounded-array': BoundedArrayType,
    },
  } as Partial<avro.ForSchemaOptions>)
}

/** The whole WireMessage union (for schema export and resolvers); branches are `wireBranchTypes`. */
export const wireUnionType: avro.Type = compile(WIRE_MESSAGE_SCHEMAS as avro.Schema)
export const handshakeUnionType: avro.Type = compile(HANDSHAKE_SCHEMAS as avro.Schema)
export const transcriptType: avro.Type = compile(TRANSCRIPT_SCHEMA)

function branchesOf(union: avro.Type): readonly avro.Type[] {
  return (union as unknown as { types: avro.Type[] }).types
}
export const wireBranchTypes: readonly avro.Type[] = branchesOf(wireUnionType)
export const handshakeBranchTypes: readonly avro.Type[] = branchesOf(handshakeUnionType)

/** Branch index by record name (= message `type`). */
export function branchIndexByName(branches: readonly avro.Type[]): ReadonlyMap<string, number> {
  const out = new Map<string, number>()
  branches.forEach((branch, index) => {
    const underlying = (branch as unknown as { underlyingType: { name: string } }).underlyingType
    out.set(underlying.name, index)
  })
  return out
}
