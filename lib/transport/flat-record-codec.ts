// Flat peer messages — records whose every field is a string, a long or a
// boolean — written and read by functions generated from their schema
// instead of through avsc. They are most of what a node sends one at a time:
// each follower's AppendResp, each Heartbeat and HeartbeatResp, votes,
// ReadIndex rounds. avsc's way for them is generic: its record writer into a
// scratch buffer and a copy into the frame; its reader into an avsc record
// and a second copy into the plain object the core takes (wire-schema.ts).
// The generated encoder sizes the frame and writes each field into it once;
// the generated decoder reads each field into the plain object's literal.
// The bytes are Avro's, exactly what avsc writes for the same record (tests
// compare them over random messages), so the protocol is unchanged.
//
// The code is generated (as avsc generates its own readers and writers, and
// wire-schema.ts its copiers) so that every property read and write names
// its field: one function per record type, each site monomorphic. Field
// names come from this module's caller, the schema constants in
// wire-schema.ts, and are quoted with JSON.stringify, never spliced in.
import { AvroCursor, isAvroLong, longBytes, stringBytes, writeLong, writeString } from '../codec/avro-bytes.js'
import { RecentStrings } from '../codec/recent-strings.js'
import { FRAME_HEADER_BYTES, writeFrameHeader } from './frame-codec.js'

export type FlatFieldType = 'string' | 'long' | 'boolean'

export interface FlatField {
  readonly name: string
  readonly type: FlatFieldType
  /** Written when the message leaves the field out (undefined), as avsc does. */
  readonly default?: string | number
}

export interface FlatRecordCodec {
  /** A complete frame (header, union index byte, record) in one exactly sized buffer. Throws on a field that does not fit the schema. */
  encodeFrame(msg: object): Buffer
  /** The message in a frame payload whose first byte is this record's union index; throws a plain Error on malformed input. */
  decode(payload: Buffer): object
}

/** The schema's fields when the record is flat and, if it has clockMs, that is its last field; otherwise null (avsc handles it). */
export function flatFieldsOf(schema: unknown): FlatField[] | null {
  const fields = (schema as { fields?: unknown }).fields
  if (!Array.isArray(fields)) return null
  const out: FlatField[] = []
  for (const field of fields as { name: unknown; type: unknown; default?: unknown }[]) {
    if (typeof field.name !== 'string') return null
    if (field.type !== 'string' && field.type !== 'long' && field.type !== 'boolean') return null
    const dflt = field.default
    if (dflt !== undefined && typeof dflt !== 'string' && typeof dflt !== 'number') return null
    out.push(dflt === undefined ? { name: field.name, type: field.type } : { name: field.name, type: field.type, default: dflt })
  }
  // clockMs 0 decodes as absent (wire-schema.ts); kept simple by having it last.
  const clockAt = out.findIndex((f) => f.name === 'clockMs')
  if (clockAt >= 0 && (clockAt !== out.length - 1 || out[clockAt]?.type !== 'long')) return null
  return out
}

/** Throws the error a field that does not fit its schema gets (a programmer error, as avsc's is). */
function invalidField(record: string, field: string, value: unknown): never {
  throw new TypeError(`invalid ${record}.${field}: ${String(value)}`)
}

/** Reads a long and refuses one beyond ±(2^53 − 2), as avsc's reader does (its value would have lost precision). */
function readAvroLong(cursor: AvroCursor): number {
  const n = cursor.long()
  if (!isAvroLong(n)) throw new Error(`long out of range at ${cursor.offset}`)
  return n
}

/** Reads a boolean; a byte other than 0 or 1 is malformed. */
function readBoolean(cursor: AvroCursor): boolean {
  const byte = cursor.buf[cursor.offset]
  if (byte !== 0 && byte !== 1) throw new Error(byte === undefined ? 'input ends inside a value' : `invalid boolean byte ${byte} at ${cursor.offset}`)
  cursor.offset++
  return byte === 1
}

/**
 * Generates the codec of record `name` with union index `branchIndex`
 * (below 64: the index byte is `2 * branchIndex`). `fields` as returned by
 * flatFieldsOf.
 */
export function compileFlatRecordCodec(name: string, branchIndex: number, fields: readonly FlatField[]): FlatRecordCodec {
  if (!Number.isInteger(branchIndex) || branchIndex < 0 || branchIndex > 63) throw new RangeError(`union index ${branchIndex} does not fit one byte`)
  const q = (s: string): string => JSON.stringify(s)
  const prop = (f: FlatField): string => `m[${q(f.name)}]`

  // Encoder: read and check every field, size the frame, write it.
  const reads: string[] = []
  const sizes: string[] = [`${FRAME_HEADER_BYTES + 1}`]
  const writes: string[] = []
  fields.forEach((f, i) => {
    const v = `v${i}`
    const dflt = f.default === undefined ? null : f.type === 'string' ? q(String(f.default)) : String(Number(f.default))
    reads.push(dflt === null ? `const ${v} = ${prop(f)};` : `let ${v} = ${prop(f)}; if (${v} === undefined) ${v} = ${dflt};`)
    switch (f.type) {
      case 'string':
        reads.push(`if (typeof ${v} !== 'string') invalid(${q(name)}, ${q(f.name)}, ${v});`)
        sizes.push(`stringBytes(${v})`)
        writes.push(`at = writeString(b, at, ${v});`)
        break
      case 'long':
        reads.push(`if (!isAvroLong(${v})) invalid(${q(name)}, ${q(f.name)}, ${v});`)
        sizes.push(`longBytes(${v})`)
        writes.push(`at = writeLong(b, at, ${v});`)
        break
      case 'boolean':
        reads.push(`if (typeof ${v} !== 'boolean') invalid(${q(name)}, ${q(f.name)}, ${v});`)
        sizes.push('1')
        writes.push(`b[at++] = ${v} ? 1 : 0;`)
        break
    }
  })
  const encodeBody = [
    ...reads,
    `const n = ${sizes.join(' + ')};`,
    'const b = Buffer.allocUnsafe(n);',
    `writeFrameHeader(b, n - ${FRAME_HEADER_BYTES});`,
    `b[${FRAME_HEADER_BYTES}] = ${branchIndex * 2};`,
    `let at = ${FRAME_HEADER_BYTES + 1};`,
    ...writes,
    'return b;',
  ].join('\n')

  // Decoder: each field in order into a local, then the plain object: the
  // type tag first, the fields in schema order, clockMs only when not 0.
  const decodeReads = fields.map((f, i) =>
    `const v${i} = ${f.type === 'string' ? `k${i}.read(c)` : f.type === 'long' ? 'readLong(c)' : 'readBoolean(c)'};`)
  const repeats = fields.flatMap((f, i) => (f.type === 'string' ? [`const k${i} = new RecentStrings();`] : []))
  const clockAt = fields.findIndex((f) => f.name === 'clockMs')
  const literal = (withClock: boolean): string =>
    `{ type: ${q(name)}${fields.map((f, i) => (i === clockAt && !withClock ? '' : `, ${q(f.name)}: v${i}`)).join('')} }`
  const decodeBody = [
    'const c = new Cursor(p, 1);',
    ...decodeReads,
    `if (!c.atEnd()) throw new Error('trailing bytes after message');`,
    clockAt < 0 ? `return ${literal(true)};` : `return v${clockAt} === 0 ? ${literal(false)} : ${literal(true)};`,
  ].join('\n')

  const make = new Function(
    'Buffer', 'stringBytes', 'longBytes', 'writeString', 'writeLong', 'writeFrameHeader', 'invalid', 'isAvroLong', 'Cursor', 'readLong', 'readBoolean', 'RecentStrings',
    `${repeats.join('\n')}\nreturn { encodeFrame(m) {\n${encodeBody}\n}, decode(p) {\n${decodeBody}\n} }`,
  ) as (...deps: unknown[]) => FlatRecordCodec
  return make(Buffer, stringBytes, longBytes, writeString, writeLong, writeFrameHeader, invalidField, isAvroLong, AvroCursor, readAvroLong, readBoolean, RecentStrings)
}
