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
] as const satisfies readonly KvOp['t'][]
const TAG_OF = new Map<KvOp['t'], number>(OP_TAGS.map((name, i) => [name, i]))

const SET_CONDITIONS = ['always', 'nx', 'xx'] as const satisfies readonly KvSetCondition[]
const EXPIRE_CONDITIONS = ['always', 'nx', 'xx', 'gt', 'lt'] as const satisfies readonly KvExpireCondition[]
const UNITS = ['seconds', 'milliseconds'] as const satisfies readonly KvTimeUnit[]
const BASES = ['relative', 'absolute'] as const

/** Encodes an envelope. Throws KvEncodeError for values the layout cannot hold. */
export function encodeEnvelope(envelope: KvEnvelope): Buffer {
  const { nowMs, clientId, seq, write } = envelope
  checkUint53(nowMs, 'nowMs')
  checkUint53(seq, 'seq')
  const clientIdBytes = Buffer.byteLength(clientId, 'utf8')
  if (clientIdBytes > CLIENT_ID_BYTES_MAX) {
    throw new KvEncodeError(`clientId is ${clientIdBytes} bytes, at most ${CLIENT_ID_BYTES_MAX}`)
  }
  if (write.ops.length > OPS_PER_WRITE_MAX || write.watches.length > OPS_PER_WRITE_MAX) {
    throw new KvEncodeError(`a write holds at most ${OPS_PER_WRITE_MAX} ops and watches`)
  }
  const size = HEADER_BYTES + clientIdBytes + writeBytes(write)
  const w = new ByteWriter(Buffer.allocUnsafe(size))
  w.u8(ENVELOPE_VERSION)
  w.f64(nowMs)
  w.f64(seq)
  w.shortString(clientId, clientIdBytes)
  w.u32(write.watches.length)
  for (const watch of write.watches) {
    checkUint53(watch.version, 'watch version')
    w.bytes(watch.key)
    w.f64(watch.version)
  }
  w.u32(write.ops.length)
  for (const op of write.ops) encodeOp(w, op)
  if (w.pos !== size) throw new KvEncodeError(`envelope size mismatch: wrote ${w.pos}, sized ${size}`)
  return w.buf
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

/** Decodes an envelope. Throws KvDecodeError (only) on malformed bytes. */
export function decodeEnvelope(data: Buffer): KvEnvelope {
  const r = new ByteReader(data, (message) => new KvDecodeError(message))
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
  for (const watch of write.watches) size += 4 + watch.key.length + 8
  for (const op of write.ops) size += opBytes(op)
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
    case 'mset': {
      let size = 1 + 4
      for (const pair of op.pairs) size += 8 + pair.key.length + pair.value.length
      return size
    }
    case 'expire':
      return 1 + 4 + op.key.length + 1 + 1 + 8 + 1
    case 'ttl': case 'expiretime':
      return 1 + 4 + op.key.length + 1
    case 'dbsize': case 'flushall':
      return 1
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
    case 'dbsize': case 'flushall':
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
  if (kind === 0) return { t: 'none' }
  if (kind === 1) return { t: 'keepTtl' }
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
    case 'dbsize': case 'flushall':
      return { t }
    default:
      return unreachable(t, 'op tag')
  }
}
