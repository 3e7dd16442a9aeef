// The binary layout of a log entry's data: an envelope with a fixed header and
// one KvWrite. Hand-rolled rather than Avro or JSON because this runs once per
// client write on the leader and once per entry on every replica; the layout
// is sized exactly in one pass and written in a second, with no intermediate
// objects. Decoded keys and values are views into the entry (no copies); the
// state machine copies what it keeps.
//
//   offset 0   u8   format version (1)
//   offset 1   f64  nowMs   ← NOW_OFFSET: the leader overwrites it in place (stampTime)
//   offset 9   f64  seq
//   offset 17  u8   clientId byte length, then UTF-8 bytes (at most 255)
//   then       u32  watch count, each: bytes key, f64 version
//   then       u32  op count, each: u8 tag, then the op's fields (see encodeOp)
//   bytes = u32 length + raw bytes; bigints are i64; enums are u8.

import type {
  KvEnvelope,
  KvExpireCondition,
  KvOp,
  KvSetCondition,
  KvSetExpiry,
  KvTimeUnit,
  KvWatch,
  KvWrite,
} from './command.js'
import { ByteReader, ByteWriter, INT64_MAX, INT64_MIN } from './binary.js'
import { KvDecodeError, KvEncodeError } from './errors.js'
import { unreachable } from '../util/assert.js'

export const ENVELOPE_VERSION = 1
/** Where `nowMs` lives, so the leader can stamp it without re-encoding. */
export const NOW_OFFSET = 1
const HEADER_BYTES = 1 + 8 + 8 + 1
export const CLIENT_ID_BYTES_MAX = 255
/** A bound on ops and watches per entry (a MULTI of a million commands is a bug). */
export const OPS_PER_WRITE_MAX = 1 << 20
export const KEYS_PER_OP_MAX = 1 << 20

const OP_TAGS = [
  'set', 'get', 'getdel', 'del', 'exists', 'incrby', 'append', 'strlen', 'mget', 'mset',
  'setnx', 'expire', 'ttl', 'expiretime', 'persist', 'type', 'dbsize', 'flushall', 'expireSweep',
  'dbexpires', 'call', 'publish',
] as const satisfies readonly KvOp['t'][]
const TAG_OF = new Map<KvOp['t'], number>(OP_TAGS.map((name, i) => [name, i]))
const SET_TAG = OP_TAGS.indexOf('set')

const SET_CONDITIONS = ['always', 'nx', 'xx'] as const satisfies readonly KvSetCondition[]
// Append only: entries already in logs hold these indexes.
const EXPIRE_CONDITIONS = ['always', 'nx', 'xx', 'gt', 'lt', 'xxlt'] as const satisfies readonly KvExpireCondition[]
const UNITS = ['seconds', 'milliseconds'] as const satisfies readonly KvTimeUnit[]
const BASES = ['relative', 'absolute'] as const

/** Encodes an envelope. Throws KvEncodeError for values the layout cannot hold. */
export function encodeEnvelope(envelope: KvEnvelope): Buffer {
  const { nowMs, clientId, seq, write } = envelope
  checkUint53(nowMs, 'nowMs')
  checkUint53(seq, 'seq')
  const clientIdBytes = clientIdBytesOf(clientId)
  const { watches, ops } = write
  if (watches.length === 0 && ops.length === 1) {
    const op = ops[0] as KvOp
    if (op.t === 'set' && op.condition === 'always' && op.expiry.t === 'none' && !op.get) return encodePlainSet(nowMs, seq, clientIdBytes, op.key, op.value)
  }
  if (ops.length > OPS_PER_WRITE_MAX || watches.length > OPS_PER_WRITE_MAX) {
    throw new KvEncodeError(`a write holds at most ${OPS_PER_WRITE_MAX} ops and watches`)
  }
  const size = HEADER_BYTES + clientIdBytes.length + writeBytes(write)
  const w = new ByteWriter(Buffer.allocUnsafe(size))
  w.u8(ENVELOPE_VERSION)
  w.f64(nowMs)
  w.f64(seq)
  w.u8(clientIdBytes.length)
  w.raw(clientIdBytes)
  // Index loops, here and below: this runs once per client write, and a
  // for-of allocates an iterator wherever the function is not optimized.
  w.u32(watches.length)
  for (let i = 0; i < watches.length; i++) {
    const watch = watches[i] as KvWatch
    checkUint53(watch.version, 'watch version')
    w.bytes(watch.key)
    w.f64(watch.version)
  }
  w.u32(ops.length)
  for (let i = 0; i < ops.length; i++) encodeOp(w, ops[i] as KvOp)
  if (w.pos !== size) throw new KvEncodeError(`envelope size mismatch: wrote ${w.pos}, sized ${size}`)
  return w.buf
}

/**
 * The client id last encoded and its UTF-8 bytes. A node encodes all its
 * writes under one id, so this saves measuring and writing the string
 * through the runtime on every write (two native calls).
 */
let lastClientId = ''
let lastClientIdBytes = Buffer.alloc(0)

function clientIdBytesOf(clientId: string): Buffer {
  if (clientId === lastClientId) return lastClientIdBytes
  const bytes = Buffer.from(clientId, 'utf8')
  if (bytes.length > CLIENT_ID_BYTES_MAX) {
    throw new KvEncodeError(`clientId is ${bytes.length} bytes, at most ${CLIENT_ID_BYTES_MAX}`)
  }
  lastClientId = clientId
  lastClientIdBytes = bytes
  return bytes
}

/** Below this many bytes a copy is a byte loop: a TypedArray#set call costs more than the loop for short ranges (bench/README section 42). */
const LOOP_COPY_BYTES_MAX = 32

function putBytes(target: Buffer, at: number, source: Buffer): void {
  const length = source.length
  if (length > LOOP_COPY_BYTES_MAX) {
    target.set(source, at)
    return
  }
  for (let i = 0; i < length; i++) target[at + i] = source[i] as number
}

function putU32(target: Buffer, at: number, value: number): void {
  target[at] = value
  target[at + 1] = value >>> 8
  target[at + 2] = value >>> 16
  target[at + 3] = value >>> 24
}

/**
 * The layout of a write that is one SET with no condition, no expiry and no
 * GET, and no watches — almost every client write — written field by field:
 * the same bytes as the general path (the tests compare them), without its
 * sizing pass, writer object and per-op dispatch, which cost twice as much
 * as the copies themselves. PlainSetReader is its reading side.
 */
function encodePlainSet(nowMs: number, seq: number, clientIdBytes: Buffer, key: Buffer, value: Buffer): Buffer {
  const idEnd = HEADER_BYTES + clientIdBytes.length
  // Watch count, op count, tag, key length; value length; condition, expiry kind, get.
  const size = idEnd + 13 + key.length + 4 + value.length + 3
  const data = Buffer.allocUnsafe(size)
  data[0] = ENVELOPE_VERSION
  data.writeDoubleLE(nowMs, NOW_OFFSET)
  data.writeDoubleLE(seq, NOW_OFFSET + 8)
  data[HEADER_BYTES - 1] = clientIdBytes.length
  putBytes(data, HEADER_BYTES, clientIdBytes)
  putU32(data, idEnd, 0)
  putU32(data, idEnd + 4, 1)
  data[idEnd + 8] = SET_TAG
  putU32(data, idEnd + 9, key.length)
  putBytes(data, idEnd + 13, key)
  const valueAt = idEnd + 13 + key.length
  putU32(data, valueAt, value.length)
  putBytes(data, valueAt + 4, value)
  const tail = valueAt + 4 + value.length
  data[tail] = 0 // condition 'always'
  data[tail + 1] = 0 // expiry 'none'
  data[tail + 2] = 0 // no GET
  return data
}

/**
 * Overwrites the envelope's time in place. The leader calls this just before
 * proposing, so the time every replica applies with is the leader's.
 */
export function stampTime(data: Buffer, nowMs: number): void {
  checkUint53(nowMs, 'nowMs')
  if (data.length < HEADER_BYTES || data[0] !== ENVELOPE_VERSION) {
    throw new KvEncodeError('stampTime: not a kv envelope')
  }
  data.writeDoubleLE(nowMs, NOW_OFFSET)
}

const decodeFailure = (message: string): Error => new KvDecodeError(message)

/** Decodes an envelope. Throws KvDecodeError (only) on malformed bytes. */
export function decodeEnvelope(data: Buffer): KvEnvelope {
  const r = new ByteReader(data, decodeFailure)
  const version = r.u8('format version')
  if (version !== ENVELOPE_VERSION) throw new KvDecodeError(`unknown envelope format version ${version}`)
  const nowMs = r.uint53('nowMs')
  const seq = r.uint53('seq')
  const clientId = r.shortString('clientId')
  const watchCount = r.count('watch count', 12, OPS_PER_WRITE_MAX)
  const watches: KvWatch[] = new Array(watchCount)
  for (let i = 0; i < watchCount; i++) {
    watches[i] = { key: r.bytes('watch key'), version: r.uint53('watch version') }
  }
  const opCount = r.count('op count', 1, OPS_PER_WRITE_MAX)
  const ops: KvOp[] = new Array(opCount)
  for (let i = 0; i < opCount; i++) ops[i] = decodeOp(r)
  r.expectEnd()
  const write: KvWrite = { ops, watches }
  return { nowMs, clientId, seq, write }
}

const EXPIRY_NONE: KvSetExpiry = Object.freeze({ t: 'none' })
const EXPIRY_KEEP_TTL: KvSetExpiry = Object.freeze({ t: 'keepTtl' })

/**
 * The fields of an envelope whose write is exactly one SET and no watches —
 * almost every log entry — read in place, without the op, write and envelope
 * objects or the key and value views that decodeEnvelope builds. One instance
 * is reused for every entry: its fields are valid until the next `read`.
 *
 * `read` succeeds only on bytes that decodeEnvelope would decode to such a
 * write, with the same values; anything else (another shape, or malformed
 * bytes) answers false and the caller takes the general path, which also
 * produces the exact error. So the two paths cannot disagree.
 */
export class PlainSetReader {
  nowMs = 0
  seq = 0
  clientId = ''
  keyStart = 0
  keyEnd = 0
  valueStart = 0
  valueEnd = 0
  condition: KvSetCondition = 'always'
  expiry: KvSetExpiry = EXPIRY_NONE
  get = false
  /**
   * The bytes `clientId` was decoded from. Consecutive entries mostly carry
   * the same client id, so it is compared rather than decoded again, and the
   * session table then sees the very same string (its hash already known).
   */
  private readonly clientIdBytes = Buffer.alloc(CLIENT_ID_BYTES_MAX)
  private clientIdLength = -1

  read(data: Buffer): boolean {
    const end = data.length
    if (end < HEADER_BYTES || data[0] !== ENVELOPE_VERSION) return false
    const nowMs = data.readDoubleLE(NOW_OFFSET)
    const seq = data.readDoubleLE(NOW_OFFSET + 8)
    if (!isUint53(nowMs) || !isUint53(seq)) return false
    const clientIdAt = HEADER_BYTES
    const clientIdEnd = clientIdAt + (data[HEADER_BYTES - 1] as number)
    // Watch count 0, op count 1, SET tag, key length: 13 bytes.
    if (clientIdEnd + 13 > end) return false
    if (data.readUInt32LE(clientIdEnd) !== 0 || data.readUInt32LE(clientIdEnd + 4) !== 1 || data[clientIdEnd + 8] !== SET_TAG) return false
    const keyStart = clientIdEnd + 13
    const keyEnd = keyStart + data.readUInt32LE(clientIdEnd + 9)
    if (keyEnd + 4 > end) return false
    const valueStart = keyEnd + 4
    const valueEnd = valueStart + data.readUInt32LE(keyEnd)
    // Condition, expiry kind, (unit, amount), get flag.
    if (valueEnd + 3 > end) return false
    const condition = data[valueEnd] as number
    const expiryKind = data[valueEnd + 1] as number
    if (condition >= SET_CONDITIONS.length) return false
    let pos = valueEnd + 2
    let expiry = EXPIRY_NONE
    if (expiryKind === 1) expiry = EXPIRY_KEEP_TTL
    else if (expiryKind === 2 || expiryKind === 3) {
      if (pos + 10 > end) return false
      const unit = UNITS[data[pos] as number]
      if (unit === undefined) return false
      const amount = data.readBigInt64LE(pos + 1)
      expiry = { t: expiryKind === 2 ? 'relative' : 'absolute', unit, amount }
      pos += 9
    } else if (expiryKind !== 0) return false
    const get = data[pos]
    if (pos + 1 !== end || (get !== 0 && get !== 1)) return false
    this.nowMs = nowMs
    this.seq = seq
    if (!this.sameClientId(data, clientIdAt, clientIdEnd)) {
      this.clientId = data.toString('utf8', clientIdAt, clientIdEnd)
      this.clientIdLength = data.copy(this.clientIdBytes, 0, clientIdAt, clientIdEnd)
    }
    this.keyStart = keyStart
    this.keyEnd = keyEnd
    this.valueStart = valueStart
    this.valueEnd = valueEnd
    this.condition = SET_CONDITIONS[condition] as KvSetCondition
    this.expiry = expiry
    this.get = get === 1
    return true
  }

  private sameClientId(data: Buffer, start: number, end: number): boolean {
    if (end - start !== this.clientIdLength) return false
    const last = this.clientIdBytes
    for (let i = start; i < end; i++) if (data[i] !== last[i - start]) return false
    return true
  }
}

function isUint53(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0
}

function checkUint53(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new KvEncodeError(`${what} must be a non-negative safe integer, got ${value}`)
  }
}

function checkInt64(value: bigint, what: string): void {
  if (value < INT64_MIN || value > INT64_MAX) throw new KvEncodeError(`${what} is outside signed 64 bits: ${value}`)
}

function writeBytes(write: KvWrite): number {
  let size = 8
  const { watches, ops } = write
  for (let i = 0; i < watches.length; i++) size += 4 + (watches[i] as KvWatch).key.length + 8
  for (let i = 0; i < ops.length; i++) size += opBytes(ops[i] as KvOp)
  return size
}

function keysBytes(keys: readonly Buffer[]): number {
  let size = 4
  for (const key of keys) size += 4 + key.length
  return size
}

function opBytes(op: KvOp): number {
  switch (op.t) {
    case 'set':
      return 1 + 8 + op.key.length + op.value.length + 1 + 1 + (op.expiry.t === 'relative' || op.expiry.t === 'absolute' ? 9 : 0) + 1
    case 'get': case 'getdel': case 'strlen': case 'persist': case 'type':
      return 1 + 4 + op.key.length
    case 'del': case 'exists': case 'mget': case 'expireSweep':
      return 1 + keysBytes(op.keys)
    case 'incrby':
      return 1 + 4 + op.key.length + 8
    case 'append': case 'setnx':
      return 1 + 8 + op.key.length + op.value.length
    case 'publish':
      return 1 + 8 + op.channel.length + op.message.length
    case 'mset': {
      let size = 1 + 4
      for (const pair of op.pairs) size += 8 + pair.key.length + pair.value.length
      return size
    }
    case 'expire':
      return 1 + 4 + op.key.length + 1 + 1 + 8 + 1
    case 'ttl': case 'expiretime':
      return 1 + 4 + op.key.length + 1
    case 'dbsize': case 'dbexpires': case 'flushall':
      return 1
    case 'call':
      return 1 + 1 + Buffer.byteLength(op.name, 'latin1') + 8 + keysBytes(op.args)
    default:
      return unreachable(op, 'kv op')
  }
}

function encodeKeys(w: ByteWriter, keys: readonly Buffer[]): void {
  if (keys.length > KEYS_PER_OP_MAX) throw new KvEncodeError(`an op names at most ${KEYS_PER_OP_MAX} keys`)
  w.u32(keys.length)
  for (const key of keys) w.bytes(key)
}

function encodeExpiry(w: ByteWriter, expiry: KvSetExpiry): void {
  switch (expiry.t) {
    case 'none': w.u8(0); return
    case 'keepTtl': w.u8(1); return
    case 'relative': case 'absolute':
      checkInt64(expiry.amount, 'expire amount')
      w.u8(expiry.t === 'relative' ? 2 : 3)
      w.u8(UNITS.indexOf(expiry.unit))
      w.i64(expiry.amount)
      return
    default:
      unreachable(expiry, 'set expiry')
  }
}

function encodeOp(w: ByteWriter, op: KvOp): void {
  w.u8(TAG_OF.get(op.t) as number)
  switch (op.t) {
    case 'set':
      w.bytes(op.key); w.bytes(op.value)
      w.u8(SET_CONDITIONS.indexOf(op.condition))
      encodeExpiry(w, op.expiry)
      w.u8(op.get ? 1 : 0)
      return
    case 'get': case 'getdel': case 'strlen': case 'persist': case 'type':
      w.bytes(op.key); return
    case 'del': case 'exists': case 'mget': case 'expireSweep':
      encodeKeys(w, op.keys); return
    case 'incrby':
      checkInt64(op.delta, 'incrby delta')
      w.bytes(op.key); w.i64(op.delta); return
    case 'append': case 'setnx':
      w.bytes(op.key); w.bytes(op.value); return
    case 'publish':
      w.bytes(op.channel); w.bytes(op.message); return
    case 'mset':
      if (op.pairs.length > KEYS_PER_OP_MAX) throw new KvEncodeError(`mset holds at most ${KEYS_PER_OP_MAX} pairs`)
      w.u32(op.pairs.length)
      for (const pair of op.pairs) { w.bytes(pair.key); w.bytes(pair.value) }
      return
    case 'expire':
      checkInt64(op.amount, 'expire amount')
      w.bytes(op.key)
      w.u8(BASES.indexOf(op.base)); w.u8(UNITS.indexOf(op.unit)); w.i64(op.amount)
      w.u8(EXPIRE_CONDITIONS.indexOf(op.condition))
      return
    case 'ttl': case 'expiretime':
      w.bytes(op.key); w.u8(UNITS.indexOf(op.unit)); return
    case 'dbsize': case 'dbexpires': case 'flushall':
      return
    case 'call':
      if (op.name.length > 255) throw new KvEncodeError('a command name is at most 255 bytes')
      checkUint53(op.seed, 'call seed')
      w.shortString(op.name, op.name.length)
      w.f64(op.seed)
      encodeKeys(w, op.args)
      return
    default:
      unreachable(op, 'kv op')
  }
}

function decodeKeys(r: ByteReader): Buffer[] {
  const count = r.count('key count', 4, KEYS_PER_OP_MAX)
  const keys: Buffer[] = new Array(count)
  for (let i = 0; i < count; i++) keys[i] = r.bytes('key')
  return keys
}

function decodeExpiry(r: ByteReader): KvSetExpiry {
  const kind = r.tag('set expiry kind', 4)
  if (kind === 0) return EXPIRY_NONE
  if (kind === 1) return EXPIRY_KEEP_TTL
  const unit = UNITS[r.tag('time unit', UNITS.length)] as KvTimeUnit
  const amount = r.i64('expire amount')
  return { t: kind === 2 ? 'relative' : 'absolute', unit, amount }
}

function decodeOp(r: ByteReader): KvOp {
  const t = OP_TAGS[r.tag('op tag', OP_TAGS.length)] as KvOp['t']
  switch (t) {
    case 'set': {
      const key = r.bytes('key')
      const value = r.bytes('value')
      const condition = SET_CONDITIONS[r.tag('set condition', SET_CONDITIONS.length)] as KvSetCondition
      const expiry = decodeExpiry(r)
      const get = r.tag('set get flag', 2) === 1
      return { t, key, value, condition, expiry, get }
    }
    case 'get': case 'getdel': case 'strlen': case 'persist': case 'type':
      return { t, key: r.bytes('key') }
    case 'del': case 'exists': case 'mget': case 'expireSweep':
      return { t, keys: decodeKeys(r) }
    case 'incrby':
      return { t, key: r.bytes('key'), delta: r.i64('delta') }
    case 'append': case 'setnx':
      return { t, key: r.bytes('key'), value: r.bytes('value') }
    case 'publish':
      return { t, channel: r.bytes('channel'), message: r.bytes('message') }
    case 'mset': {
      const count = r.count('pair count', 8, KEYS_PER_OP_MAX)
      const pairs = new Array<{ key: Buffer; value: Buffer }>(count)
      for (let i = 0; i < count; i++) pairs[i] = { key: r.bytes('key'), value: r.bytes('value') }
      return { t, pairs }
    }
    case 'expire': {
      const key = r.bytes('key')
      const base = BASES[r.tag('expire base', BASES.length)] as 'relative' | 'absolute'
      const unit = UNITS[r.tag('time unit', UNITS.length)] as KvTimeUnit
      const amount = r.i64('expire amount')
      const condition = EXPIRE_CONDITIONS[r.tag('expire condition', EXPIRE_CONDITIONS.length)] as KvExpireCondition
      return { t, key, base, unit, amount, condition }
    }
    case 'ttl': case 'expiretime':
      return { t, key: r.bytes('key'), unit: UNITS[r.tag('time unit', UNITS.length)] as KvTimeUnit }
    case 'dbsize': case 'dbexpires': case 'flushall':
      return { t }
    case 'call': {
      const name = r.shortString('command name')
      const seed = r.uint53('call seed')
      return { t, name, seed, args: decodeKeys(r) }
    }
    default:
      return unreachable(t, 'op tag')
  }
}
