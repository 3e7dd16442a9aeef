// The Redis semantics of each op, against the keyspace, at a given time.
// Read-only ops never change state, so the same code answers local reads (with
// the node's clock) and ops inside an applied entry (with the entry's time).
// Write ops run only inside apply, where `nowMs` is the leader's stamp, so
// every replica makes the same decisions. Texts follow Redis 7 (t_string.c,
// expire.c, db.c).

import {
  NIL,
  OK,
  bulkResult,
  errorResult,
  intResult,
  type KvOp,
  type KvOpResult,
  type KvSetCondition,
  type KvSetExpiry,
  type KvTimeUnit,
} from './command.js'
import { INT64_MAX, INT64_MIN } from './binary.js'
import {
  MSG_INCR_OVERFLOW,
  MSG_KEY_TOO_LONG,
  MSG_NOT_INTEGER,
  MSG_STRING_TOO_LONG,
  invalidExpireMessage,
} from './errors.js'
import { NO_KEY_EVENTS, notifyValueBytes, type NotifyKeyEvent } from './key-events.js'
import { Keyspace, STRING_VALUE_BYTES_MAX, storedValueOf, valueToBuffer, type Entry, type StoredValue } from './keyspace.js'
import { WRONGTYPE } from './call-context.js'
import { isReadOnlyCall, runCall } from './calls.js'
import { isString, valueType } from './values.js'
import { unreachable } from '../util/assert.js'

import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from './limits.js'
export { KEY_BYTES_MAX, VALUE_BYTES_MAX }

/** Ops that only read; a 'call' is one when its command is (isReadOnlyCall). */
export type KvReadOnlyOp = Extract<KvOp, { t: 'get' | 'strlen' | 'exists' | 'mget' | 'ttl' | 'expiretime' | 'type' | 'dbsize' | 'dbexpires' | 'call' }>

const READ_ONLY = new Set<KvOp['t']>(['get', 'strlen', 'exists', 'mget', 'ttl', 'expiretime', 'type', 'dbsize', 'dbexpires'])

export function isReadOnlyOp(op: KvOp): op is KvReadOnlyOp {
  return op.t === 'call' ? isReadOnlyCall(op.name) : READ_ONLY.has(op.t)
}

const TYPE_NONE: KvOpResult = Object.freeze({ t: 'status', value: 'none' })
const TYPE_NAMES = new Map(['string', 'hash', 'list', 'set', 'zset'].map((name) => [name, Object.freeze({ t: 'status', value: name }) as KvOpResult]))
const ZERO = intResult(0)
const ONE = intResult(1)

function keyOf(key: Buffer): string {
  return key.toString('latin1')
}

function keysTooLong(op: KvOp): boolean {
  switch (op.t) {
    case 'del': case 'exists': case 'mget': case 'expireSweep':
      return op.keys.some((k) => k.length > KEY_BYTES_MAX)
    case 'mset':
      return op.pairs.some((p) => p.key.length > KEY_BYTES_MAX)
    case 'dbsize': case 'dbexpires': case 'flushall': case 'publish':
      return false
    case 'call':
      // Collections hold elements as strings, which V8 bounds: no argument beyond the key bound.
      return op.args.some((a) => a.length > KEY_BYTES_MAX)
    default:
      return op.key.length > KEY_BYTES_MAX
  }
}

export function readOp(ks: Keyspace, op: KvReadOnlyOp, nowMs: number): KvOpResult {
  if (keysTooLong(op)) return errorResult(MSG_KEY_TOO_LONG)
  switch (op.t) {
    case 'get': {
      const entry = ks.live(keyOf(op.key), nowMs)
      if (entry === undefined) return NIL
      const bytes = ks.stringBuffer(entry)
      return bytes === null ? WRONGTYPE : bulkResult(bytes)
    }
    case 'strlen': {
      const entry = ks.live(keyOf(op.key), nowMs)
      if (entry === undefined) return ZERO
      const length = ks.stringLength(entry)
      return length < 0 ? WRONGTYPE : intResult(length)
    }
    case 'exists': {
      let count = 0
      for (const key of op.keys) if (ks.live(keyOf(key), nowMs) !== undefined) count++
      return intResult(count)
    }
    case 'mget':
      return {
        t: 'array',
        items: op.keys.map((key) => {
          const entry = ks.live(keyOf(key), nowMs)
          const bytes = entry === undefined ? null : ks.stringBuffer(entry)
          return bytes === null ? NIL : bulkResult(bytes)
        }),
      }
    case 'ttl':
      return ttl(ks.live(keyOf(op.key), nowMs), op.unit, nowMs)
    case 'expiretime': {
      const entry = ks.live(keyOf(op.key), nowMs)
      if (entry === undefined) return intResult(-2)
      if (entry.expireAtMs === Infinity) return intResult(-1)
      return intResult(op.unit === 'seconds' ? Math.floor(entry.expireAtMs / 1000) : entry.expireAtMs)
    }
    case 'type': {
      const entry = ks.live(keyOf(op.key), nowMs)
      return entry === undefined ? TYPE_NONE : (TYPE_NAMES.get(valueType(entry.value)) as KvOpResult)
    }
    case 'dbsize':
      // Like Redis: keys still held, including expired ones not yet swept.
      return intResult(ks.size)
    case 'dbexpires':
      return intResult(ks.volatileSize)
    case 'call':
      return runCall(ks, op, nowMs, false, NO_KEY_EVENTS)
    default:
      return unreachable(op, 'read-only op')
  }
}

function ttl(entry: Entry | undefined, unit: KvTimeUnit, nowMs: number): KvOpResult {
  if (entry === undefined) return intResult(-2)
  if (entry.expireAtMs === Infinity) return intResult(-1)
  const leftMs = Math.max(0, entry.expireAtMs - nowMs)
  // Redis rounds TTL to the nearest second: (ttl + 500) / 1000.
  return intResult(unit === 'seconds' ? Math.floor((leftMs + 500) / 1000) : leftMs)
}

/**
 * Applies one op inside an entry. Never throws on any input the codec can
 * produce. Each change is reported to `notify` as its keyspace event
 * (key-events.ts), after it is made.
 */
export function applyOp(ks: Keyspace, op: KvOp, nowMs: number, notify: NotifyKeyEvent = NO_KEY_EVENTS): KvOpResult {
  // A read-only call inside an entry (MULTI) still reads without removing anything.
  if (op.t === 'call') return runCall(ks, op, nowMs, !isReadOnlyCall(op.name), notify)
  if (isReadOnlyOp(op)) return readOp(ks, op, nowMs)
  if (keysTooLong(op)) return errorResult(MSG_KEY_TOO_LONG)
  switch (op.t) {
    case 'set':
      return applySet(ks, op, nowMs, notify)
    case 'setnx': {
      if (op.value.length > VALUE_BYTES_MAX) return errorResult(MSG_STRING_TOO_LONG)
      const key = keyOf(op.key)
      if (ks.liveForWrite(key, nowMs) !== undefined) return ZERO
      const value = storedValueOf(op.value)
      ks.put(key, undefined, value, Infinity)
      notify('set', '$', key, value)
      return ONE
    }
    case 'getdel': {
      const key = keyOf(op.key)
      const entry = ks.liveForWrite(key, nowMs)
      if (entry === undefined) return NIL
      if (!isString(entry.value)) return WRONGTYPE
      const value = valueToBuffer(entry.value)
      ks.delete(key, entry)
      notify('del', 'g', key, null)
      return bulkResult(value)
    }
    case 'del': {
      let count = 0
      for (const k of op.keys) {
        const key = keyOf(k)
        const entry = ks.liveForWrite(key, nowMs)
        if (entry !== undefined) {
          ks.delete(key, entry)
          notify('del', 'g', key, null)
          count++
        }
      }
      return intResult(count)
    }
    case 'incrby':
      return applyIncrBy(ks, keyOf(op.key), op.delta, nowMs, notify)
    case 'append':
      return applyAppend(ks, keyOf(op.key), op.value, nowMs, notify)
    case 'mset': {
      for (const pair of op.pairs) if (pair.value.length > VALUE_BYTES_MAX) return errorResult(MSG_STRING_TOO_LONG)
      for (const pair of op.pairs) {
        const key = keyOf(pair.key)
        const value = storedValueOf(pair.value)
        ks.put(key, ks.liveForWrite(key, nowMs), value, Infinity)
        notify('set', '$', key, value)
      }
      return OK
    }
    case 'expire':
      return applyExpire(ks, op, nowMs, notify)
    case 'persist': {
      const key = keyOf(op.key)
      const entry = ks.liveForWrite(key, nowMs)
      if (entry === undefined || entry.expireAtMs === Infinity) return ZERO
      ks.expire(key, entry, Infinity)
      notify('persist', 'g', key, null)
      return ONE
    }
    case 'flushall':
      ks.flush()
      return OK
    case 'publish':
      // The state machine delivers it (to its event sink) before this would run.
      return ZERO
    case 'expireSweep': {
      let count = 0
      for (const k of op.keys) {
        const key = keyOf(k)
        if (!ks.sweep(key, nowMs)) continue
        notify('expired', 'x', key, null)
        count++
      }
      return intResult(count)
    }
    default:
      return unreachable(op, 'write op')
  }
}

type SetOp = Extract<KvOp, { t: 'set' }>

function applySet(ks: Keyspace, op: SetOp, nowMs: number, notify: NotifyKeyEvent): KvOpResult {
  return applySetFields(ks, keyOf(op.key), op.value, 0, op.value.length, op.condition, op.expiry, op.get, nowMs, notify)
}

/**
 * SET with its fields taken apart, the value as `bytes[valueStart, valueEnd)`:
 * the state machine's fast path for plain SET entries calls this with the
 * entry's own bytes, so the value is copied once (into the keyspace) and no
 * op object or view is built. The key must be within KEY_BYTES_MAX.
 */
export function applySetFields(
  ks: Keyspace,
  key: string,
  bytes: Buffer,
  valueStart: number,
  valueEnd: number,
  condition: KvSetCondition,
  expiry: KvSetExpiry,
  get: boolean,
  nowMs: number,
  notify: NotifyKeyEvent = NO_KEY_EVENTS,
): KvOpResult {
  if (valueEnd - valueStart > VALUE_BYTES_MAX) return errorResult(MSG_STRING_TOO_LONG)
  const deadline = setDeadlineMs(expiry, nowMs)
  if (typeof deadline === 'object') return deadline
  const existing = ks.liveForWrite(key, nowMs)
  let old = OK
  if (get) {
    const bytes = existing === undefined ? null : ks.stringBuffer(existing)
    if (existing !== undefined && bytes === null) return WRONGTYPE
    old = bytes === null ? NIL : bulkResult(bytes)
  }
  if ((condition === 'nx' && existing !== undefined) || (condition === 'xx' && existing === undefined)) {
    return get ? old : NIL
  }
  const expireAtMs = deadline === 'keep' ? existing?.expireAtMs ?? Infinity : deadline
  if (expireAtMs <= nowMs) {
    // A deadline already past (EXAT in the past): the key is set and gone at
    // once. Redis reports set, expire, then expired when it next finds it.
    if (existing !== undefined) ks.delete(key, existing)
    if (notify !== NO_KEY_EVENTS) {
      notifyValueBytes(notify, 'set', '$', key, bytes, valueStart, valueEnd)
      notify('expire', 'g', key, null)
      notify('expired', 'x', key, null)
    }
    return old
  }
  ks.putBytes(key, existing, bytes, valueStart, valueEnd, expireAtMs)
  notifyValueBytes(notify, 'set', '$', key, bytes, valueStart, valueEnd)
  // KEEPTTL keeps a deadline without setting one: no expire event, as in Redis.
  if (expiry.t === 'relative' || expiry.t === 'absolute') notify('expire', 'g', key, null)
  return old
}

/** SET's deadline: Infinity for none, 'keep' for KEEPTTL, or the error reply. */
function setDeadlineMs(expiry: KvSetExpiry, nowMs: number): number | 'keep' | KvOpResult {
  switch (expiry.t) {
    case 'none':
      return Infinity
    case 'keepTtl':
      return 'keep'
    case 'relative':
    case 'absolute': {
      // getExpireMillisecondsOrReply: positive, and no overflow after scaling or adding now.
      let ms = expiry.amount
      if (ms <= 0n || (expiry.unit === 'seconds' && ms > INT64_MAX / 1000n)) return errorResult(invalidExpireMessage('set'))
      if (expiry.unit === 'seconds') ms *= 1000n
      if (expiry.t === 'relative') {
        if (ms > INT64_MAX - BigInt(nowMs)) return errorResult(invalidExpireMessage('set'))
        ms += BigInt(nowMs)
      }
      return Number(ms)
    }
    default:
      return unreachable(expiry, 'set expiry')
  }
}

/** Redis' string2ll: an optional '-', no leading zeros or '+', within signed 64 bits. */
const INTEGER_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/

export function parseInt64(value: StoredValue): bigint | null {
  if (value.length === 0 || value.length > 20) return null
  const text = typeof value === 'string' ? value : value.toString('latin1')
  if (!INTEGER_TEXT.test(text)) return null
  const n = BigInt(text)
  return n < INT64_MIN || n > INT64_MAX ? null : n
}

function applyIncrBy(ks: Keyspace, key: string, delta: bigint, nowMs: number, notify: NotifyKeyEvent): KvOpResult {
  if (delta < INT64_MIN || delta > INT64_MAX) return errorResult(MSG_NOT_INTEGER)
  const entry = ks.liveForWrite(key, nowMs)
  let current = 0n
  if (entry !== undefined) {
    if (!isString(entry.value)) return WRONGTYPE
    const parsed = parseInt64(entry.value)
    if (parsed === null) return errorResult(MSG_NOT_INTEGER)
    current = parsed
  }
  const next = current + delta
  if (next < INT64_MIN || next > INT64_MAX) return errorResult(MSG_INCR_OVERFLOW)
  // INCR keeps the key's deadline.
  const value = next.toString()
  ks.put(key, entry, value, entry?.expireAtMs ?? Infinity)
  // INCR, DECR, INCRBY and DECRBY all report incrby, as in Redis.
  notify('incrby', '$', key, value)
  return intResult(next)
}

function applyAppend(ks: Keyspace, key: string, suffix: Buffer, nowMs: number, notify: NotifyKeyEvent): KvOpResult {
  const entry = ks.liveForWrite(key, nowMs)
  if (entry !== undefined && !isString(entry.value)) return WRONGTYPE
  const length = (entry === undefined ? 0 : (entry.value as StoredValue).length) + suffix.length
  if (length > VALUE_BYTES_MAX) return errorResult(MSG_STRING_TOO_LONG)
  if (entry === undefined) {
    const created = storedValueOf(suffix)
    ks.put(key, undefined, created, Infinity)
    notify('append', '$', key, created)
    return intResult(length)
  }
  // Redis reports append even when nothing is appended.
  if (suffix.length === 0) {
    notify('append', '$', key, entry.value as StoredValue)
    return intResult(length)
  }
  let value: StoredValue
  if (typeof entry.value === 'string' && length <= STRING_VALUE_BYTES_MAX) {
    value = entry.value + suffix.toString('latin1')
  } else {
    value = Buffer.concat([valueToBuffer(entry.value as StoredValue), suffix], length)
  }
  ks.put(key, entry, value, entry.expireAtMs)
  notify('append', '$', key, value)
  return intResult(length)
}

type ExpireOp = Extract<KvOp, { t: 'expire' }>

function expireCommandName(op: ExpireOp): string {
  return (op.unit === 'milliseconds' ? 'p' : '') + (op.base === 'absolute' ? 'expireat' : 'expire')
}

function applyExpire(ks: Keyspace, op: ExpireOp, nowMs: number, notify: NotifyKeyEvent): KvOpResult {
  // expireGenericCommand: overflow checks come before the key is looked up.
  let when = op.amount
  const invalid = (): KvOpResult => errorResult(invalidExpireMessage(expireCommandName(op)))
  if (op.unit === 'seconds') {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return invalid()
    when *= 1000n
  }
  const base = op.base === 'relative' ? BigInt(nowMs) : 0n
  if (when > INT64_MAX - base) return invalid()
  when += base
  const key = keyOf(op.key)
  const entry = ks.liveForWrite(key, nowMs)
  if (entry === undefined) return ZERO
  const current = entry.expireAtMs
  const whenMs = Number(when)
  switch (op.condition) {
    case 'nx': if (current !== Infinity) return ZERO; break
    case 'xx': if (current === Infinity) return ZERO; break
    // A key without a deadline counts as an infinite TTL: never below a new one.
    case 'gt': if (current === Infinity || whenMs <= current) return ZERO; break
    case 'lt': if (current !== Infinity && whenMs >= current) return ZERO; break
    case 'xxlt': if (current === Infinity || whenMs >= current) return ZERO; break
    case 'always': break
    default: return unreachable(op.condition, 'expire condition')
  }
  // A deadline in the past deletes the key: Redis reports del, not expired.
  if (whenMs <= nowMs) {
    ks.delete(key, entry)
    notify('del', 'g', key, null)
  } else {
    ks.expire(key, entry, whenMs)
    notify('expire', 'g', key, null)
  }
  return ONE
}
