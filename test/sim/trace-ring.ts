// The flight recorders' ring (sim-trace.ts for the core-only profile,
// runtime/runtime-trace.ts for the runtime): a fixed number of reused
// slots, the oldest overwritten first, so recording an event is one slot
// update and strings are built only when a run fails or is traced live.

export class TraceRing<S> {
  private readonly slots: S[] = []
  private next = 0
  private filled = 0

  constructor(
    readonly capacity: number,
    emptySlot: () => S,
  ) {
    for (let i = 0; i < capacity; i++) this.slots.push(emptySlot())
  }

  /** The slot to fill with the next event (the oldest one once the ring is full). */
  claim(): S {
    const slot = this.slots[this.next] as S
    this.next = (this.next + 1) % this.capacity
    if (this.filled < this.capacity) this.filled++
    return slot
  }

  /** The recorded events formatted, oldest first. */
  lines(format: (slot: S) => string): string[] {
    const out: string[] = []
    const start = this.filled < this.capacity ? 0 : this.next
    for (let i = 0; i < this.filled; i++) out.push(format(this.slots[(start + i) % this.capacity] as S))
    return out
  }
}
