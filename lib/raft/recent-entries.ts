// The Entry objects appended at the log's tail and not yet durable, by
// index: a run [first, first + length) in a ring that doubles when full.
// RaftLog keeps them so that slice() and the Ready hand out the very objects
// the codecs encoded (lib/codec/encoded-runs.ts). An array with push() and
// splice(0, n) did the same, but every splice trimmed its front and the next
// pushes grew it again: under -P 16 the leader reallocated the array's store
// several times a second, each copy allocated young and held by the old
// array, so it survived its scavenge (bench/README.md, section 28).
import type { Entry } from './types.js'

const capacityMin = 64

export class RecentEntries {
  private slots: (Entry | undefined)[] = new Array<Entry | undefined>(capacityMin).fill(undefined)
  private mask = capacityMin - 1
  /** Slot of the entry with index `first`. */
  private head = 0
  private count = 0
  /** Index of the oldest entry held (of the next one appended when none is). */
  first: number

  constructor(first: number) {
    this.first = first
  }

  get length(): number {
    return this.count
  }

  /** The entry with this index, or undefined when it is not held. */
  at(index: number): Entry | undefined {
    const offset = index - this.first
    if (offset < 0 || offset >= this.count) return undefined
    return this.slots[(this.head + offset) & this.mask]
  }

  /** Appends `e` when it continues the run; anything else is not held (the log keeps its bytes). */
  push(e: Entry): void {
    if (e.index !== this.first + this.count) return
    if (this.count === this.slots.length) this.grow()
    this.slots[(this.head + this.count) & this.mask] = e
    this.count++
  }

  /** Drops every entry with an index at or above `index`. */
  truncateFrom(index: number): void {
    if (index <= this.first) return this.reset(index)
    const keep = Math.min(this.count, index - this.first)
    for (let i = keep; i < this.count; i++) this.slots[(this.head + i) & this.mask] = undefined
    this.count = keep
  }

  /** Drops the entries up to and including `index` (durable, or compacted away). */
  dropTo(index: number): void {
    if (index < this.first) return
    const n = Math.min(index - this.first + 1, this.count)
    for (let i = 0; i < n; i++) this.slots[(this.head + i) & this.mask] = undefined
    this.head = (this.head + n) & this.mask
    this.count -= n
    this.first += n
  }

  /** Holds nothing; the next entry held is `first`. */
  reset(first: number): void {
    for (let i = 0; i < this.count; i++) this.slots[(this.head + i) & this.mask] = undefined
    this.head = 0
    this.count = 0
    this.first = first
  }

  private grow(): void {
    const old = this.slots
    const slots = new Array<Entry | undefined>(old.length * 2).fill(undefined)
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & this.mask]
    this.slots = slots
    this.mask = slots.length - 1
    this.head = 0
  }
}
