// Avro encoding of log batches. One batch is what one persist() call writes:
// an optional hard state and a run of entries. Its payload starts with a type
// byte so that other record kinds can be added without a format break.
//
// Record types: 1 = the first layout (members without an incarnation), still
// read so that data written before incarnations opens unchanged; 2 = the
// current layout, whose Member has an `incarnation` ('' = unknown) last.
import avro from 'avsc'
import type { Entry, HardState, Member } from '../raft/types.js'
import { unreachable } from '../util/assert.js'
import { readBatch } from './batch-reader.js'

/** The layout every batch is written in. */
export const batchRecordType = 2
/** Members without incarnations: read only. */
export const batchRecordTypeV1 = 1

export interface LogBatch {
  readonly hardState: HardState | null
  readonly entries: readonly Entry[]
}

const memberFieldsV1 = [
  { name: 'id', type: 'string' },
  { name: 'addr', type: 'string' },
  { name: 'role', type: { type: 'enum', name: 'MemberRole', symbols: ['voter', 'learner'] } },
]
const memberFields = [...memberFieldsV1, { name: 'incarnation', type: 'string', default: '' }]

const batchTypeV1 = batchTypeWith(memberFieldsV1)
const batchType = batchTypeWith(memberFields)

function batchTypeWith(memberFieldList: readonly object[]): avro.Type {
  const memberSchema = { type: 'record', name: 'Member', fields: memberFieldList } as avro.Schema
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
            {
              name: 'config',
              type: ['null', {
                type: 'record',
                name: 'Config',
                fields: [{ name: 'members', type: { type: 'array', items: memberSchema } }],
              }],
            },
          ],
        },
      },
    },
  ],
  })
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
 * Encodes `batch` at `buf[offset]` (type byte, then Avro). Returns the end
 * offset, or -1 when `buf` is too small: the caller grows its scratch buffer.
 */
export function encodeBatchInto(batch: LogBatch, buf: Buffer, offset: number): number {
  if (offset + 1 > buf.length) return -1
  buf[offset] = batchRecordType
  const value: AvroBatch = { hardState: batch.hardState, entries: batch.entries.map(toAvroEntry) }
  const end = batchType.encode(value, buf, offset + 1)
  return end < 0 ? -1 : end
}

/** Decodes a record payload; throws on anything that is not a well-formed batch. */
export function decodeBatch(payload: Buffer): LogBatch {
  if (payload[0] === batchRecordType) return readBatch(payload, 1, true)
  if (payload[0] === batchRecordTypeV1) return readBatch(payload, 1, false)
  throw new Error(`unknown record type ${String(payload[0])}`)
}

/** The same through avsc's generic decoder: the reference readBatch is tested against. */
export function decodeBatchWithAvsc(payload: Buffer): LogBatch {
  const type = payload[0] === batchRecordType ? batchType : payload[0] === batchRecordTypeV1 ? batchTypeV1 : null
  if (type === null) throw new Error(`unknown record type ${String(payload[0])}`)
  const raw = type.fromBuffer(payload.subarray(1)) as AvroBatch
  const hardState = raw.hardState === null
    ? null
    : { term: raw.hardState.term, vote: raw.hardState.vote, commit: raw.hardState.commit }
  return { hardState, entries: raw.entries.map(fromAvroEntry) }
}
