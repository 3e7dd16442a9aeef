// The recent keyspace events, kept so a watcher that reconnects (to this node
// or, since every node produces the same events at the same indexes, to any
// other) gets every change after the index it last saw, exactly once.
//
// Bounded by event count and by bytes; the oldest events go first. `horizon`
// is the smallest index a watcher may resume after: every event with a
// higher index that this node has applied is held. It rises when events are
// evicted, and jumps when a snapshot replaces the state (nothing before it
// was seen here).
import type { KvEventClass } from '../kv/key-events.js'
import type { StoredValue } from '../kv/keyspace.js'

export interface ChangeEvent {
  readonly index: number
  /** Redis's event name (set, del, expire, expired, ...). */
  readonly op: string
  readonly typeClass: KvEventClass
  /** latin1, one char per byte. */
  readonly key: string
  readonly value: StoredValue | null
}

/** A rough per-event cost of the ring's slots, for the byte bound. */
const EVENT_OVERHEAD_BYTES = 64

/** What one event counts against the byte bound. */
function sizeOf(key: string, value: StoredValue | null): number {
  return key.length + (value?.length ?? 0) + EVENT_OVERHEAD_BYTES
}

/**
 * The ring is held in columns (an index array and one array per field), not
 * as one object per event: every write on every node appends here, and an
 * object per event lived long enough to be copied by the young-generation
 * collector and then promoted. Event objects are built only for a replay.
 */
export class WatchHistory {
  /** Slots [head, head + count) of the ring hold the events, oldest first; indexes never decrease. */
  private readonly indexes: Float64Array
  private readonly ops: string[]
  private readonly typeClasses: KvEventClass[]
  private readonly keys: string[]
  private readonly values: (StoredValue | null)[]
  private head = 0
  private count = 0
  private bytes = 0
  horizon: number

  constructor(
    eventsMax: number,
    private readonly bytesMax: number,
    startIndex: number,
  ) {
    const slots = Math.max(1, eventsMax)
    this.indexes = new Float64Array(slots)
    this.ops = new Array<string>(slots).fill('')
    this.typeClasses = new Array<KvEventClass>(slots).fill('g')
    this.keys = new Array<string>(slots).fill('')
    this.values = new Array<StoredValue | null>(slots).fill(null)
    this.horizon = startIndex
  }

  get size(): number {
    return this.count
  }

  append(index: number, op: string, typeClass: KvEventClass, key: string, value: StoredValue | null): void {
    const slots = this.indexes.length
    if (this.count === slots) this.evictOldest()
    const at = (this.head + this.count) % slots
    this.indexes[at] = index
    this.ops[at] = op
    this.typeClasses[at] = typeClass
    this.keys[at] = key
    this.values[at] = value
    this.count++
    this.bytes += sizeOf(key, value)
    while (this.bytes > this.bytesMax && this.count > 1) this.evictOldest()
  }

  /** A snapshot replaced the state at `index`: what came before is not known here. */
  reset(index: number): void {
    // Drop the references so the old keys and values can be collected.
    this.keys.fill('')
    this.values.fill(null)
    this.head = 0
    this.count = 0
    this.bytes = 0
    this.horizon = index
  }

  /** Every held event with index > `from`, oldest first; null when `from` is below the horizon. */
  after(from: number): ChangeEvent[] | null {
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
      out.push({ index: this.indexes[at] as number, op: this.ops[at] as string, typeClass: this.typeClasses[at] as KvEventClass, key: this.keys[at] as string, value: this.values[at] ?? null })
    }
    return out
  }

  private evictOldest(): void {
    const at = this.head
    const index = this.indexes[at] as number
    const key = this.keys[at] as string
    const value = this.values[at] ?? null
    this.keys[at] = ''
    this.values[at] = null
    this.head = (at + 1) % this.indexes.length
    this.count--
    this.bytes -= sizeOf(key, value)
    // Other events of the same entry may remain, but a resume must now start after it.
    if (index > this.horizon) this.horizon = index
  }
}
