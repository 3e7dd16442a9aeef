// The snapshot file format: the whole state machine as a sequence of records,
// produced in bounded chunks so a 100 MB state never needs one giant string or
// JSON document, and the runtime can write or send it as it is produced.
//
//   header   "RKVS" | u32 format version | f64 appliedIndex | f64 clock | f64 tombstoneFloor
//   keys     u32 count, each: bytes key | bytes value | f64 expireAtMs (Infinity: none) | f64 version
//   sessions u32 count, each (least recently applied first): u8+utf8 clientId | f64 seq | f64 index | outcome
//   tombs    u32 count, each (oldest first): bytes key | f64 version
//   trailer  u32 crc32c of every byte before it
//
// Counts are written in the header of their section, so the writer knows them
// up front (they are Map sizes). Order within sections is the state's own Map
// order, which eviction depends on, so a restored replica evicts exactly as the
// one that wrote the snapshot.

import type { KvOpResult, KvWriteOutcome } from './command.js'
import { ByteReader } from './binary.js'
import { KvSnapshotError } from './errors.js'
import { Keyspace, storedValueOf, type Entry, type StoredValue } from './keyspace.js'
import { SessionTable, type Session } from './session-table.js'
import { crc32c } from '../util/checksum.js'
import { unreachable } from '../util/assert.js'

const MAGIC = 0x53564b52 // "RKVS" read as a little-endian u32
export const SNAPSHOT_VERSION = 1
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024
/** Session outcomes nest one array deep (MGET inside MULTI); deeper means corruption. */
const RESULT_DEPTH_MAX = 4

export interface SnapshotState {
  readonly appliedIndex: number
  readonly keyspace: Keyspace
  readonly sessions: SessionTable
}

/**
 * Fills fixed-size chunks; `ready` holds completed ones for the generator to
 * hand out. A field larger than a chunk is handed out as its own chunk.
 */
class ChunkWriter {
  private buf = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES)
  private pos = 0
  crc = 0
  readonly ready: Buffer[] = []

  private room(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.flush()
  }

  flush(): void {
    if (this.pos === 0) return
    this.emit(this.buf.subarray(0, this.pos))
    this.buf = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES)
    this.pos = 0
  }

  private emit(chunk: Buffer): void {
    this.crc = crc32c(chunk, this.crc)
    this.ready.push(chunk)
  }

  u8(value: number): void {
    this.room(1)
    this.buf[this.pos++] = value
  }

  u32(value: number): void {
    this.room(4)
    this.pos = this.buf.writeUInt32LE(value, this.pos)
  }

  f64(value: number): void {
    this.room(8)
    this.pos = this.buf.writeDoubleLE(value, this.pos)
  }

  bytes(value: StoredValue | Buffer): void {
    this.u32(value.length)
    if (value.length > SNAPSHOT_CHUNK_BYTES / 4) {
      this.flush()
      this.emit(typeof value === 'string' ? Buffer.from(value, 'latin1') : value)
      return
    }
    this.room(value.length)
    if (typeof value === 'string') this.pos += this.buf.write(value, this.pos, value.length, 'latin1')
    else this.pos += value.copy(this.buf, this.pos)
  }

  shortString(value: string): void {
    const length = Buffer.byteLength(value, 'utf8')
    this.u8(length)
    this.room(length)
    this.pos += this.buf.write(value, this.pos, length, 'utf8')
  }
}

/** The snapshot as a sequence of chunks (about SNAPSHOT_CHUNK_BYTES each); the last holds the checksum. */
export function* encodeSnapshot(state: SnapshotState): Generator<Buffer> {
  const w = new ChunkWriter()
  const ks = state.keyspace
  w.u32(MAGIC)
  w.u32(SNAPSHOT_VERSION)
  w.f64(state.appliedIndex)
  w.f64(ks.clock)
  w.f64(ks.tombstoneFloor)
  w.u32(ks.entries.size)
  for (const [key, entry] of ks.entries) {
    w.bytes(key)
    w.bytes(entry.value)
    w.f64(entry.expireAtMs)
    w.f64(entry.version)
    if (w.ready.length > 0) yield* w.ready.splice(0)
  }
  w.u32(state.sessions.sessions.size)
  for (const [clientId, session] of state.sessions.sessions) {
    w.shortString(clientId)
    w.f64(session.seq)
    w.f64(session.index)
    writeOutcome(w, session.outcome)
    if (w.ready.length > 0) yield* w.ready.splice(0)
  }
  w.u32(ks.tombstones.size)
  for (const [key, version] of ks.tombstones) {
    w.bytes(key)
    w.f64(version)
    if (w.ready.length > 0) yield* w.ready.splice(0)
  }
  w.flush()
  yield* w.ready.splice(0)
  const trailer = Buffer.allocUnsafe(4)
  trailer.writeUInt32LE(w.crc, 0)
  yield trailer
}

function writeOutcome(w: ChunkWriter, outcome: KvWriteOutcome | null): void {
  if (outcome === null) return w.u8(0)
  if (outcome.t === 'watchAborted') return w.u8(2)
  w.u8(1)
  w.u32(outcome.results.length)
  for (const result of outcome.results) writeResult(w, result)
}

const RESULT_TAGS = ['ok', 'status', 'nil', 'int', 'bulk', 'array', 'error'] as const

function writeResult(w: ChunkWriter, result: KvOpResult): void {
  w.u8(RESULT_TAGS.indexOf(result.t))
  switch (result.t) {
    case 'ok': case 'nil':
      return
    case 'status':
      return w.bytes(Buffer.from(result.value, 'utf8'))
    case 'int':
      // Decimal text keeps number and bigint apart without a range limit.
      w.u8(typeof result.value === 'bigint' ? 1 : 0)
      return w.bytes(Buffer.from(result.value.toString(), 'latin1'))
    case 'bulk':
      return w.bytes(result.value)
    case 'array':
      w.u32(result.items.length)
      for (const item of result.items) writeResult(w, item)
      return
    case 'error':
      w.u8(result.code === 'WRONGTYPE' ? 1 : 0)
      return w.bytes(Buffer.from(result.message, 'utf8'))
    default:
      unreachable(result, 'result')
  }
}

/** Checks the checksum, then rebuilds the state. Throws KvSnapshotError on any inconsistency. */
export function decodeSnapshot(data: Buffer): SnapshotState {
  if (data.length < 4 + 4 + 8 * 3 + 4 * 3 + 4) throw new KvSnapshotError(`snapshot too short: ${data.length} bytes`)
  const bodyEnd = data.length - 4
  const expected = data.readUInt32LE(bodyEnd)
  const actual = crc32c(data.subarray(0, bodyEnd))
  if (expected !== actual) throw new KvSnapshotError(`snapshot checksum mismatch: stored ${expected}, computed ${actual}`)
  const r = new ByteReader(data, (message) => new KvSnapshotError(message), 0, bodyEnd)
  if (r.u32('magic') !== MAGIC) throw new KvSnapshotError('not a raftkv snapshot (bad magic)')
  const version = r.u32('format version')
  if (version !== SNAPSHOT_VERSION) throw new KvSnapshotError(`unknown snapshot format version ${version}`)
  const appliedIndex = r.uint53('appliedIndex')
  const keyspace = new Keyspace()
  keyspace.clock = r.uint53('clock')
  keyspace.tombstoneFloor = r.uint53('tombstoneFloor')
  readKeys(r, keyspace)
  const sessions = new SessionTable()
  readSessions(r, sessions)
  readTombstones(r, keyspace)
  r.expectEnd()
  return { appliedIndex, keyspace, sessions }
}

function readKeys(r: ByteReader, keyspace: Keyspace): void {
  const count = r.count('key count', 24, Number.MAX_SAFE_INTEGER)
  for (let i = 0; i < count; i++) {
    const key = r.latin1('key')
    const value = storedValueOf(r.bytes('value'))
    const expireAtMs = r.f64orInfinity('expireAtMs')
    const version = r.uint53('version')
    const entry: Entry = { value, expireAtMs, version }
    if (!keyspace.load(key, entry)) throw new KvSnapshotError(`duplicate key in snapshot at record ${i}`)
  }
}

function readSessions(r: ByteReader, sessions: SessionTable): void {
  const count = r.count('session count', 18, Number.MAX_SAFE_INTEGER)
  for (let i = 0; i < count; i++) {
    const clientId = r.shortString('clientId')
    const seq = r.uint53('seq')
    const index = r.uint53('session index')
    const session: Session = { seq, index, outcome: readOutcome(r) }
    if (!sessions.load(clientId, session)) throw new KvSnapshotError(`duplicate session in snapshot at record ${i}`)
  }
}

function readOutcome(r: ByteReader): KvWriteOutcome | null {
  const kind = r.tag('outcome kind', 3)
  if (kind === 0) return null
  if (kind === 2) return { t: 'watchAborted' }
  const count = r.count('result count', 1, Number.MAX_SAFE_INTEGER)
  const results: KvOpResult[] = new Array(count)
  for (let i = 0; i < count; i++) results[i] = readResult(r, 0)
  return { t: 'results', results }
}

function readResult(r: ByteReader, depth: number): KvOpResult {
  if (depth > RESULT_DEPTH_MAX) throw new KvSnapshotError('session result nested too deeply')
  const t = RESULT_TAGS[r.tag('result tag', RESULT_TAGS.length)] as KvOpResult['t']
  switch (t) {
    case 'ok': case 'nil':
      return { t }
    case 'status':
      return { t, value: r.bytes('status').toString('utf8') }
    case 'int': {
      const isBigint = r.tag('int kind', 2) === 1
      const text = r.bytes('int').toString('latin1')
      if (!/^-?[0-9]{1,20}$/.test(text)) throw new KvSnapshotError(`bad integer result '${text.slice(0, 24)}'`)
      return { t, value: isBigint ? BigInt(text) : Number(text) }
    }
    case 'bulk':
      return { t, value: Buffer.from(r.bytes('bulk')) }
    case 'array': {
      const count = r.count('array length', 1, Number.MAX_SAFE_INTEGER)
      const items: KvOpResult[] = new Array(count)
      for (let i = 0; i < count; i++) items[i] = readResult(r, depth + 1)
      return { t, items }
    }
    case 'error': {
      const code = r.tag('error code', 2) === 1 ? 'WRONGTYPE' : 'ERR'
      return { t, code, message: r.bytes('error message').toString('utf8') }
    }
    default:
      return unreachable(t, 'result tag')
  }
}

function readTombstones(r: ByteReader, keyspace: Keyspace): void {
  const count = r.count('tombstone count', 12, Number.MAX_SAFE_INTEGER)
  for (let i = 0; i < count; i++) {
    const key = r.latin1('tombstone key')
    if (!keyspace.loadTombstone(key, r.uint53('tombstone version'))) {
      throw new KvSnapshotError(`duplicate tombstone in snapshot at record ${i}`)
    }
  }
}
