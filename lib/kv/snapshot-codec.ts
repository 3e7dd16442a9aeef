// The snapshot file format: the whole state machine as a sequence of records
// whose exact size is known up front, encoded into one buffer of that size
// or, for a node's own snapshot, into one reused chunk at a time (no JSON,
// no giant string), and decoded in place.
//
//   header   "RKVS" | u32 format version | f64 appliedIndex | f64 clock | f64 tombstoneFloor
//   keys     u32 count, each: bytes key | u8 type | value | f64 expireAtMs (Infinity: none) | f64 version
//            type 0 (string): value is bytes. Types 1-4 (hash, list, set, zset): value is
//            u8 big | u32 count | the elements in the collection's own order: hash
//            (bytes field, bytes value), list and set (bytes), zset (bytes member, f64 score).
//            Format version 1 had no type byte and only string values; it is still read.
//   sessions u32 count, each (least recently applied first): u8+utf8 clientId | f64 seq | f64 index | outcome
//   tombs    u32 count, each (oldest first): bytes key | f64 version
//   config   u32 count, each: bytes name | bytes value (CONFIG SET through the log; format 3 on)
//   stamp    f64 the latest cluster time a leader stamped on an applied write (format 4 on)
//   trailer  u32 crc32c of every byte before it
//
// Counts are written in the header of their section, so the writer knows them
// up front (they are Map sizes). Order within sections is the state's own Map
// order, which eviction depends on, so a restored replica evicts exactly as the
// one that wrote the snapshot.

import type { KvOpResult, KvWriteOutcome } from './command.js'
import { ByteReader, ByteWriter, NEED_MORE_BYTES } from './binary.js'
import { KvSnapshotError } from './errors.js'
import { Keyspace, type CapturedEntry, type Entry, type EntryRef, type StoredValue } from './keyspace.js'
import { HashValue, ListValue, SetValue, ZSetValue, isString, valueBytes, type Collection, type EncodingLimits, type Value } from './values.js'
import { SessionTable, type Session } from './session-table.js'
import { crc32c } from '../util/checksum.js'
import { writeLatin1 } from '../codec/latin1-text.js'
import { assert, fail, unreachable } from '../util/assert.js'

const MAGIC = 0x53564b52 // "RKVS" read as a little-endian u32
export const SNAPSHOT_VERSION = 4
/** No stamp section: still restored (the stamp reads as 0). */
const SNAPSHOT_VERSION_NO_STAMP = 3
/** Typed values, no config section: still restored. */
const SNAPSHOT_VERSION_NO_CONFIG = 2
/** The first format, strings only: still restored. */
const SNAPSHOT_VERSION_STRINGS_ONLY = 1
const TYPE_TAGS = ['string', 'hash', 'list', 'set', 'zset'] as const
/** The type byte of a string value (TYPE_TAGS[0]); format version 1 had none and only strings. */
const STRING_TAG = 0
/** Session outcomes nest at most four arrays deep (LCS … IDX inside MULTI); far deeper means corruption. */
const RESULT_DEPTH_MAX = 8

export interface SnapshotState {
  readonly appliedIndex: number
  readonly keyspace: Keyspace
  readonly sessions: SessionTable
}

/**
 * The snapshot's bytes, in one buffer or in chunks. Its exact size is known
 * before a byte is written (the keyspace counts its key and value bytes;
 * sessions and tombstones are small or counted too), so the one-buffer form
 * is one allocation, written with no concatenation or per-field bounds
 * checks, and one checksum pass over it.
 *
 * A node takes one every SNAPSHOT_ENTRIES entries while it serves, and
 * 100,000 keys took 35–146 ms to encode in one go here (most 40–85 ms):
 * done in one go, that stalled every client of the node — and of the
 * cluster, when the leader or both followers reached the same index
 * together. So the keys are encoded in steps, with writes going on in
 * between: the header, the sessions and the tombstones are encoded at the
 * start (the last two kept aside for after the keys), the list of keys is
 * taken, and the keyspace keeps each entry as it was before its first
 * change (Keyspace.beginCapture). Each step encodes the next keys as they
 * were at the start; the bytes are exactly those of a snapshot taken at
 * once at the start.
 *
 * Given a chunk buffer, the encoder fills it and the caller writes it out
 * (takeChunk) before the next step: a node's own snapshot goes to its file
 * as it is encoded, through one reused buffer, instead of a buffer of the
 * whole state made every snapshot (121 MiB at 1M keys, on top of the
 * keyspace; faults on its fresh pages were also ~2.6 % of a follower's
 * CPU under -P 16). The checksum is then computed chunk by chunk.
 */
export class SnapshotEncoder {
  /** The snapshot's exact length in bytes. */
  readonly bytes: number
  /** Where the bytes go: the chunk, or for one record larger than the chunk, a buffer of its own. */
  private buf: Buffer
  /** `buf`'s bytes as a DataView, for the fixed-width fields and the values' copies. */
  private view: DataView
  private readonly chunk: Buffer
  private readonly chunkView: DataView
  /** Sessions, tombstones and config, encoded at the start; they follow the keys. */
  private readonly tail: Buffer
  private readonly keyspace: Keyspace
  /**
   * The keys at the start, in the Map's order. Sized up front: pushing 1M
   * keys regrew the array ~35 times, every old backing store (up to 8 MiB
   * each, in the large-object space) garbage until the next full GC — with
   * `entries`, ~40 MiB of a node's RSS after a snapshot at 1M keys — and took
   * 2.5× as long in the constructor, which runs in one go.
   */
  private keys: string[]
  /** What the keyspace held for each key at the start: unchanged unless `captured` holds the key. */
  private refs: EntryRef[]
  private readonly captured: ReadonlyMap<string, CapturedEntry>
  private nextKey = 0
  private chunkFull = false
  /** Where the next byte goes in `buf`. */
  private pos: number
  /** Bytes handed out by takeChunk, and their checksum so far. */
  private takenBytes = 0
  private crc = 0
  private closed = false

  /**
   * `chunk`: the buffer to encode into, reused chunk after chunk (the
   * caller writes each out before the next step). Absent, the snapshot is
   * one buffer of its own, exactly sized (finish).
   */
  constructor(state: SnapshotState, chunk?: Buffer) {
    const ks = state.keyspace
    this.bytes = snapshotBytes(state)
    this.tail = encodeTail(state)
    if (chunk !== undefined) assert(chunk.length >= CHUNK_BYTES_MIN, 'snapshot encoder: chunk too small for the header')
    this.chunk = chunk ?? Buffer.allocUnsafe(this.bytes)
    this.buf = this.chunk
    this.chunkView = this.view = viewOf(this.chunk)
    const w = new ByteWriter(this.buf)
    w.u32(MAGIC)
    w.u32(SNAPSHOT_VERSION)
    w.f64(state.appliedIndex)
    w.f64(ks.clock)
    w.f64(ks.tombstoneFloor)
    w.u32(ks.size)
    this.pos = w.pos
    this.keyspace = ks
    // Walking arrays in the Map's order costs a third of looking each key up again.
    const count = ks.size
    const keys = new Array<string>(count)
    const refs = new Array<EntryRef>(count)
    ks.collectRefs(keys, refs)
    this.keys = keys
    this.refs = refs
    this.captured = ks.beginCapture()
  }

  /**
   * Encodes up to `keysMax` more keys; true once every key is in. In chunks,
   * it stops early when the next key does not fit what is left of the
   * chunk: take the chunk, then step again.
   */
  step(keysMax: number): boolean {
    assert(!this.closed, 'snapshot encoder: step after finish or abort')
    const { keys, refs, captured, keyspace } = this
    const end = Math.min(keys.length, this.nextKey + keysMax)
    const anyCaptured = captured.size > 0
    let buf = this.buf
    let view = this.view
    let pos = this.pos
    let i = this.nextKey
    for (; i < end; i++) {
      const key = keys[i] as string
      const ref = refs[i] as EntryRef
      // Most keys are packed and unchanged since the start: their record comes
      // from the Smi and one visit to the slot, with no entry made for them.
      const capturedEntry = anyCaptured ? captured.get(key) : undefined
      const packedLength = capturedEntry === undefined ? keyspace.packedLength(ref) : -1
      const entry = packedLength >= 0 ? null : capturedEntry ?? keyspace.entryOf(ref)
      const arenaLength = entry === null ? packedLength : keyspace.arenaStringLength(entry)
      const recordBytes = KEY_RECORD_BYTES + key.length + (arenaLength >= 0 ? arenaLength : valueBytes((entry as Entry).value))
      if (pos + recordBytes > buf.length) {
        if (pos > 0) break
        // Larger than a whole chunk: a buffer of its own, taken next.
        buf = this.buf = Buffer.allocUnsafe(recordBytes)
        view = this.view = viewOf(buf)
      }
      view.setUint32(pos, key.length, true)
      pos = writeLatin1(buf, pos + 4, key, SHORT_STRING_CHARS)
      let expireAtMs: number
      let version: number
      if (arenaLength >= 0) {
        // An arena-held string is copied from its slab: no string made for it.
        view.setUint8(pos, STRING_TAG)
        view.setUint32(pos + 1, arenaLength, true)
        pos += 5
        if (entry === null) {
          version = keyspace.copyPacked(ref as number, arenaLength, buf, pos, view)
          expireAtMs = Infinity
        } else {
          keyspace.copyArenaString(entry, buf, pos, view)
          expireAtMs = entry.expireAtMs
          version = entry.version
        }
        pos += arenaLength
      } else {
        const held = entry as Entry
        pos = writeValue(buf, pos, held.value)
        expireAtMs = held.expireAtMs
        version = held.version
      }
      view.setFloat64(pos, expireAtMs, true)
      view.setFloat64(pos + 8, version, true)
      pos += 16
    }
    this.pos = pos
    this.nextKey = i
    this.chunkFull = i < end
    return i === keys.length
  }

  /** The last step stopped at a key that does not fit what is left of the chunk: take it before the next step. */
  get full(): boolean {
    return this.chunkFull
  }

  /**
   * The bytes encoded since the last take, to be written out before the
   * next step (which reuses the chunk). Adds them to the checksum.
   */
  takeChunk(): Buffer {
    const out = this.buf.subarray(0, this.pos)
    this.crc = crc32c(out, this.crc)
    this.takenBytes += out.length
    this.rewind()
    return out
  }

  /**
   * Once step() has returned true: what is left to write, in order (the
   * last keys, the sessions, tombstones and config, the checksum). Ends the
   * capture. In one buffer (no chunk was taken and it is the snapshot's
   * size), that is the whole snapshot.
   */
  finishChunks(): Buffer[] {
    assert(!this.closed && this.nextKey === this.keys.length, 'snapshot encoder: finish before every key is encoded')
    this.close()
    const { tail } = this
    let parts: Buffer[]
    if (tail.length + 4 <= this.buf.length - this.pos) {
      const crcAt = this.pos + tail.copy(this.buf, this.pos)
      this.buf.writeUInt32LE(crc32c(this.buf.subarray(0, crcAt), this.crc), crcAt)
      const last = this.buf.subarray(0, crcAt + 4)
      this.takenBytes += last.length
      this.rewind()
      parts = [last]
    } else {
      parts = [this.takeChunk(), tail]
      this.crc = crc32c(tail, this.crc)
      const trailer = Buffer.allocUnsafe(4)
      trailer.writeUInt32LE(this.crc, 0)
      parts.push(trailer)
      this.takenBytes += tail.length + 4
    }
    // Every byte was accounted for up front; a mismatch is a bug here, never bad input.
    if (this.takenBytes !== this.bytes) fail(`snapshot size mismatch: ${this.takenBytes} bytes encoded, expected ${this.bytes}`)
    return parts
  }

  /** The checksummed snapshot in one buffer (no chunk given), once step() has returned true; ends the capture. */
  finish(): Buffer {
    const parts = this.finishChunks()
    const whole = parts[0] as Buffer
    assert(parts.length === 1 && whole.length === this.bytes, 'snapshot encoder: finish() of a snapshot encoded in chunks')
    return whole
  }

  /** The next bytes go to the start of the chunk again (what was there has been handed out). */
  private rewind(): void {
    this.buf = this.chunk
    this.view = this.chunkView
    this.pos = 0
  }

  /** Gives the snapshot up (the node stopped, or installed a newer one): ends the capture. */
  abort(): void {
    this.close()
  }

  private close(): void {
    if (this.closed) return
    this.closed = true
    this.keyspace.endCapture()
    // The caller may hold the encoder a while (until the snapshot is saved): let the arrays go now.
    this.keys = []
    this.refs = []
  }
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.length)
}

/** The smallest chunk: room for the header. */
const CHUNK_BYTES_MIN = 64
/** Per key besides its bytes and its value's: the key's length, the type, a value's length or a collection's count, two f64s. */
const KEY_RECORD_BYTES = 4 + 1 + 4 + 8 + 8

/** The sessions, tombstones, config and stamp sections, as they are now. */
function encodeTail(state: SnapshotState): Buffer {
  const ks = state.keyspace
  const w = new ByteWriter(Buffer.allocUnsafe(tailBytes(state)))
  const sessions = state.sessions.sessions
  w.u32(sessions.size)
  for (const [clientId, session] of sessions) {
    w.shortString(clientId, Buffer.byteLength(clientId, 'utf8'))
    w.f64(session.seq)
    w.f64(session.index)
    writeOutcome(w, session.outcome)
  }
  w.u32(ks.tombstones.size)
  let pos = w.pos
  for (const [key, version] of ks.tombstones) {
    pos = writeStored(w.buf, pos, key)
    pos = w.buf.writeDoubleLE(version, pos)
  }
  pos = w.buf.writeUInt32LE(ks.config.size, pos)
  for (const [name, value] of ks.config) pos = writeStored(w.buf, writeStored(w.buf, pos, name), value)
  pos = w.buf.writeDoubleLE(ks.stampedMs, pos)
  if (pos !== w.buf.length) fail(`snapshot size mismatch: sessions and tombstones end at ${pos}, expected ${w.buf.length}`)
  return w.buf
}

/** The snapshot in one go: for tests, tools and anything not serving meanwhile. */
export function encodeSnapshot(state: SnapshotState): Buffer {
  const encoder = new SnapshotEncoder(state)
  encoder.step(Number.MAX_SAFE_INTEGER)
  return encoder.finish()
}

/** The keys section's exact size (most of a snapshot), without walking the keys. */
export function keysSectionBytes(ks: Keyspace): number {
  return ks.size * KEY_RECORD_BYTES + ks.keyValueBytes
}

/** A type byte, then a string or a collection (see the format at the top). */
function writeValue(buf: Buffer, at: number, value: Value): number {
  if (isString(value)) {
    buf[at] = STRING_TAG
    return writeStored(buf, at + 1, value)
  }
  let pos = at
  buf[pos++] = TYPE_TAGS.indexOf(value.type)
  buf[pos++] = value.big ? 1 : 0
  pos = buf.writeUInt32LE(value.size, pos)
  switch (value.type) {
    case 'hash':
      for (const [f, v] of value.map) pos = writeStored(buf, writeStored(buf, pos, f), v)
      return pos
    case 'list':
      for (let i = 0; i < value.size; i++) pos = writeStored(buf, pos, value.at(i))
      return pos
    case 'set':
      for (const m of value.members) pos = writeStored(buf, pos, m)
      return pos
    case 'zset':
      for (const [m, score] of value.scores) pos = buf.writeDoubleLE(score, writeStored(buf, pos, m))
      return pos
  }
}

/** The exact encoded size: header, the keys, the three other sections, trailer. */
function snapshotBytes(state: SnapshotState): number {
  return 32 + 4 + keysSectionBytes(state.keyspace) + tailBytes(state) + 4
}

/** The sessions, tombstones, config and stamp sections' size. */
function tailBytes(state: SnapshotState): number {
  const ks = state.keyspace
  let size = 4
  for (const [clientId, session] of state.sessions.sessions) {
    size += 1 + Buffer.byteLength(clientId, 'utf8') + 8 + 8 + outcomeBytes(session.outcome)
  }
  size += 4 + ks.tombstones.size * (4 + 8) + ks.tombstoneKeyBytes
  size += 4
  for (const [name, value] of ks.config) size += 8 + name.length + value.length
  return size + 8
}

/**
 * Writes a key or value (u32 length, then its bytes). Keys and most values
 * are latin1 strings, one char per byte: short ones are copied char by char,
 * which is cheaper than a call into Buffer.write for each; long ones and
 * Buffers are copied natively.
 */
function writeStored(buf: Buffer, at: number, value: StoredValue): number {
  const pos = buf.writeUInt32LE(value.length, at)
  if (typeof value !== 'string') return pos + value.copy(buf, pos)
  return writeLatin1(buf, pos, value, SHORT_STRING_CHARS)
}

/** Below this many chars a JavaScript copy loop beats a native Buffer.write call (about 150 ns a call here, against 4 ns a char). */
const SHORT_STRING_CHARS = 24

function outcomeBytes(outcome: KvWriteOutcome | null): number {
  if (outcome === null || outcome.t === 'watchAborted') return 1
  let size = 1 + 4
  for (const result of outcome.results) size += resultBytes(result)
  return size
}

function resultBytes(result: KvOpResult): number {
  switch (result.t) {
    case 'ok': case 'nil': case 'nilArray':
      return 1
    case 'status':
      return 1 + 4 + Buffer.byteLength(result.value, 'utf8')
    case 'int':
      return 1 + 1 + 4 + result.value.toString().length
    case 'bulk':
      return 1 + 4 + result.value.length
    case 'array': {
      let size = 1 + 4
      for (const item of result.items) size += resultBytes(item)
      return size
    }
    case 'error':
      return 1 + 1 + 4 + Buffer.byteLength(result.message, 'utf8')
    default:
      return unreachable(result, 'result')
  }
}

function writeOutcome(w: ByteWriter, outcome: KvWriteOutcome | null): void {
  if (outcome === null) return w.u8(0)
  if (outcome.t === 'watchAborted') return w.u8(2)
  w.u8(1)
  w.u32(outcome.results.length)
  for (const result of outcome.results) writeResult(w, result)
}

// Append only: sessions in older snapshots hold these indexes.
const RESULT_TAGS = ['ok', 'status', 'nil', 'int', 'bulk', 'array', 'error', 'nilArray'] as const

function writeResult(w: ByteWriter, result: KvOpResult): void {
  w.u8(RESULT_TAGS.indexOf(result.t))
  switch (result.t) {
    case 'ok': case 'nil': case 'nilArray':
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

/**
 * Checks the checksum, then rebuilds the state from one buffer. Throws
 * KvSnapshotError on any inconsistency. The checksum goes first so that
 * damaged bytes never reach the parser (SnapshotDecoder checks it only at
 * the end, as it must when the bytes come in chunks).
 */
export function decodeSnapshot(data: Buffer): SnapshotState {
  if (data.length >= SNAPSHOT_BYTES_MIN) {
    const bodyEnd = data.length - 4
    const expected = data.readUInt32LE(bodyEnd)
    const actual = crc32c(data.subarray(0, bodyEnd))
    if (expected !== actual) throw new KvSnapshotError(`snapshot checksum mismatch: stored ${expected}, computed ${actual}`)
  }
  const decoder = new SnapshotDecoder(data.length)
  decoder.push(data)
  return decoder.finish()
}

/** Header, four section counts and the trailer: the smallest snapshot. */
const SNAPSHOT_BYTES_MIN = 4 + 4 + 8 * 3 + 4 * 3 + 4

const enum Phase { Header, KeyCount, Keys, SessionCount, Sessions, TombstoneCount, Tombstones, ConfigCount, Config, Stamp, End }

function snapshotError(message: string): Error {
  return new KvSnapshotError(message)
}

/**
 * Rebuilds the state from a snapshot's bytes pushed in order, in chunks of
 * any size, so that a node restoring from its file holds the keyspace being
 * built and one chunk, not the whole file as well (121 MiB at 1M keys). A
 * record cut by a chunk's end is kept (copied: the caller may reuse its
 * chunk) and parsed again once more bytes came; one larger than a chunk
 * waits for twice as many bytes each time, so it is parsed a bounded number
 * of times. The checksum is computed as bytes come and checked in finish():
 * damaged bytes may reach the parser first, so the state is used only once
 * finish() has answered.
 */
export class SnapshotDecoder {
  private readonly bodyBytes: number
  private receivedBytes = 0
  private crc = 0
  private readonly trailer = Buffer.alloc(4)
  /** Body bytes received but not parsed: the unfinished record first. */
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Parse again only once `pending` holds this many bytes (or the body is complete). */
  private retryBytes = 0
  private readonly reader = new ByteReader(Buffer.alloc(0), snapshotError)
  private phase = Phase.Header
  private version = 0
  private appliedIndex = 0
  /** The current section's record count, and the number of the next record in it. */
  private sectionRecords = 0
  private recordNumber = 0
  /** Where the record being parsed starts in the window: kept when it is cut short. */
  private recordStart = 0
  private readonly keyspace = new Keyspace()
  private readonly sessions = new SessionTable()

  /** `dataBytes`: the snapshot's whole length, its trailer included. */
  constructor(dataBytes: number) {
    if (dataBytes < SNAPSHOT_BYTES_MIN) throw new KvSnapshotError(`snapshot too short: ${dataBytes} bytes`)
    this.bodyBytes = dataBytes - 4
  }

  push(chunk: Buffer): void {
    const from = this.receivedBytes
    const to = from + chunk.length
    if (to > this.bodyBytes + 4) throw new KvSnapshotError(`snapshot longer than its ${this.bodyBytes + 4} bytes`)
    this.receivedBytes = to
    const bodyPart = from >= this.bodyBytes ? 0 : Math.min(chunk.length, this.bodyBytes - from)
    if (bodyPart < chunk.length) chunk.copy(this.trailer, from + bodyPart - this.bodyBytes, bodyPart)
    if (bodyPart === 0) return
    const body = bodyPart === chunk.length ? chunk : chunk.subarray(0, bodyPart)
    this.crc = crc32c(body, this.crc)
    const bodyDone = Math.min(to, this.bodyBytes) === this.bodyBytes
    this.pendingBytes += bodyPart
    if (this.pendingBytes < this.retryBytes && !bodyDone) {
      // Kept until enough came to parse again: a copy, since the caller may reuse its chunk.
      this.pending.push(Buffer.from(body))
      return
    }
    this.pending.push(body)
    const window = this.pending.length === 1 ? body : Buffer.concat(this.pending, this.pendingBytes)
    const parsed = this.parse(window, this.bodyBytes - Math.min(to, this.bodyBytes))
    // What is left is one unfinished record: a copy, since the caller may reuse its chunk.
    const rest = parsed === window.length ? null : Buffer.from(window.subarray(parsed))
    this.pending = rest === null ? [] : [rest]
    this.pendingBytes = rest === null ? 0 : rest.length
    this.retryBytes = 2 * this.pendingBytes
  }

  /** The state, once every byte came and the checksum matches. Throws KvSnapshotError otherwise. */
  finish(): SnapshotState {
    const dataBytes = this.bodyBytes + 4
    if (this.receivedBytes !== dataBytes) throw new KvSnapshotError(`snapshot truncated: ${this.receivedBytes} of ${dataBytes} bytes`)
    const expected = this.trailer.readUInt32LE(0)
    if (expected !== this.crc) throw new KvSnapshotError(`snapshot checksum mismatch: stored ${expected}, computed ${this.crc}`)
    if (this.phase !== Phase.End) fail(`snapshot decoder: all ${dataBytes} bytes parsed but in phase ${this.phase}`)
    return { appliedIndex: this.appliedIndex, keyspace: this.keyspace, sessions: this.sessions }
  }

  /** Parses whole records from `window`; answers how many of its bytes they took. */
  private parse(window: Buffer, moreBytes: number): number {
    const r = this.reader
    r.window(window, moreBytes)
    try {
      for (;;) {
        this.recordStart = r.offset
        switch (this.phase) {
          case Phase.Header:
            this.readHeader(r)
            this.phase = Phase.KeyCount
            break
          case Phase.KeyCount:
            this.startSection(r.count('key count', 24, Number.MAX_SAFE_INTEGER), Phase.Keys)
            break
          case Phase.Keys: {
            const typed = this.version !== SNAPSHOT_VERSION_STRINGS_ONLY
            for (; this.recordNumber < this.sectionRecords; this.recordNumber++) {
              this.recordStart = r.offset
              readKey(r, this.keyspace, typed, this.recordNumber)
            }
            this.phase = Phase.SessionCount
            break
          }
          case Phase.SessionCount:
            this.startSection(r.count('session count', 18, Number.MAX_SAFE_INTEGER), Phase.Sessions)
            break
          case Phase.Sessions:
            this.eachRecord(r, (n) => readSession(r, this.sessions, n), Phase.TombstoneCount)
            break
          case Phase.TombstoneCount:
            this.startSection(r.count('tombstone count', 12, Number.MAX_SAFE_INTEGER), Phase.Tombstones)
            break
          case Phase.Tombstones:
            this.eachRecord(r, (n) => readTombstone(r, this.keyspace, n), this.version >= SNAPSHOT_VERSION_NO_STAMP ? Phase.ConfigCount : Phase.End)
            break
          case Phase.ConfigCount:
            this.startSection(r.count('config count', 8, 1024), Phase.Config)
            break
          case Phase.Config:
            this.eachRecord(r, () => this.keyspace.setConfig(r.latin1('config name'), r.latin1('config value')), this.version === SNAPSHOT_VERSION ? Phase.Stamp : Phase.End)
            break
          case Phase.Stamp:
            this.keyspace.stampedMs = r.uint53('stamp')
            this.phase = Phase.End
            break
          case Phase.End:
            if (r.remaining + moreBytes > 0) throw new KvSnapshotError(`${r.remaining + moreBytes} trailing bytes after the last section`)
            return r.offset
        }
      }
    } catch (error) {
      if (error === NEED_MORE_BYTES) return this.recordStart
      throw error
    }
  }

  private readHeader(r: ByteReader): void {
    if (r.u32('magic') !== MAGIC) throw new KvSnapshotError('not a raftkv snapshot (bad magic)')
    const version = r.u32('format version')
    if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_NO_STAMP && version !== SNAPSHOT_VERSION_NO_CONFIG && version !== SNAPSHOT_VERSION_STRINGS_ONLY) {
      throw new KvSnapshotError(`unknown snapshot format version ${version}`)
    }
    const appliedIndex = r.uint53('appliedIndex')
    const clock = r.uint53('clock')
    const tombstoneFloor = r.uint53('tombstoneFloor')
    this.version = version
    this.appliedIndex = appliedIndex
    this.keyspace.clock = clock
    this.keyspace.tombstoneFloor = tombstoneFloor
  }

  private startSection(count: number, phase: Phase): void {
    this.sectionRecords = count
    this.recordNumber = 0
    this.phase = phase
  }

  /** Reads the current section's records left (the keys' loop is written out: it is the hot one), then moves to `next`. */
  private eachRecord(r: ByteReader, read: (recordNumber: number) => void, next: Phase): void {
    for (; this.recordNumber < this.sectionRecords; this.recordNumber++) {
      this.recordStart = r.offset
      read(this.recordNumber)
    }
    this.phase = next
  }
}

/** One key's record; nothing is loaded unless the whole record was read. */
function readKey(r: ByteReader, keyspace: Keyspace, typed: boolean, recordNumber: number): void {
  const key = r.latin1('key')
  const type = typed ? r.tag('value type', TYPE_TAGS.length) : STRING_TAG
  let loaded: boolean
  if (type === STRING_TAG) {
    // The value straight from the snapshot's bytes: no view or string in between.
    const valueStart = r.skipBytes('value')
    const valueEnd = r.offset
    const expireAtMs = r.f64orInfinity('expireAtMs')
    const version = r.uint53('version')
    loaded = keyspace.loadBytes(key, r.input, valueStart, valueEnd, expireAtMs, version)
  } else {
    const value = readCollection(r, type, keyspace.encodingLimits)
    const expireAtMs = r.f64orInfinity('expireAtMs')
    const version = r.uint53('version')
    loaded = keyspace.load(key, value, expireAtMs, version)
  }
  if (!loaded) throw new KvSnapshotError(`duplicate key in snapshot at record ${recordNumber}`)
}

function readCollection(r: ByteReader, type: number, limits: EncodingLimits): Collection {
  const big = r.tag('collection encoding', 2) === 1
  const count = r.count('element count', 4, Number.MAX_SAFE_INTEGER)
  let value: Collection
  switch (TYPE_TAGS[type]) {
    case 'hash': {
      const h = new HashValue(limits)
      for (let i = 0; i < count; i++) if (!h.set(r.latin1('field'), r.latin1('field value'))) throw new KvSnapshotError('duplicate hash field in snapshot')
      value = h
      break
    }
    case 'list': {
      const l = new ListValue()
      for (let i = 0; i < count; i++) l.pushBack(r.latin1('list element'))
      value = l
      break
    }
    case 'set': {
      const s = new SetValue(limits)
      for (let i = 0; i < count; i++) if (!s.add(r.latin1('set member'))) throw new KvSnapshotError('duplicate set member in snapshot')
      value = s
      break
    }
    default: {
      const z = new ZSetValue(limits)
      for (let i = 0; i < count; i++) {
        const member = r.latin1('zset member')
        const score = r.f64('zset score')
        if (Number.isNaN(score) || !z.set(member, score)) throw new KvSnapshotError('bad or duplicate zset member in snapshot')
      }
      value = z
    }
  }
  if (count === 0) throw new KvSnapshotError('empty collection in snapshot')
  // The encoding as the snapshot's writer had it: it depends on the thresholds in force when each
  // element came (and the config section, read later, may hold other ones now), not on the content.
  value.big = big
  return value
}

function readSession(r: ByteReader, sessions: SessionTable, recordNumber: number): void {
  const clientId = r.shortString('clientId')
  const seq = r.uint53('seq')
  const index = r.uint53('session index')
  const session: Session = { seq, index, outcome: readOutcome(r) }
  if (!sessions.load(clientId, session)) throw new KvSnapshotError(`duplicate session in snapshot at record ${recordNumber}`)
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
    case 'ok': case 'nil': case 'nilArray':
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

function readTombstone(r: ByteReader, keyspace: Keyspace, recordNumber: number): void {
  const key = r.latin1('tombstone key')
  if (!keyspace.loadTombstone(key, r.uint53('tombstone version'))) {
    throw new KvSnapshotError(`duplicate tombstone in snapshot at record ${recordNumber}`)
  }
}
