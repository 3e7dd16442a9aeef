// The recent keyspace events, kept so a watcher that reconnects (to this node
// or, since every node produces the same events at the same indexes, to any
// other) gets every change after the index it last saw, exactly once.
//
// Bounded by event count and by bytes; the oldest events go first. `horizon`
// is the smallest index a watcher may resume after: every event with a
// higher index that this node has applied is held. It rises when events are
// evicted, and jumps when a snapshot replaces the state (nothing before it
// was seen here).
//
// A plain SET's event is not copied at all: its key and value are the
// entry's own bytes, which the Raft log keeps (in memory, then in its segment
// files, which a snapshot keeps back to the oldest such event: see
// FeedHub.logNeededAfter), so the history holds only the entry's index and
// reads the key and value back when a watcher resumes.
import { PlainSetReader } from '../kv/command-codec.js'
import type { KvEventClass } from '../kv/key-events.js'
import { storedValueOfRange, type StoredValue } from '../kv/keyspace.js'
import { ValueArena } from '../kv/value-arena.js'

export interface ChangeEvent {
  readonly index: number
  /** Redis's event name (set, del, expire, expired, ...). */
  readonly op: string
  readonly typeClass: KvEventClass
  /** latin1, one char per byte. */
  readonly key: string
  readonly value: StoredValue | null
}

/**
 * The data of the applied entry at `index` while the log holds it, else null
 * (compacted away, or replaced by an installed snapshot). Synchronous: a
 * resume reads its replay and registers its stream in one turn.
 */
export type AppliedEntryReader = (index: number) => Buffer | null

/** A rough per-event cost of the ring's slots, for the byte bound. */
const EVENT_OVERHEAD_BYTES = 64

/** What one event counts against the byte bound. */
function sizeOf(keyLength: number, valueLength: number): number {
  return keyLength + valueLength + EVENT_OVERHEAD_BYTES
}

/**
 * The ring is held in columns (an index array and one array per field), not
 * as one object per event: every write on every node appends here, and an
 * object per event lived long enough to be copied by the young-generation
 * collector and then promoted. For the same reason keys and values up to
 * 4 KiB are copied into slabs (kv/value-arena.ts), not kept as the strings
 * the apply made: a string held here for the ~2 s until 100,000 newer events
 * push it out outlives a scavenge or two and dies in the old generation.
 * Event objects and their strings are built only for a replay.
 */
export class WatchHistory {
  /** Slots [head, head + count) of the ring hold the events, oldest first; indexes never decrease. */
  private readonly indexes: Float64Array
  private readonly ops: string[]
  private readonly typeClasses: KvEventClass[]
  /** A key in `arena` (its handle), or -1 and the key in `keys`. */
  private readonly keyHandles: Int32Array
  private readonly keys: string[]
  /** A value in `arena` (its handle), or -1 and the value (or null) in `values`. */
  private readonly valueHandles: Int32Array
  private readonly values: (StoredValue | null)[]
  /**
   * The key's and the value's lengths: what the event counts against the
   * byte bound, and what eviction tells the arena, which would otherwise
   * read each length from a slot written ~100,000 events ago (a cache miss).
   */
  private readonly keyLengths: Int32Array
  private readonly valueLengths: Int32Array
  /** 1: the event is the plain SET of its entry, read back through `readEntry`; its handles and `keys`/`values` slots are unused. */
  private readonly inEntry: Uint8Array
  private readonly arena = new ValueArena()
  private readonly entryReader = new PlainSetReader()
  private head = 0
  private count = 0
  private bytes = 0
  private entryEvents = 0
  horizon: number

  constructor(
    eventsMax: number,
    private readonly bytesMax: number,
    startIndex: number,
    private readonly readEntry: AppliedEntryReader | null = null,
  ) {
    const slots = Math.max(1, eventsMax)
    this.indexes = new Float64Array(slots)
    this.ops = new Array<string>(slots).fill('')
    this.typeClasses = new Array<KvEventClass>(slots).fill('g')
    this.keyHandles = new Int32Array(slots).fill(-1)
    this.keys = new Array<string>(slots).fill('')
    this.valueHandles = new Int32Array(slots).fill(-1)
    this.values = new Array<StoredValue | null>(slots).fill(null)
    this.keyLengths = new Int32Array(slots)
    this.valueLengths = new Int32Array(slots)
    this.inEntry = new Uint8Array(slots)
    this.horizon = startIndex
  }

  get size(): number {
    return this.count
  }

  /** Events held as their entry's index: while there are any, the log must keep their entries. */
  get entryEventCount(): number {
    return this.entryEvents
  }

  /** Whether events can be kept as their entry's index (appendFromEntry). */
  get readsEntries(): boolean {
    return this.readEntry !== null
  }

  append(index: number, op: string, typeClass: KvEventClass, key: string, value: StoredValue | null): void {
    const at = this.nextSlot(index, op, typeClass, key)
    let handle = -1
    if (typeof value === 'string') handle = this.arena.allocString(value)
    else if (value !== null) handle = this.arena.allocBytes(value, 0, value.length)
    this.valueHandles[at] = handle
    if (handle < 0) this.values[at] = value
    this.added(at, key.length, value?.length ?? 0)
  }

  /** append with the value as `bytes[start, end)` (copied: the bytes may change after the call). */
  appendBytes(index: number, op: string, typeClass: KvEventClass, key: string, bytes: Buffer, start: number, end: number): void {
    const at = this.nextSlot(index, op, typeClass, key)
    const handle = this.arena.allocBytes(bytes, start, end)
    this.valueHandles[at] = handle
    if (handle < 0) this.values[at] = storedValueOfRange(bytes, start, end)
    this.added(at, key.length, end - start)
  }

  /**
   * The event of the plain SET that is the entry at `index` (PlainSetReader
   * reads its key and value from the entry's data): nothing is copied, the
   * key and value are read back from the log on a resume. Needs `readEntry`.
   */
  appendFromEntry(index: number, op: string, typeClass: KvEventClass, keyLength: number, valueLength: number): void {
    if (this.readEntry === null) throw new Error('watch history: an event kept as its entry, with no reader for entries')
    const at = this.slotFor(index, op, typeClass)
    this.inEntry[at] = 1
    this.entryEvents++
    this.added(at, keyLength, valueLength)
  }

  /** Makes room for one more event and fills all but its value; the slot. */
  private nextSlot(index: number, op: string, typeClass: KvEventClass, key: string): number {
    const at = this.slotFor(index, op, typeClass)
    this.inEntry[at] = 0
    const keyHandle = this.arena.allocString(key)
    this.keyHandles[at] = keyHandle
    if (keyHandle < 0) this.keys[at] = key
    return at
  }

  private slotFor(index: number, op: string, typeClass: KvEventClass): number {
    const slots = this.indexes.length
    if (this.count === slots) this.evictOldest()
    const at = (this.head + this.count) % slots
    this.indexes[at] = index
    this.ops[at] = op
    this.typeClasses[at] = typeClass
    return at
  }

  private added(at: number, keyLength: number, valueLength: number): void {
    this.keyLengths[at] = keyLength
    this.valueLengths[at] = valueLength
    this.count++
    this.bytes += sizeOf(keyLength, valueLength)
    while (this.bytes > this.bytesMax && this.count > 1) this.evictOldest()
  }

  /** A snapshot replaced the state at `index`: what came before is not known here. */
  reset(index: number): void {
    // Drop the references so the old keys and values can be collected.
    this.keys.fill('')
    this.values.fill(null)
    this.keyHandles.fill(-1)
    this.valueHandles.fill(-1)
    this.arena.clear()
    this.head = 0
    this.count = 0
    this.bytes = 0
    this.entryEvents = 0
    this.horizon = index
  }

  /** Drops every event with index <= `index`: a resume must start after it. */
  evictThrough(index: number): void {
    while (this.count > 0 && (this.indexes[this.head] as number) <= index) this.evictOldest()
    if (index > this.horizon) this.horizon = index
  }

  /** The index of the newest event held, or the horizon when none is. */
  get lastIndex(): number {
    return this.count === 0 ? this.horizon : (this.indexes[(this.head + this.count - 1) % this.indexes.length] as number)
  }

  /**
   * Every held event with index > `from`, oldest first; null when `from` is
   * below the horizon, or when an event's entry can no longer be read back
   * (the horizon then rises past it, so the 410's resume point is honest).
   */
  after(from: number): ChangeEvent[] | null {
    return this.page(from, Infinity, Infinity)
  }

  /**
   * The held events with `from` < index <= `until`, oldest first, at most
   * about `countMax` of them: a page ends after the last event of an index,
   * so an entry's events are never split between pages (a watcher's
   * `id:` is an index). Null as for `after`.
   */
  page(from: number, until: number, countMax: number): ChangeEvent[] | null {
    if (from < this.horizon) return null
    const out: ChangeEvent[] = []
    const slots = this.indexes.length
    // Binary search for the first event past `from`: the ring is sorted by index.
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.indexes[(this.head + mid) % slots] as number) <= from) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < this.count; i++) {
      const at = (this.head + i) % slots
      const index = this.indexes[at] as number
      if (index > until || (out.length >= countMax && index !== (out[out.length - 1] as ChangeEvent).index)) break
      if (this.inEntry[at] === 1) {
        const event = this.readBack(at)
        if (event === null) return null
        out.push(event)
        continue
      }
      const keyHandle = this.keyHandles[at] as number
      const valueHandle = this.valueHandles[at] as number
      out.push({
        index,
        op: this.ops[at] as string,
        typeClass: this.typeClasses[at] as KvEventClass,
        key: keyHandle >= 0 ? this.arena.string(keyHandle) : (this.keys[at] as string),
        value: valueHandle >= 0 ? this.arena.string(valueHandle) : (this.values[at] ?? null),
      })
    }
    return out
  }

  /** The event kept as its entry at slot `at`, read back; null (and the events up to it dropped) when the log no longer has it. */
  private readBack(at: number): ChangeEvent | null {
    const index = this.indexes[at] as number
    const data = (this.readEntry as AppliedEntryReader)(index)
    const set = this.entryReader
    const keyLength = this.keyLengths[at] as number
    const valueLength = this.valueLengths[at] as number
    if (data === null || !set.read(data) || set.keyEnd - set.keyStart !== keyLength || set.valueEnd - set.valueStart !== valueLength) {
      // Compacted or replaced since (a snapshot installed meanwhile): what is left before it cannot be replayed.
      this.evictThrough(index)
      return null
    }
    return {
      index,
      op: this.ops[at] as string,
      typeClass: this.typeClasses[at] as KvEventClass,
      key: data.toString('latin1', set.keyStart, set.keyEnd),
      value: storedValueOfRange(data, set.valueStart, set.valueEnd),
    }
  }

  private evictOldest(): void {
    const at = this.head
    const index = this.indexes[at] as number
    const keyLength = this.keyLengths[at] as number
    const valueLength = this.valueLengths[at] as number
    if (this.inEntry[at] === 0) {
      const keyHandle = this.keyHandles[at] as number
      if (keyHandle >= 0) this.arena.free(keyHandle, keyLength)
      const valueHandle = this.valueHandles[at] as number
      if (valueHandle >= 0) this.arena.free(valueHandle, valueLength)
      this.keyHandles[at] = -1
      this.valueHandles[at] = -1
      this.keys[at] = ''
      this.values[at] = null
    } else {
      this.entryEvents--
    }
    this.head = (at + 1) % this.indexes.length
    this.count--
    this.bytes -= sizeOf(keyLength, valueLength)
    // Other events of the same entry may remain, but a resume must now start after it.
    if (index > this.horizon) this.horizon = index
  }
}
