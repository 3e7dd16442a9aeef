// The keyspace: every key's value, deadline and WATCH version, plus the
// derived indexes that make expiry sweeps and SCAN cheap.
//
// Keys are held as latin1 strings (one char per byte, so binary-safe and
// usable as Map keys). String values up to the arena's valueBytesMax (4 KiB
// less an 8-byte prefix) are held in the keyspace's value arena
// (value-arena.ts), in slabs: a SET that
// replaces a value copies its bytes into a slot, so it leaves no V8 string
// to survive a scavenge and no old value as old-generation garbage. Readers
// still see a string (`Entry.value` reads one out of the slab, a young
// string that dies, as a GET's reply does); the hot paths read lengths and
// bytes from the slab instead (putBytes, stringLength, stringBuffer,
// copyArenaString). Longer values up to STRING_VALUE_BYTES_MAX are latin1
// strings: a one-byte V8 string costs a small header, where a Buffer costs a
// JavaScript object and a separate backing store. Larger values stay
// Buffers, which also keeps them under V8's maximum string length.
//
// Packed keys. Most keys are a string in the arena without a deadline. The
// table holds such a key as a Smi, not an object: the value's arena handle
// and, in 3 bits, the bytes its slot has to spare (so the length is known
// without reading the cold slot, as HeldEntry's `arenaLength` gives it for
// other keys), with the key's version kept in the slot as its tag. That is
// 48 bytes less a key than a HeldEntry (its header and three fields), for 8
// more in the slot (the tag, 6 bytes, rounds a 100-byte value from a
// 104- to a 112-byte slot). A lookup of a packed key hands out a PackedEntry
// made for it, young garbage; a write that gives the key a deadline or a
// non-arena value makes it a HeldEntry, and one that takes them away packs it
// again. Slots past 128 bytes step by more than 8, so their values pack only
// when they nearly fill the slot.
//
// Versions (for WATCH) come from one clock that every replica advances
// identically, because it moves only inside apply. The clock moves in steps of
// two: a live entry's version is even, and `version + 1` (odd) names the same
// entry once it has expired — before and after the expired entry is removed —
// so a key expiring between WATCH and EXEC aborts the EXEC (as in Redis), while
// a key already expired at WATCH time does not. Deleted keys leave a tombstone
// with their last version so that delete-then-recreate is still a change; the
// tombstone table is bounded, and a key whose tombstone was evicted reports the
// highest evicted version (a conservative answer: it can only cause an extra
// abort, never a missed one).
//
// While a snapshot is being encoded in steps (snapshot-codec.ts,
// SnapshotEncoder), writes go on: before a key's entry changes or goes, its
// state at the snapshot's start is kept aside (copy on write), so the encoder
// still sees the keyspace as it was. Keys created meanwhile need nothing: the
// encoder walks the list of keys taken at the start.
//
// The SCAN bucket index (lib/kv/key-buckets.ts) is built on the first SCAN
// (or RANDOMKEY past 10,000 keys), not kept from the start: a node that never
// serves them (and every node while it replays its log at start-up) would
// otherwise pay a hash of the key and an insert per new key. It is local
// derived data, like the expiry index, and not in snapshots.

import { ExpiryIndex, type ExpiryItem } from './expiry-index.js'
import { KeyBuckets, SCAN_BUCKET_COUNT } from './key-buckets.js'
import { ARENA_PREFIX_BYTES, ARENA_TAG_BYTES, ValueArena } from './value-arena.js'
import { EncodingLimits, cloneValue, isString, valueBytes, type Collection, type Value } from './values.js'
import { assert, fail } from '../util/assert.js'

/** Values longer than this are kept as Buffers rather than strings. */
export const STRING_VALUE_BYTES_MAX = 1024 * 1024
/** Tombstones kept for WATCH on deleted keys, by count and by key bytes. */
export const TOMBSTONE_COUNT_MAX = 100_000
export const TOMBSTONE_BYTES_MAX = 16 * 1024 * 1024
/** A rough per-key cost of the Map entry, the key's HeldEntry (a packed key has none: an overestimate there) and the SCAN bucket slot. */
const ENTRY_OVERHEAD_BYTES = 96

export type StoredValue = string | Buffer

export interface Entry {
  /** A string (StoredValue) or a collection (values.ts). Changed only through the keyspace. */
  readonly value: Value
  /** Absolute deadline in ms since the epoch; Infinity when the key has none. */
  expireAtMs: number
  /** Even; changes on every write to the key. */
  version: number
}

export function valueToBuffer(value: StoredValue): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'latin1') : value
}

/**
 * What the keyspace's table holds for a key (see "Packed keys" in the
 * module comment): a Smi for a packed key, or the key's HeldEntry. Opaque
 * outside the keyspace: `entryOf` reads one.
 */
export type EntryRef = number | Entry

/**
 * The object the keyspace holds for a key that is not packed. A key without
 * a deadline has no `expireAtMs` of its own: it reads Infinity from the
 * prototype (an own Infinity would need a field and a boxed double). Giving
 * the key a deadline adds the own property (V8 then moves the entry to a map
 * with the field out of object).
 *
 * `ref` is the value itself, or (a number, a Smi) the handle of a string in
 * the keyspace's arena; `value` reads it out. Each keyspace makes its own
 * subclass with its arena on the prototype (Keyspace's constructor), so an
 * entry carries no field for it.
 *
 * `arenaLength` is the arena-held value's length (-1 when `ref` is not a
 * handle). The slot also starts with it, but a write overwriting a random
 * key finds the slot cold: reading it there stalled on a cache miss (~6 % of
 * a follower's time under -P 16, bench/README section 32), while this
 * field shares the line the lookup has just read.
 */
class HeldEntry implements Entry {
  declare expireAtMs: number
  declare readonly arena: ValueArena
  constructor(
    public ref: Value | number,
    public arenaLength: number,
    public version: number,
  ) {}

  get value(): Value {
    const ref = this.ref
    return typeof ref === 'number' ? this.arena.string(ref) : ref
  }
}
Object.defineProperty(HeldEntry.prototype, 'expireAtMs', { value: Infinity, writable: true, enumerable: true, configurable: false })

/**
 * A packed key's entry, made on each lookup and dropped by the caller (a
 * young object that dies): the handle and length come from the table's Smi,
 * the version from the slot's tag. It is valid until the next write to its
 * key, which takes it; only the keyspace writes through it.
 */
class PackedEntry implements Entry {
  declare readonly arena: ValueArena
  constructor(
    public ref: Value | number,
    public arenaLength: number,
  ) {}

  get value(): Value {
    const ref = this.ref
    return typeof ref === 'number' ? this.arena.string(ref) : ref
  }

  get expireAtMs(): number {
    return Infinity
  }

  get version(): number {
    const ref = this.ref
    if (typeof ref !== 'number') fail('keyspace: the version of a packed entry read after its key was written')
    return this.arena.tag(ref)
  }
}

/** The entry objects the keyspace hands out: a held key's own, or a packed key's view. */
type AnyEntry = HeldEntry | PackedEntry

/** A packed Smi keeps the slot's free bytes (0–7) in its low bits, the arena handle above them. */
const PACK_SPARE_BITS = 3
const PACK_SPARE_MAX = (1 << PACK_SPARE_BITS) - 1
/** Handles below this pack into a Smi under 2^30 (a Smi even with pointer compression). */
const PACK_HANDLE_LIMIT = 1 << (30 - PACK_SPARE_BITS)

/** Copies `bytes` into a value the keyspace may keep (never a view into a log entry). */
export function storedValueOf(bytes: Buffer): StoredValue {
  return storedValueOfRange(bytes, 0, bytes.length)
}

/** The same for `bytes[start, end)`, without building a view for the common (string) case. */
export function storedValueOfRange(bytes: Buffer, start: number, end: number): StoredValue {
  return end - start <= STRING_VALUE_BYTES_MAX ? bytes.toString('latin1', start, end) : Buffer.from(bytes.subarray(start, end))
}

/** A key's entry as it was when a snapshot started (a copy of its fields). */
export type CapturedEntry = Readonly<Entry>

export class Keyspace {
  /** Each key's packed Smi or HeldEntry (EntryRef), in insertion order. */
  private readonly table = new Map<string, number | HeldEntry>()
  /** String values up to the arena's valueBytesMax, each with its key's version as its tag (see the module comment). */
  private readonly arena = new ValueArena(ARENA_TAG_BYTES)
  /** HeldEntry and PackedEntry with this keyspace's arena on their prototypes. */
  private readonly Held: new (ref: Value | number, arenaLength: number, version: number) => HeldEntry
  private readonly Packed: new (ref: number, arenaLength: number) => PackedEntry
  /** Non-null while a snapshot is encoded in steps: what changed since it started (see the module comment). */
  private captured: Map<string, CapturedEntry> | null = null
  /**
   * Keys by SCAN bucket. Null until the first SCAN asks for a bucket; from
   * then on kept up to date.
   */
  private buckets: KeyBuckets | null = null
  private readonly expiry = new ExpiryIndex()
  /** Keys with a finite deadline (INFO's `expires=`); also bounds the stale entries in `expiry`. */
  private volatileCount = 0
  /** Exactly the bytes of every key and value held (the snapshot codec sizes its buffer from it). */
  private heldKeyValueBytes = 0

  /** Last version handed out (even). */
  clock = 0
  /** Insertion-ordered, so eviction is oldest-first on every replica. */
  readonly tombstones = new Map<string, number>()
  private tombstoneBytes = 0
  /** Version reported for an absent key without a tombstone. */
  tombstoneFloor = 0
  /**
   * The latest cluster time a leader stamped on a write applied here (0:
   * none yet): the same on every replica, kept in snapshots, and left by
   * FLUSHALL. The runtime never lets its cluster clock fall below it, so a
   * node that restarted and heard no leader yet still decides expiry no
   * earlier than the log it replayed (leader-clock.ts).
   */
  stampedMs = 0

  /** An applied write's stamp: stampedMs keeps the latest (entries need not come in time order). */
  noteStamp(nowMs: number): void {
    if (nowMs > this.stampedMs) this.stampedMs = nowMs
  }
  /** CONFIG parameters set through the log (replicated-config.ts); FLUSHALL leaves them. */
  readonly config = new Map<string, string>()
  /** Told of each CONFIG SET as it is applied (the state machine passes it to its event sink). */
  onConfig: ((name: string, value: string) => void) | null = null

  /** The encoding thresholds those parameters set; collections of this keyspace read them. */
  readonly encodingLimits = new EncodingLimits()

  constructor() {
    const Held = class extends HeldEntry {}
    Object.defineProperty(Held.prototype, 'arena', { value: this.arena, writable: false, enumerable: false, configurable: false })
    this.Held = Held
    const Packed = class extends PackedEntry {}
    Object.defineProperty(Packed.prototype, 'arena', { value: this.arena, writable: false, enumerable: false, configurable: false })
    this.Packed = Packed
  }

  setConfig(name: string, value: string): void {
    this.config.set(name, value)
    this.encodingLimits.set(name, value)
    this.onConfig?.(name, value)
  }
  /**
   * Told when a write finds its key expired and removes it (liveForWrite), so
   * the state machine can report Redis's `expired` event. Null: nobody listens.
   */
  onLazyExpire: ((key: string) => void) | null = null

  get size(): number {
    return this.table.size
  }

  /** Keys held with a finite deadline, expired or not; kept as a count, so O(1). */
  get volatileSize(): number {
    return this.volatileCount
  }

  /**
   * Keys and values, a per-key overhead, and the arena's slack: the slabs'
   * bytes beyond the values they hold (length prefixes and tags, rounding up
   * to a slot, free and not yet used slots).
   */
  get memoryBytes(): number {
    const arena = this.arena
    return this.heldKeyValueBytes + this.table.size * ENTRY_OVERHEAD_BYTES + arena.slabBytes - arena.valueBytes
  }

  /** The bytes of the arena's slabs (values, prefixes and free slots). */
  get arenaSlabBytes(): number {
    return this.arena.slabBytes
  }

  /** How many keys are held packed, as a Smi (O(keys): for tests and benchmarks). */
  get packedCount(): number {
    let n = 0
    for (const ref of this.table.values()) if (typeof ref === 'number') n++
    return n
  }

  /** A live entry's string value as a Buffer of its own (a GET's reply); null for a collection. */
  stringBuffer(entry: Entry): Buffer | null {
    const ref = (entry as AnyEntry).ref
    if (typeof ref === 'number') return this.arena.buffer(ref)
    if (typeof ref === 'string') return Buffer.from(ref, 'latin1')
    return Buffer.isBuffer(ref) ? ref : null
  }

  /** A live entry's string length without reading the string; -1 for a collection. */
  stringLength(entry: Entry): number {
    const held = entry as AnyEntry
    const ref = held.ref
    if (typeof ref === 'number') return held.arenaLength
    return typeof ref === 'string' || Buffer.isBuffer(ref) ? ref.length : -1
  }

  /**
   * For an entry of this keyspace whose value is in the arena: the value's
   * length (then copyArenaString copies it); else -1 (read `value`). Any other
   * object (a captured entry) answers -1.
   */
  arenaStringLength(entry: Readonly<Entry>): number {
    const held = entry as AnyEntry
    return typeof held.ref === 'number' ? held.arenaLength : -1
  }

  /**
   * For a packed key's EntryRef: its value's length, read from the Smi
   * alone; -1 for any other ref. With copyPacked, a snapshot writes the key
   * without an entry made for it.
   */
  packedLength(ref: EntryRef): number {
    if (typeof ref !== 'number') return -1
    return this.arena.slotBytesOf(ref >>> PACK_SPARE_BITS) - ARENA_PREFIX_BYTES - (ref & PACK_SPARE_MAX)
  }

  /** Copies a packed key's value (`length` from packedLength) to `target` at `at`; answers its version. `targetView`: see ValueArena.copy. */
  copyPacked(ref: number, length: number, target: Buffer, at: number, targetView: DataView | null = null): number {
    return this.arena.copyTagged(ref >>> PACK_SPARE_BITS, length, target, at, targetView)
  }

  /** Copies an arena-held value (arenaStringLength ≥ 0) to `target` at `at`; the bytes copied. `targetView`: see ValueArena.copy. */
  copyArenaString(entry: Readonly<Entry>, target: Buffer, at: number, targetView: DataView | null = null): number {
    return this.arena.copy((entry as AnyEntry).ref as number, target, at, targetView)
  }

  /** The sum of every held key's and value's length in bytes. */
  get keyValueBytes(): number {
    return this.heldKeyValueBytes
  }

  /** The sum of every tombstone key's length in bytes. */
  get tombstoneKeyBytes(): number {
    return this.tombstoneBytes
  }

  /** Every key held, expired or not, in the keyspace's order. */
  keys(): IterableIterator<string> {
    return this.table.keys()
  }

  /**
   * Calls `visit` with every key not expired at `nowMs`, in the keyspace's
   * order, until it returns true. Makes no entry (KEYS walks 1M keys with it).
   */
  forEachLiveKey(nowMs: number, visit: (key: string) => boolean | void): void {
    for (const [key, ref] of this.table) {
      if ((typeof ref === 'number' || ref.expireAtMs > nowMs) && visit(key) === true) return
    }
  }

  /** The key's entry, expired or not. Never mutates. */
  peek(key: string): Entry | undefined {
    const ref = this.table.get(key)
    return ref === undefined ? undefined : this.entryOf(ref)
  }

  /**
   * Fills `keys` and `refs` (each sized to `size`) with every key and what
   * the table holds for it, in the keyspace's order: a snapshot's list at its
   * start, read later with entryOf.
   */
  collectRefs(keys: string[], refs: EntryRef[]): void {
    let i = 0
    this.table.forEach((ref, key) => {
      keys[i] = key
      refs[i] = ref
      i++
    })
  }

  /** The entry an EntryRef names; for a packed key, valid while the key is not written. */
  entryOf(ref: EntryRef): Entry {
    return typeof ref === 'number' ? this.unpack(ref) : ref
  }

  /** The entry if it exists and has not expired at `nowMs`. Never mutates. */
  live(key: string, nowMs: number): Entry | undefined {
    const ref = this.table.get(key)
    if (ref === undefined) return undefined
    if (typeof ref === 'number') return this.unpack(ref)
    return ref.expireAtMs > nowMs ? ref : undefined
  }

  /** Like `live`, but removes an expired entry (at apply time only: it changes state). */
  liveForWrite(key: string, nowMs: number): Entry | undefined {
    const ref = this.table.get(key)
    if (ref === undefined) return undefined
    if (typeof ref === 'number') return this.unpack(ref)
    if (ref.expireAtMs > nowMs) return ref
    this.removeEntry(key, ref, ref.version + 1)
    this.onLazyExpire?.(key)
    return undefined
  }

  version(key: string, nowMs: number): number {
    const ref = this.table.get(key)
    if (typeof ref === 'number') return this.arena.tag(ref >>> PACK_SPARE_BITS)
    if (ref !== undefined) return ref.expireAtMs > nowMs ? ref.version : ref.version + 1
    return this.tombstones.get(key) ?? this.tombstoneFloor
  }

  /** Creates or overwrites a key. `existing` must be what liveForWrite returned for it. */
  put(key: string, existing: Entry | undefined, value: Value, expireAtMs: number): void {
    this.clock += 2
    if (existing !== undefined) {
      const held = existing as AnyEntry
      this.preserve(key, held)
      this.heldKeyValueBytes += valueBytes(value) - this.valueBytesOf(held)
      const old = held.ref
      if (typeof old === 'number' && typeof value === 'string') {
        const handle = this.arena.rewriteString(old, held.arenaLength, value)
        this.settle(key, held, handle >= 0 ? handle : value, value.length, expireAtMs)
      } else {
        if (typeof old === 'number') this.arena.free(old, held.arenaLength)
        const handle = typeof value === 'string' ? this.arena.allocString(value) : -1
        this.settle(key, held, handle >= 0 ? handle : value, handle >= 0 ? (value as string).length : -1, expireAtMs)
      }
      return
    }
    const handle = typeof value === 'string' ? this.arena.allocString(value) : -1
    if (handle >= 0) this.insertEntry(key, handle, (value as string).length, this.clock, expireAtMs)
    else this.insertEntry(key, value, -1, this.clock, expireAtMs)
  }

  /**
   * `put` of the string `bytes[start, end)` (SET's apply, with the log
   * entry's bytes): a value that fits the arena is copied straight into its
   * slot, in place when the old value's slot is of the same class.
   */
  putBytes(key: string, existing: Entry | undefined, bytes: Buffer, start: number, end: number, expireAtMs: number): void {
    const length = end - start
    if (length > this.arena.valueBytesMax) return this.put(key, existing, storedValueOfRange(bytes, start, end), expireAtMs)
    this.clock += 2
    if (existing !== undefined) {
      const held = existing as AnyEntry
      this.preserve(key, held)
      const old = held.ref
      let handle: number
      if (typeof old === 'number') {
        this.heldKeyValueBytes += length - held.arenaLength
        handle = this.arena.rewriteBytes(old, held.arenaLength, bytes, start, end)
      } else {
        this.heldKeyValueBytes += length - valueBytes(old)
        handle = this.arena.allocBytes(bytes, start, end)
      }
      this.settle(key, held, handle >= 0 ? handle : bytes.toString('latin1', start, end), length, expireAtMs)
      return
    }
    const handle = this.arena.allocBytes(bytes, start, end)
    if (handle >= 0) this.insertEntry(key, handle, length, this.clock, expireAtMs)
    else this.insertEntry(key, bytes.toString('latin1', start, end), -1, this.clock, expireAtMs)
  }

  /**
   * Changes a live key's collection in place: `mutate` runs between the
   * bookkeeping (copy on write for a running snapshot, byte counts). With
   * `changed` false (the write turned out to change nothing) the version
   * stays, so WATCH does not abort for it; a collection left empty is
   * deleted, as Redis does.
   */
  change<R>(key: string, entry: Entry, mutate: (value: Collection) => R, changed: (result: R) => boolean = () => true): R {
    const value = entry.value
    assert(!isString(value) && entry instanceof HeldEntry, 'keyspace.change: a string value')
    this.preserve(key, entry, true)
    const before = valueBytes(value)
    const result = mutate(value)
    this.heldKeyValueBytes += valueBytes(value) - before
    if (value.size === 0) {
      this.clock += 2
      this.removeEntry(key, entry, this.clock)
    } else if (changed(result)) {
      this.clock += 2
      entry.version = this.clock
    }
    return result
  }

  /** Changes only the deadline of a live key. */
  expire(key: string, entry: Entry, expireAtMs: number): void {
    const held = entry as AnyEntry
    this.preserve(key, held)
    this.clock += 2
    this.settle(key, held, held.ref, held.arenaLength, expireAtMs)
  }

  /** Deletes a live key as a write (DEL, GETDEL, or an expiry already in the past). */
  delete(key: string, entry: Entry): void {
    this.clock += 2
    this.removeEntry(key, entry as AnyEntry, this.clock)
  }

  /** Deletes `key` if it has expired at `nowMs`; true if it did. */
  sweep(key: string, nowMs: number): boolean {
    const ref = this.table.get(key)
    if (ref === undefined || typeof ref === 'number' || ref.expireAtMs > nowMs) return false
    this.removeEntry(key, ref, ref.version + 1)
    return true
  }

  /**
   * FLUSHALL. As in Redis 7, only keys that were held (live or expired but not
   * yet removed) change version: each gets a tombstone at a new version; a
   * WATCH on a key that did not exist survives. Tombstones past the bound raise
   * the floor, as for any delete (an extra abort at worst, never a missed one).
   */
  flush(): void {
    if (this.captured !== null) for (const [key, ref] of this.table) this.preserve(key, this.entryOf(ref) as AnyEntry)
    this.clock += 2
    const flushed = [...this.table.keys()]
    this.table.clear()
    // The dropped entries' handles point into slabs that go now: unlike a
    // delete, nothing reads them again (no op holds an entry across a
    // FLUSHALL, and a running capture has read every value out above).
    this.arena.clear()
    this.buckets = null
    this.expiry.clear()
    this.volatileCount = 0
    this.heldKeyValueBytes = 0
    for (const key of flushed) {
      // Re-inserted last, so eviction order stays oldest-first.
      if (this.tombstones.has(key)) {
        this.tombstones.delete(key)
        this.tombstoneBytes -= key.length
      }
      this.addTombstone(key, this.clock)
    }
  }

  /** Restores one entry from a snapshot (no version changes); false if the key is already held. */
  load(key: string, value: Value, expireAtMs: number, version: number): boolean {
    if (this.table.has(key)) return false
    const handle = typeof value === 'string' ? this.arena.allocString(value) : -1
    if (handle >= 0) this.insertEntry(key, handle, (value as string).length, version, expireAtMs)
    else this.insertEntry(key, value, -1, version, expireAtMs)
    return true
  }

  /** `load` of the string `bytes[start, end)` (a snapshot's bytes: no string in between for a value the arena holds). */
  loadBytes(key: string, bytes: Buffer, start: number, end: number, expireAtMs: number, version: number): boolean {
    if (this.table.has(key)) return false
    const handle = this.arena.allocBytes(bytes, start, end)
    if (handle >= 0) this.insertEntry(key, handle, end - start, version, expireAtMs)
    else this.insertEntry(key, storedValueOfRange(bytes, start, end), -1, version, expireAtMs)
    return true
  }

  loadTombstone(key: string, version: number): boolean {
    if (this.tombstones.has(key)) return false
    this.addTombstone(key, version)
    return true
  }

  /**
   * Up to `max` keys that have expired at `nowMs`, earliest deadline first.
   * Candidates stay in the index until a sweep actually deletes them, so a
   * sweep lost in a leader change is found again.
   */
  expiredKeys(nowMs: number, max: number): string[] {
    const found: ExpiryItem[] = []
    // Stale items are discarded for good; the bound keeps one call short.
    let popsLeft = max * 4 + 64
    while (found.length < max && popsLeft-- > 0) {
      const top = this.expiry.peek()
      if (top === undefined || top.atMs > nowMs) break
      this.expiry.pop()
      const ref = this.table.get(top.key)
      if (ref !== undefined && typeof ref !== 'number' && ref.expireAtMs === top.atMs) found.push(top)
    }
    for (const item of found) this.expiry.push(item.atMs, item.key)
    return found.map((item) => item.key)
  }

  /** Keys held but expired at `nowMs` (for size(nowMs) and metrics, not a hot path): O(keys). */
  expiredCount(nowMs: number): number {
    let count = 0
    for (const ref of this.table.values()) if (typeof ref !== 'number' && ref.expireAtMs <= nowMs) count++
    return count
  }

  /**
   * A live key drawn through the SCAN index (built on first use, as by SCAN):
   * a random bucket, then a random key of it, as Redis draws a bucket of its
   * hash table. Keys in small buckets are likelier, as in Redis. Undefined
   * when `tries` draws found no live key (most keys expired, not swept yet).
   */
  randomKey(int: (n: number) => number, nowMs: number, tries: number): string | undefined {
    this.buckets ??= KeyBuckets.of(this.table)
    for (let i = 0; i < tries; i++) {
      const key = this.buckets.pick(int(SCAN_BUCKET_COUNT), int)
      if (key !== undefined && this.live(key, nowMs) !== undefined) return key
    }
    return undefined
  }

  /** The keys in one SCAN bucket (live: callers must not keep it across writes). */
  bucket(index: number): Iterable<string> | undefined {
    this.buckets ??= KeyBuckets.of(this.table)
    return this.buckets.bucket(index)
  }

  /**
   * Starts keeping every entry's state from now, before it changes (one
   * capture at a time). Returns the kept states: a key found there changed
   * after the start, and what the table held for it then no longer reads as
   * the start's fields.
   */
  beginCapture(): ReadonlyMap<string, CapturedEntry> {
    assert(this.captured === null, 'keyspace: a snapshot capture is already running')
    this.captured = new Map()
    return this.captured
  }

  endCapture(): void {
    this.captured = null
  }

  get capturing(): boolean {
    return this.captured !== null
  }

  /**
   * Keeps `entry`'s current state aside for a running capture, once per key.
   * A collection about to change in place is cloned (`clone`); one about to
   * leave the keyspace is kept as it is (whoever moves it to another key
   * clones it while capturing: see `capturing`).
   */
  private preserve(key: string, entry: Entry, clone = false): void {
    const captured = this.captured
    if (captured === null || captured.has(key)) return
    captured.set(key, { value: clone ? cloneValue(entry.value) : entry.value, expireAtMs: entry.expireAtMs, version: entry.version })
  }

  /** A packed key's entry from its Smi. */
  private unpack(packed: number): PackedEntry {
    return new this.Packed(packed >>> PACK_SPARE_BITS, this.packedLength(packed))
  }

  /**
   * The Smi for a string of `length` bytes at `handle`, or -1 when it does
   * not pack: the slot has more than PACK_SPARE_MAX bytes to spare (a class
   * past 128 bytes, whose steps are wider), or the handle is too large.
   */
  private packOf(handle: number, length: number): number {
    const spare = this.arena.slotBytesOf(handle) - ARENA_PREFIX_BYTES - length
    return spare <= PACK_SPARE_MAX && handle < PACK_HANDLE_LIMIT ? (handle << PACK_SPARE_BITS) | spare : -1
  }

  /** The Smi a key with this value and deadline is held as, or -1 when it keeps an object (see packOf). */
  private packedOrNone(ref: Value | number, length: number, expireAtMs: number): number {
    return expireAtMs === Infinity && typeof ref === 'number' ? this.packOf(ref, length) : -1
  }

  /**
   * After a write to a held key: `ref` (its new value, arena handle or
   * not), `length` (the handle's value length), `expireAtMs` and the clock as
   * its version go where they belong. A key that now packs is stored as its
   * Smi (a held key's object is dropped); one that does not is a HeldEntry
   * (a packed key gets one). `held` is updated too, though its caller reads
   * nothing from it afterwards.
   */
  private settle(key: string, held: AnyEntry, ref: Value | number, length: number, expireAtMs: number): void {
    const version = this.clock
    const packed = this.packedOrNone(ref, length, expireAtMs)
    if (packed >= 0) {
      this.arena.setTag(ref as number, version)
      if (held instanceof PackedEntry) {
        if (this.packOf(held.ref as number, held.arenaLength) !== packed) this.table.set(key, packed)
      } else {
        this.setDeadline(key, held, Infinity)
        this.table.set(key, packed)
        held.version = version
      }
      this.setRef(held, ref, length)
      return
    }
    if (held instanceof HeldEntry) {
      this.setRef(held, ref, length)
      held.version = version
      this.setDeadline(key, held, expireAtMs)
      return
    }
    const entry = new this.Held(ref, typeof ref === 'number' ? length : -1, version)
    this.table.set(key, entry)
    this.setDeadline(key, entry, expireAtMs)
    this.setRef(held, ref, length)
  }

  /** Sets `ref` and, for a handle, the value's length beside it. */
  private setRef(held: AnyEntry, ref: Value | number, length: number): void {
    held.ref = ref
    held.arenaLength = typeof ref === 'number' ? length : -1
  }

  /** valueBytes of the entry's value, without reading an arena-held string out. */
  private valueBytesOf(entry: AnyEntry): number {
    const ref = entry.ref
    return typeof ref === 'number' ? entry.arenaLength : valueBytes(ref)
  }


  /** A new key: `ref` a handle (with `length`, its value's) or the value itself (`length` -1). */
  private insertEntry(key: string, ref: Value | number, length: number, version: number, expireAtMs: number): void {
    const packed = this.packedOrNone(ref, length, expireAtMs)
    if (packed >= 0) {
      this.arena.setTag(ref as number, version)
      this.table.set(key, packed)
      this.heldKeyValueBytes += key.length + length
    } else {
      const entry = new this.Held(ref, length, version)
      this.table.set(key, entry)
      this.heldKeyValueBytes += key.length + this.valueBytesOf(entry)
      this.setDeadline(key, entry, expireAtMs)
    }
    this.buckets?.add(key)
    // Usually there are none: skip the lookup of a key in an empty table.
    if (this.tombstones.size > 0 && this.tombstones.delete(key)) this.tombstoneBytes -= key.length
  }

  private removeEntry(key: string, entry: AnyEntry, tombstoneVersion: number): void {
    this.preserve(key, entry)
    this.table.delete(key)
    this.buckets?.delete(key)
    if (entry.expireAtMs !== Infinity) this.volatileCount--
    this.heldKeyValueBytes -= key.length + this.valueBytesOf(entry)
    const ref = entry.ref
    if (typeof ref === 'number') {
      // The entry keeps its value as a string: a caller still holding it reads what it held, never a reused slot.
      const length = entry.arenaLength
      this.setRef(entry, this.arena.string(ref), -1)
      this.arena.free(ref, length)
    }
    this.addTombstone(key, tombstoneVersion)
  }

  private addTombstone(key: string, version: number): void {
    this.tombstones.set(key, version)
    this.tombstoneBytes += key.length
    while (this.tombstones.size > TOMBSTONE_COUNT_MAX || this.tombstoneBytes > TOMBSTONE_BYTES_MAX) {
      const oldest = this.tombstones.entries().next().value
      if (oldest === undefined) break
      const [oldKey, oldVersion] = oldest
      this.tombstones.delete(oldKey)
      this.tombstoneBytes -= oldKey.length
      if (oldVersion > this.tombstoneFloor) this.tombstoneFloor = oldVersion
    }
  }

  private setDeadline(key: string, entry: HeldEntry, expireAtMs: number): void {
    const wasVolatile = entry.expireAtMs !== Infinity
    const isVolatile = expireAtMs !== Infinity
    if (wasVolatile !== isVolatile) this.volatileCount += isVolatile ? 1 : -1
    if (entry.expireAtMs === expireAtMs) return
    entry.expireAtMs = expireAtMs
    if (!isVolatile) return
    this.expiry.push(expireAtMs, key)
    // Overwritten deadlines leave stale heap items; rebuild before they dominate.
    if (this.expiry.length > 2 * this.volatileCount + 1024) this.rebuildExpiryIndex()
  }

  private rebuildExpiryIndex(): void {
    const items: ExpiryItem[] = []
    for (const [key, ref] of this.table) {
      if (typeof ref !== 'number' && ref.expireAtMs !== Infinity) items.push({ atMs: ref.expireAtMs, key })
    }
    this.expiry.rebuild(items)
  }
}
