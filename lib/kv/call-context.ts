// What the command families (string-calls.ts, hash-calls.ts, …) share: the
// shape of a command, the context it runs in, argument parsing with Redis'
// exact error texts, and typed lookups that answer WRONGTYPE.
//
// A command runs either as a local read (`write` false: the node's clock,
// nothing changes) or inside apply (`write` true: the entry's time, and the
// seed the entry carries). Reads never remove an expired key; writes do,
// through liveForWrite, at the same point on every replica.

import { errorResult, intResult, type KvOpResult } from './command.js'
import { MSG_NOT_INTEGER } from './errors.js'
import type { KvEventClass, NotifyKeyEvent } from './key-events.js'
import type { Entry, Keyspace } from './keyspace.js'
import { isString, type Collection, type EncodingLimits, type StoredString } from './values.js'
import { Prng } from '../util/prng.js'

export interface CallContext {
  readonly ks: Keyspace
  readonly nowMs: number
  /** The entry's seed (writes) or a local one (reads): the only source of random choices. */
  readonly seed: number
  /** The keyspace-event hook (key-events.ts); reads never call it. */
  readonly notify: NotifyKeyEvent
}

/**
 * Reports a change to `key` with Redis's event name and type class; for a
 * collection command, also the 'del' Redis reports when the change left the
 * collection empty (and so removed the key). String events carry the value.
 */
export function emit(c: CallContext, event: string, typeClass: KvEventClass, key: string): void {
  const entry = c.ks.peek(key)
  c.notify(event, typeClass, key, entry !== undefined && isString(entry.value) ? entry.value : null)
  if (entry === undefined && typeClass !== '$' && typeClass !== 'g') c.notify('del', 'g', key, null)
}

export interface KvCall {
  /** Lower-case name, as the RESP command table names it. */
  readonly name: string
  /** Redis' arity: N is exactly N arguments with the name, -N at least N. */
  readonly arity: number
  readonly write: boolean
  /** Draws random choices from the op's seed (the RESP layer fills it in). */
  readonly random?: boolean
  /** `args` are the arguments after the command's name. */
  run(c: CallContext, args: readonly Buffer[]): KvOpResult
}

export const WRONGTYPE = errorResult('Operation against a key holding the wrong kind of value', 'WRONGTYPE')
export const SYNTAX_ERROR = errorResult('syntax error')
export const NOT_INTEGER = errorResult(MSG_NOT_INTEGER)
export const NOT_FLOAT = errorResult('value is not a valid float')
export const OUT_OF_RANGE_POSITIVE = errorResult('value is out of range, must be positive')
export const NO_SUCH_KEY = errorResult('no such key')

export function wrongArity(name: string): KvOpResult {
  return errorResult(`wrong number of arguments for '${name}' command`)
}

export function arityOk(arity: number, argCount: number): boolean {
  // argCount excludes the name; Redis' arity includes it.
  return arity >= 0 ? argCount + 1 === arity : argCount + 1 >= -arity
}

/** An argument as the keyspace holds strings: latin1, one char per byte. */
export function text(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1')
}

/** A keyword argument, upper-cased (long ones can match no keyword). */
export function keyword(arg: Buffer | undefined): string {
  return arg === undefined || arg.length > 32 ? '' : arg.toString('latin1').toUpperCase()
}

const INTEGER_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Redis' string2ll as a bigint; null where Redis answers "value is not an integer or out of range". */
export function parseInteger(arg: Buffer | string | undefined): bigint | null {
  if (arg === undefined) return null
  const t = typeof arg === 'string' ? arg : arg.toString('latin1')
  if (t.length > 20 || !INTEGER_TEXT.test(t)) return null
  const n = BigInt(t)
  return n < INT64_MIN || n > INT64_MAX ? null : n
}

/** The same as a number, for counts and indexes (exact below 2^53; beyond, still ordered correctly for clamping). */
export function parseLong(arg: Buffer | string | undefined): number | null {
  const n = parseInteger(arg)
  return n === null ? null : Number(n)
}

/** The live entry: for writes removes an expired one first (apply time only). */
export function find(c: CallContext, key: string, write: boolean): Entry | undefined {
  return write ? c.ks.liveForWrite(key, c.nowMs) : c.ks.live(key, c.nowMs)
}

export type Typed<T> = { readonly entry: Entry; readonly value: T }

/** The key's collection of type `type`: undefined when absent, null for another type (WRONGTYPE). */
export function findCollection<K extends Collection['type']>(
  c: CallContext,
  key: string,
  type: K,
  write: boolean,
): Typed<Extract<Collection, { type: K }>> | undefined | null {
  const entry = find(c, key, write)
  if (entry === undefined) return undefined
  const value = entry.value
  if (isString(value) || value.type !== type) return null
  return { entry, value: value as Extract<Collection, { type: K }> }
}

/** The key's string: undefined when absent, null for another type. */
export function findString(c: CallContext, key: string, write: boolean): Typed<StoredString> | undefined | null {
  const entry = find(c, key, write)
  if (entry === undefined) return undefined
  return isString(entry.value) ? { entry, value: entry.value } : null
}

/**
 * Applies `mutate` to the key's collection, creating it with `create` when
 * absent (a new key is stored only if it ends up non-empty). Null: the key
 * holds another type.
 */
export function updateCollection<K extends Collection['type'], R>(
  c: CallContext,
  key: string,
  type: K,
  create: (limits: EncodingLimits) => Extract<Collection, { type: K }>,
  mutate: (value: Extract<Collection, { type: K }>) => R,
  changed?: (result: R) => boolean,
): { result: R } | null {
  const found = findCollection(c, key, type, true)
  if (found === null) return null
  if (found === undefined) {
    const value = create(c.ks.encodingLimits)
    const result = mutate(value)
    if (value.size > 0) c.ks.put(key, undefined, value, Infinity)
    return { result }
  }
  const result = c.ks.change(key, found.entry, (v) => mutate(v as Extract<Collection, { type: K }>), changed)
  return { result }
}

/** The collection types whose elements are removed by name (HDEL, SREM, ZREM). */
type Keyed = 'hash' | 'set' | 'zset'

/**
 * HDEL, SREM and ZREM: removes the named elements (args after the key) from
 * the key's collection, reporting `event` if any went; the count removed.
 */
export function removeMembers(c: CallContext, args: readonly Buffer[], type: Keyed, event: string, typeClass: KvEventClass): KvOpResult {
  const key = text(args[0])
  const found = findCollection(c, key, type, true)
  if (found === undefined) return intResult(0)
  if (found === null) return WRONGTYPE
  const removed = c.ks.change(key, found.entry, (value) => {
    const from = value as Extract<Collection, { type: Keyed }>
    let n = 0
    for (let i = 1; i < args.length; i++) if (from.delete(text(args[i]))) n++
    return n
  }, (n) => n > 0)
  if (removed > 0) emit(c, event, typeClass, key)
  return intResult(removed)
}

/**
 * The STORE forms (SINTERSTORE …, ZUNIONSTORE …): `result` replaces the key,
 * whatever it held, without a deadline; an empty result deletes it instead.
 * The reply is the result's size.
 */
export function storeCollection(c: CallContext, key: string, result: Collection, event: string, typeClass: KvEventClass): KvOpResult {
  const existing = c.ks.liveForWrite(key, c.nowMs)
  if (result.size === 0) {
    if (existing !== undefined) {
      c.ks.delete(key, existing)
      emit(c, 'del', 'g', key)
    }
    return intResult(0)
  }
  c.ks.put(key, existing, result, Infinity)
  emit(c, event, typeClass, key)
  return intResult(result.size)
}

/**
 * A read-only command on one collection key: `answer` gets the collection
 * (undefined when absent); another type answers WRONGTYPE. `check`, if
 * given, validates the arguments before the key is looked up (some commands
 * check them before the key's type, as LRANGE does; others after, as LINDEX).
 */
export function collectionReader<K extends Collection['type']>(
  type: K,
  name: string,
  arity: number,
  answer: (value: Extract<Collection, { type: K }> | undefined, args: readonly Buffer[]) => KvOpResult,
  check?: (args: readonly Buffer[]) => KvOpResult | null,
): KvCall {
  return {
    name,
    arity,
    write: false,
    run(c, args) {
      const early = check?.(args) ?? null
      if (early !== null) return early
      const found = findCollection(c, text(args[0]), type, false)
      return found === null ? WRONGTYPE : answer(found?.value, args)
    },
  }
}

/**
 * The first of `keys` holding a collection of `type`, as the blocking pops and
 * LMPOP choose their key: undefined when none does, null when a key met
 * before it holds another type (WRONGTYPE).
 */
export function firstHolding(c: CallContext, keys: readonly string[], type: Collection['type']): string | undefined | null {
  for (const key of keys) {
    const found = findCollection(c, key, type, true)
    if (found === null) return null
    if (found !== undefined) return key
  }
  return undefined
}

/** A seeded generator for one command's random choices. */
export function randomOf(c: CallContext): Prng {
  return new Prng(c.seed)
}

/** RESP list index → position (negative from the end); may fall outside [0, length). */
export function listIndex(index: number, length: number): number {
  return index < 0 ? length + index : index
}

/**
 * The optional count of LPOP, SPOP, ZPOPMIN …: -1 when absent, or the error
 * reply (`tooMany` when more arguments follow: each command has its own).
 */
export function parsePopCount(args: readonly Buffer[], tooMany: KvOpResult): number | KvOpResult {
  if (args.length > 2) return tooMany
  if (args.length < 2) return -1
  const n = parseInteger(args[1])
  return n === null || n < 0n ? OUT_OF_RANGE_POSITIVE : Number(n)
}

/** Redis' start/stop clamping for LRANGE, ZRANGE, GETRANGE …: [start, end] inclusive, or null when empty. */
export function clampRange(start: number, end: number, length: number): [number, number] | null {
  if (start < 0) start = length + start
  if (end < 0) end = length + end
  if (start < 0) start = 0
  if (start > end || start >= length) return null
  if (end >= length) end = length - 1
  return [start, end]
}
