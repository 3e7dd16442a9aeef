// The value a key holds: a Redis string, hash, list, set or sorted set.
//
// Strings stay primitive (a latin1 string, or a Buffer when large: see
// keyspace.ts), because they are almost every value and the hot path; the
// four collection types are classes carrying a `type` tag, so `Value` is a
// union discriminated by `typeof` first and by `type` second (valueType).
//
// Elements (fields, values, members) are latin1 strings: one char per byte,
// binary-safe, and a Map key as they are. Each collection counts `itemsBytes`,
// the exact bytes its elements take in a snapshot (snapshot-codec.ts), so the
// snapshot's size is known before a byte is written, as it is for strings.
//
// Collections are changed in place; the keyspace keeps a clone of one that
// is about to change while a snapshot is encoded (copy on write). So every
// class can clone itself, and iteration orders are part of the state: the
// same on every replica, and kept by clone and by the snapshot, because
// SPOP's choice by seed reads the set's order.
//
// `big`: the encoding Redis would report has switched from the compact one
// (listpack, intset) to the general one (hashtable, skiplist), by the
// thresholds in force when an element was added (EncodingLimits: CONFIG SET's
// *-max-listpack-*, set-max-intset-entries, replicated, so the same on every
// replica at the same index). Like Redis 7.0, the switch is one-way while the
// key lives; a STORE result is judged on its final content.

import { ListValue } from './list-value.js'
import { ScanIndex, type ScanPage } from './scan-index.js'
import { SkipList } from './skip-list.js'

export type StoredString = string | Buffer

export type ValueType = 'string' | 'hash' | 'list' | 'set' | 'zset'

/**
 * Redis's encoding thresholds, as CONFIG holds them (defaults: Redis 7.0's).
 * The keyspace owns one, changed in place by CONFIG SET; its collections
 * keep a reference to it.
 */
export class EncodingLimits {
  hashEntriesMax = 512
  hashValueBytesMax = 64
  setIntsetEntriesMax = 512
  zsetEntriesMax = 128
  zsetValueBytesMax = 64

  /** Takes a CONFIG parameter's new value (names as Redis spells them, old ziplist aliases too); others are ignored. */
  set(name: string, value: string): void {
    const n = Number(value)
    switch (name.replace('ziplist', 'listpack')) {
      case 'hash-max-listpack-entries': this.hashEntriesMax = n; break
      case 'hash-max-listpack-value': this.hashValueBytesMax = n; break
      case 'set-max-intset-entries': this.setIntsetEntriesMax = n; break
      case 'zset-max-listpack-entries': this.zsetEntriesMax = n; break
      case 'zset-max-listpack-value': this.zsetValueBytesMax = n; break
    }
  }
}

/** For collections made outside a keyspace (tests, benchmarks). */
const DEFAULT_LIMITS: Readonly<EncodingLimits> = Object.freeze(new EncodingLimits())

export class HashValue {
  readonly type = 'hash'
  readonly map = new Map<string, string>()
  constructor(private readonly limits: Readonly<EncodingLimits> = DEFAULT_LIMITS) {}

  itemsBytes = 0
  big = false
  /** HSCAN's index of the fields, from the first HSCAN on (scan-index.ts). */
  private scanIndex: ScanIndex | null = null

  get size(): number {
    return this.map.size
  }

  /** Sets a field; true if it is new. */
  set(field: string, value: string): boolean {
    const old = this.map.get(field)
    this.map.set(field, value)
    if (old === undefined) {
      this.itemsBytes += 8 + field.length + value.length
      this.scanIndex?.add(field)
    } else this.itemsBytes += value.length - old.length
    const l = this.limits
    if (!this.big && (this.map.size > l.hashEntriesMax || field.length > l.hashValueBytesMax || value.length > l.hashValueBytesMax)) this.big = true
    return old === undefined
  }

  delete(field: string): boolean {
    const old = this.map.get(field)
    if (old === undefined) return false
    this.map.delete(field)
    this.itemsBytes -= 8 + field.length + old.length
    this.scanIndex?.delete(field)
    return true
  }

  scanPage(cursor: number, count: number): ScanPage {
    this.scanIndex ??= new ScanIndex(this.map.keys())
    return this.scanIndex.page(cursor, count)
  }

  clone(): HashValue {
    const copy = new HashValue(this.limits)
    for (const [f, v] of this.map) copy.map.set(f, v)
    copy.itemsBytes = this.itemsBytes
    copy.big = this.big
    return copy
  }
}

/** Redis' string2ll test for intset members: a canonical signed 64-bit integer. */
const INTEGER_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/
export function isInt64Text(text: string): boolean {
  if (!INTEGER_TEXT.test(text)) return false
  const n = BigInt(text)
  return n >= -(2n ** 63n) && n < 2n ** 63n
}

/**
 * A set as an array of members plus each member's index in it: O(1) add,
 * remove (the last member moves into the hole) and random pick by index,
 * which SPOP and SRANDMEMBER need.
 */
export class SetValue {
  readonly type = 'set'
  readonly index = new Map<string, number>()
  readonly members: string[] = []
  constructor(private readonly limits: Readonly<EncodingLimits> = DEFAULT_LIMITS) {}

  itemsBytes = 0
  big = false
  /** SSCAN's index of the members, from the first SSCAN on (scan-index.ts). */
  private scanIndex: ScanIndex | null = null

  get size(): number {
    return this.members.length
  }

  has(member: string): boolean {
    return this.index.has(member)
  }

  add(member: string): boolean {
    if (this.index.has(member)) return false
    this.index.set(member, this.members.length)
    this.members.push(member)
    this.itemsBytes += 4 + member.length
    this.scanIndex?.add(member)
    if (!this.big && (this.members.length > this.limits.setIntsetEntriesMax || !isInt64Text(member))) this.big = true
    return true
  }

  delete(member: string): boolean {
    const at = this.index.get(member)
    if (at === undefined) return false
    const last = this.members.pop() as string
    if (last !== member) {
      this.members[at] = last
      this.index.set(last, at)
    }
    this.index.delete(member)
    this.itemsBytes -= 4 + member.length
    this.scanIndex?.delete(member)
    return true
  }

  scanPage(cursor: number, count: number): ScanPage {
    this.scanIndex ??= new ScanIndex(this.members)
    return this.scanIndex.page(cursor, count)
  }

  clone(): SetValue {
    const copy = new SetValue(this.limits)
    for (const m of this.members) copy.add(m)
    copy.big = this.big
    return copy
  }
}

export class ZSetValue {
  readonly type = 'zset'
  readonly scores = new Map<string, number>()
  constructor(private readonly limits: Readonly<EncodingLimits> = DEFAULT_LIMITS) {}

  readonly order = new SkipList()
  itemsBytes = 0
  big = false
  /** ZSCAN's index of the members, from the first ZSCAN on (scan-index.ts). */
  private scanIndex: ScanIndex | null = null

  get size(): number {
    return this.scores.size
  }

  /** Adds or moves a member; true if it is new. */
  set(member: string, score: number): boolean {
    const old = this.scores.get(member)
    if (old !== undefined) {
      if (old === score) return false
      this.order.delete(old, member)
    } else {
      this.itemsBytes += 12 + member.length
      this.scanIndex?.add(member)
    }
    this.scores.set(member, score)
    this.order.insert(score, member)
    // Only a new member can switch the encoding: Redis moves an existing one within its listpack.
    if (old === undefined && !this.big && (this.scores.size > this.limits.zsetEntriesMax || member.length > this.limits.zsetValueBytesMax)) this.big = true
    return old === undefined
  }

  delete(member: string): boolean {
    const old = this.scores.get(member)
    if (old === undefined) return false
    this.scores.delete(member)
    this.order.delete(old, member)
    this.itemsBytes -= 12 + member.length
    this.scanIndex?.delete(member)
    return true
  }

  scanPage(cursor: number, count: number): ScanPage {
    this.scanIndex ??= new ScanIndex(this.scores.keys())
    return this.scanIndex.page(cursor, count)
  }

  clone(): ZSetValue {
    const copy = new ZSetValue(this.limits)
    for (const [m, s] of this.scores) copy.set(m, s)
    copy.big = this.big
    return copy
  }
}

export { ListValue }
export type Collection = HashValue | ListValue | SetValue | ZSetValue
export type Value = StoredString | Collection

export function isString(value: Value): value is StoredString {
  return typeof value === 'string' || Buffer.isBuffer(value)
}

export function valueType(value: Value): ValueType {
  return isString(value) ? 'string' : value.type
}

/** What a value adds to the keyspace's byte count (and a snapshot's keys section, past a fixed per-key part). */
export function valueBytes(value: Value): number {
  // A collection: an encoding byte, a u32 count, then its items.
  return isString(value) ? value.length : 1 + value.itemsBytes
}

export function cloneValue(value: Value): Value {
  return isString(value) ? value : value.clone()
}

/** OBJECT ENCODING's answer, as Redis 7.0 gives it. */
export function encodingName(value: Value): string {
  if (isString(value)) {
    if (value.length <= 20 && isInt64Text(typeof value === 'string' ? value : value.toString('latin1'))) return 'int'
    return value.length <= 44 ? 'embstr' : 'raw'
  }
  switch (value.type) {
    case 'hash': return value.big ? 'hashtable' : 'listpack'
    case 'list': return 'quicklist'
    case 'set': return value.big ? 'hashtable' : 'intset'
    case 'zset': return value.big ? 'skiplist' : 'listpack'
  }
}
