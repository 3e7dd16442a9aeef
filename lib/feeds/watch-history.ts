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

/** A rough per-event cost of the object and its slot, for the byte bound. */
const EVENT_OVERHEAD_BYTES = 64

export class WatchHistory {
  /** events[head .. head + count) in a ring, oldest first; indexes never decrease. */
  private events: (ChangeEvent | undefined)[]
  private head = 0
  private count = 0
  private bytes = 0
  horizon: number

  constructor(
    eventsMax: number,
    private readonly bytesMax: number,
    startIndex: number,
  ) {
    this.events = new Array<ChangeEvent | undefined>(Math.max(1, eventsMax))
    this.horizon = startIndex
  }

  get size(): number {
    return this.count
  }

  append(event: ChangeEvent): void {
    if (this.count === this.events.length) this.evictOldest()
    this.events[(this.head + this.count) % this.events.length] = event
    this.count++
    this.bytes += sizeOf(event)
    while (this.bytes > this.bytesMax && this.count > 1) this.evictOldest()
  }

  /** A snapshot replaced the state at `index`: what came before is not known here. */
  reset(index: number): void {
    this.events = new Array<ChangeEvent | undefined>(this.events.length)
    this.head = 0
    this.count = 0
    this.bytes = 0
    this.horizon = index
  }

  /** Every held event with index > `from`, oldest first; null when `from` is below the horizon. */
  after(from: number): ChangeEvent[] | null {
    if (from < this.horizon) return null
    const out: ChangeEvent[] = []
    // Binary search for the first event past `from`: the ring is sorted by index.
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.at(mid) as ChangeEvent).index <= from) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < this.count; i++) out.push(this.at(i) as ChangeEvent)
    return out
  }

  private at(i: number): ChangeEvent | undefined {
    return this.events[(this.head + i) % this.events.length]
  }

  private evictOldest(): void {
    const oldest = this.events[this.head] as ChangeEvent
    this.events[this.head] = undefined
    this.head = (this.head + 1) % this.events.length
    this.count--
    this.bytes -= sizeOf(oldest)
    // Other events of the same entry may remain, but a resume must now start after it.
    if (oldest.index > this.horizon) this.horizon = oldest.index
  }
}

function sizeOf(event: ChangeEvent): number {
  return event.key.length + (event.value?.length ?? 0) + EVENT_OVERHEAD_BYTES
}
