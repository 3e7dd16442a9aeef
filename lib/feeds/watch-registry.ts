// The /watch streams open on this node and the keyspace events each one
// wants. Events arrive synchronously from apply; each watcher's share is
// collected and handed over once per event-loop turn, so one entry's events
// (all applied in one turn) always reach a watcher in one batch.
import type { ChangeEvent } from './watch-history.js'

/** Which keys a watcher follows: one key, or every key with a prefix ('' for all). latin1. */
export type WatchFilter = { readonly t: 'key'; readonly key: string } | { readonly t: 'prefix'; readonly prefix: string }

export function matches(filter: WatchFilter, key: string): boolean {
  return filter.t === 'key' ? filter.key === key : key.startsWith(filter.prefix)
}

export interface WatchSink {
  /** A batch of this watcher's events, in log order. */
  deliver(events: readonly ChangeEvent[]): void
  /** The feed cannot go on (a snapshot replaced the state here): end the stream. */
  end(reason: string): void
}

interface Slot {
  readonly filter: WatchFilter
  readonly sink: WatchSink
  /** Events after this index only (where a resumed or ReadIndex-confirmed stream starts). */
  readonly fromIndex: number
  pending: ChangeEvent[]
}

export class WatchRegistry {
  private readonly slots = new Set<Slot>()
  private readonly dirty = new Set<Slot>()
  private flushScheduled = false
  /** Events handed to watchers since start (the events-sent metric). */
  eventsSent = 0

  get size(): number {
    return this.slots.size
  }

  /** Starts delivering events with index > `fromIndex`; returns the function that stops it. */
  add(filter: WatchFilter, fromIndex: number, sink: WatchSink): () => void {
    const slot: Slot = { filter, sink, fromIndex, pending: [] }
    this.slots.add(slot)
    return () => {
      this.slots.delete(slot)
      this.dirty.delete(slot)
    }
  }

  offer(event: ChangeEvent): void {
    if (this.slots.size === 0) return
    for (const slot of this.slots) {
      if (event.index <= slot.fromIndex || !matches(slot.filter, event.key)) continue
      slot.pending.push(event)
      this.dirty.add(slot)
    }
    if (this.dirty.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Ends every stream (their clients resume, here or elsewhere, from their last event). */
  endAll(reason: string): void {
    this.flush()
    const slots = [...this.slots]
    this.slots.clear()
    for (const slot of slots) slot.sink.end(reason)
  }

  private flush(): void {
    this.flushScheduled = false
    const dirty = [...this.dirty]
    this.dirty.clear()
    for (const slot of dirty) {
      const events = slot.pending
      slot.pending = []
      this.eventsSent += events.length
      slot.sink.deliver(events)
    }
  }
}
