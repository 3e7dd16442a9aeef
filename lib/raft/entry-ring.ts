// The Raft log's entries held compactly: a ring of typed arrays keyed by
// index (term, kind, where the data is) and the data bytes copied into large
// append-only slabs. Holding up to SNAPSHOT_ENTRIES entries as one object and
// one Buffer each made every scavenge copy the recent ones and filled old
// space with them; here the garbage collector sees a few arrays and a few
// slabs, whatever the entry count.
//
// Who may hold a view into a slab: whoever receives an entry from RaftLog
// (storage persisting a Ready, the transport encoding an Append, the state
// machine applying it), and only until the next RaftNode.advance(), whether
// the entry came in a Ready, in one of its messages or from interim().
// Whoever keeps bytes longer copies them: the state machine copies what it
// keeps, the transport and the storage copy into frames and files.
//
// A slab's bytes are written once per use, and truncation and compaction
// move counters only. A slab goes once compaction passes every entry in it,
// or (LOG_CACHE_BYTES, see RaftLog) releaseDataThrough() drops the oldest
// slabs, whole, while the ring holds more slab bytes than its bound and
// every live entry in them is at or below the index it is given (applied and
// durable: the log file has them). Terms and kinds stay, so the algorithm
// still reasons about every index; hasDataAt() says whose bytes must be read
// back from storage.
//
// A released slab is reused, not left to the garbage collector: V8 counts
// the growth of Buffers' backing stores since the last mark-compact against
// the old generation's limit, and slabs dropped at the log's write rate (a
// follower's Buffers rose ~8.5 MB/s under SET -P 16) started most of its
// mark-compacts (bench/README section 25). Reuse must never change bytes a
// holder may still read, so a released slab waits in quarantine until the
// next RaftNode.advance() — by then every Ready and interim output handed
// out before the release has been consumed, and nothing handed out after it
// can point into the slab — and is then filled with POISON_BYTE (a view kept
// too long reads that until the slab is written again, so a holder that
// breaks the rule shows up as garbled bytes, as in the simulators' checkers)
// and kept as a spare for the next slab needed. A node at rest lets its spares go (dropSpareSlabs,
// called before the idle collector's full GC: lib/app/start-node.ts).
import { fail } from '../util/assert.js'
import { KIND_CONFIG, KIND_NOOP, KIND_NORMAL, type EntryKindCode } from './types.js'

// How entries are told apart in the ring (coded in types.ts); config entries keep their object in RaftLog.
export { KIND_CONFIG, KIND_NOOP, KIND_NORMAL, type EntryKindCode }

/** Bytes per slab: large enough that slabs are few, small enough that compaction frees memory steadily. */
export const SLAB_BYTES = 1 << 20
/**
 * Released slabs kept for reuse (quarantined and spare together), at most:
 * one compaction at the default SNAPSHOT_ENTRIES releases ~15 MiB of
 * 100-byte SETs at once. The rest are left to the garbage collector.
 */
export const SPARE_SLABS_MAX = 16
/** What a slab is filled with before it is reused. */
export const POISON_BYTE = 0xee
const RING_SLOTS_FIRST = 1024

/** Append-only byte slabs; slab `seq` is slabs[seq - firstSeq]. */
class DataSlabs {
  private slabs: Buffer[] = []
  /** Released slabs that a holder may still read: reusable after the next recycleReleased(). */
  private quarantined: Buffer[] = []
  /** Poisoned slabs ready for reuse, of slabBytes each. */
  private spare: Buffer[] = []
  /** The oldest slab still held; every slab below it was released. */
  firstSeq = 0
  /** Bytes of the slabs held (not counting quarantined and spare ones). */
  bytesHeld = 0

  constructor(private readonly slabBytes: number) {}

  /** Write offset in the last slab. */
  private cursor = 0
  /** Where the last write() put its bytes (fields, not a returned object: no allocation per entry). */
  writtenSeq = 0
  writtenOffset = 0

  /** The seq a zero-length write gets: the slab being written, or the next one. Never below an earlier write's seq. */
  currentSeq(): number {
    return this.slabs.length > 0 ? this.firstSeq + this.slabs.length - 1 : this.firstSeq
  }

  write(data: Buffer): void {
    let slab = this.slabs[this.slabs.length - 1]
    if (slab === undefined || this.cursor + data.length > slab.length) {
      // A new slab, big enough for an entry larger than SLAB_BYTES; the
      // old slab's tail stays unused (its bytes are never written later).
      slab = data.length <= this.slabBytes ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes)) : Buffer.allocUnsafeSlow(data.length)
      this.slabs.push(slab)
      this.bytesHeld += slab.length
      this.cursor = 0
    }
    data.copy(slab, this.cursor)
    this.writtenSeq = this.firstSeq + this.slabs.length - 1
    this.writtenOffset = this.cursor
    this.cursor += data.length
  }

  view(seq: number, offset: number, length: number): Buffer {
    const slab = this.slabs[seq - this.firstSeq]
    // The message is built only on failure: this runs for every entry handed out.
    if (slab === undefined) fail(`entry ring: slab ${seq} already released`)
    return slab.subarray(offset, offset + length)
  }

  /** Drops every slab below `seq`; views into them stay valid until recycleReleased() (see the file comment). */
  releaseBefore(seq: number): void {
    let n = 0
    while (n < this.slabs.length && this.firstSeq + n < seq) n++
    if (n === 0) return
    for (let i = 0; i < n; i++) {
      const slab = this.slabs[i] as Buffer
      this.bytesHeld -= slab.length
      if (slab.length === this.slabBytes && this.quarantined.length + this.spare.length < SPARE_SLABS_MAX) this.quarantined.push(slab)
    }
    this.slabs.splice(0, n)
    this.firstSeq += n
    if (this.slabs.length === 0) this.cursor = 0
  }

  /** Drops every slab: the next write starts a new one. */
  releaseAll(): void {
    this.releaseBefore(this.firstSeq + this.slabs.length)
  }

  slabCount(): number {
    return this.slabs.length
  }

  /** Makes the quarantined slabs spares: only when nobody holds a view handed out before their release. */
  recycleReleased(): void {
    if (this.quarantined.length === 0) return
    for (const slab of this.quarantined) {
      slab.fill(POISON_BYTE)
      this.spare.push(slab)
    }
    this.quarantined = []
  }

  /** Leaves the spares to the garbage collector (a node at rest): the next slabs are allocated again. */
  dropSpare(): void {
    this.spare = []
  }

  /** Released slabs kept for reuse (quarantined or spare), for tests. */
  keptCount(): number {
    return this.quarantined.length + this.spare.length
  }
}

/**
 * Entries [firstIndex, firstIndex + count) as parallel typed arrays in a ring
 * whose slot count is a power of two; it doubles when full (the log holds at
 * most what compaction and the snapshot interval leave it).
 */
export class EntryRing {
  private firstIdx: number
  private countNow = 0
  /** Slot of firstIdx. */
  private head = 0
  private mask = RING_SLOTS_FIRST - 1
  private terms = new Float64Array(RING_SLOTS_FIRST)
  private kinds = new Uint8Array(RING_SLOTS_FIRST)
  private slabSeqs = new Float64Array(RING_SLOTS_FIRST)
  private offsets = new Uint32Array(RING_SLOTS_FIRST)
  private lengths = new Uint32Array(RING_SLOTS_FIRST)
  private readonly data: DataSlabs

  /** `slabBytes`: the size of each data slab (smaller for a small LOG_CACHE_BYTES, so the bound means something). */
  constructor(firstIndex: number, slabBytes = SLAB_BYTES) {
    this.firstIdx = firstIndex
    this.data = new DataSlabs(slabBytes)
  }

  get firstIndex(): number {
    return this.firstIdx
  }

  get count(): number {
    return this.countNow
  }

  /** Appends the entry at index firstIndex + count; `data` is copied (null for noop and config entries). */
  push(term: number, kind: EntryKindCode, data: Buffer | null): void {
    if (this.countNow === this.mask + 1) this.grow()
    const slot = (this.head + this.countNow) & this.mask
    this.terms[slot] = term
    this.kinds[slot] = kind
    if (data !== null && data.length > 0) {
      this.data.write(data)
      this.slabSeqs[slot] = this.data.writtenSeq
      this.offsets[slot] = this.data.writtenOffset
      this.lengths[slot] = data.length
    } else {
      this.slabSeqs[slot] = this.data.currentSeq()
      this.offsets[slot] = 0
      this.lengths[slot] = 0
    }
    this.countNow++
  }

  /**
   * Appends an entry whose data storage holds but this ring does not (a long
   * log replayed at start-up): hasDataAt() is false for it from the start,
   * so its bytes are read back like those of a released slab. Only before any
   * entry with data, so live entries still use slabs in index order.
   */
  pushReleased(term: number, kind: EntryKindCode, dataBytes: number): void {
    if (dataBytes === 0) {
      this.push(term, kind, null)
      return
    }
    if (this.data.slabCount() > 0) fail('entry ring: a released entry after entries with data')
    if (this.countNow === this.mask + 1) this.grow()
    const slot = (this.head + this.countNow) & this.mask
    this.terms[slot] = term
    this.kinds[slot] = kind
    // Below every slab's seq: never held.
    this.slabSeqs[slot] = this.data.firstSeq - 1
    this.offsets[slot] = 0
    this.lengths[slot] = dataBytes
    this.countNow++
  }

  private slotOf(index: number): number {
    if (index < this.firstIdx || index >= this.firstIdx + this.countNow) {
      // Built only on failure: every term lookup comes through here.
      fail(`entry ring: index ${index} outside [${this.firstIdx}, ${this.firstIdx + this.countNow})`)
    }
    return (this.head + (index - this.firstIdx)) & this.mask
  }

  termAt(index: number): number {
    return this.terms[this.slotOf(index)] as number
  }

  kindAt(index: number): EntryKindCode {
    return this.kinds[this.slotOf(index)] as EntryKindCode
  }

  dataBytesAt(index: number): number {
    return this.lengths[this.slotOf(index)] as number
  }

  /** Whether the entry's data is held (entries without data always are); false once its slab was released. */
  hasDataAt(index: number): boolean {
    const slot = this.slotOf(index)
    return this.lengths[slot] === 0 || (this.slabSeqs[slot] as number) >= this.data.firstSeq
  }

  /** A view of a normal entry's data (see the file comment for how long it stays valid). */
  dataAt(index: number): Buffer {
    const slot = this.slotOf(index)
    return this.data.view(this.slabSeqs[slot] as number, this.offsets[slot] as number, this.lengths[slot] as number)
  }

  /** Forgets entries from `index` on; their bytes stay where they are, never overwritten. */
  truncateFrom(index: number): void {
    if (index < this.firstIdx || index > this.firstIdx + this.countNow) fail(`entry ring: truncate at ${index} outside the ring`)
    this.countNow = index - this.firstIdx
  }

  /** Forgets entries up to `index` (compaction) and releases the slabs only they used. */
  dropTo(index: number): void {
    if (index < this.firstIdx - 1 || index >= this.firstIdx + this.countNow) fail(`entry ring: drop to ${index} outside the ring`)
    const n = index - this.firstIdx + 1
    this.head = (this.head + n) & this.mask
    this.countNow -= n
    this.firstIdx = index + 1
    if (this.countNow > 0) this.data.releaseBefore(this.slabSeqs[this.head] as number)
    else this.data.releaseBefore(this.data.currentSeq())
  }

  /**
   * Releases the oldest slabs while more than `bytesMax` are held and every
   * live entry using the slab is at or below `index`. Live entries use slabs
   * in index order (pushes go to the newest slab; truncation only cuts the
   * tail), so the slab is free once the entry after `index` uses a later
   * one, or there is none.
   */
  releaseDataThrough(index: number, bytesMax: number): void {
    const after = index + 1
    while (this.data.bytesHeld > bytesMax && this.data.slabCount() > 0) {
      const oldest = this.data.firstSeq
      if (after < this.firstIdx + this.countNow && (this.slabSeqs[this.slotOf(Math.max(after, this.firstIdx))] as number) <= oldest) return
      this.data.releaseBefore(oldest + 1)
    }
  }

  /** Bytes of the data slabs held, for tests and status. */
  dataBytesHeld(): number {
    return this.data.bytesHeld
  }

  /** Empties the ring so that the next entry pushed has `firstIndex`; every slab is released. */
  reset(firstIndex: number): void {
    this.firstIdx = firstIndex
    this.countNow = 0
    this.head = 0
    this.data.releaseAll()
  }

  /** Slabs held, for tests and status. */
  slabCount(): number {
    return this.data.slabCount()
  }

  /**
   * Lets released slabs be reused. The caller promises that no view handed
   * out before now is still read: RaftNode calls it at the end of advance().
   */
  recycleReleased(): void {
    this.data.recycleReleased()
  }

  /** Gives the spare slabs up (quarantined ones stay until they are safe to reuse). */
  dropSpareSlabs(): void {
    this.data.dropSpare()
  }

  /** Released slabs waiting for reuse, for tests. */
  releasedKeptCount(): number {
    return this.data.keptCount()
  }

  private grow(): void {
    const slots = (this.mask + 1) * 2
    const move = <A extends Float64Array | Uint32Array | Uint8Array>(from: A, to: A): A => {
      for (let i = 0; i < this.countNow; i++) to[i] = from[(this.head + i) & this.mask] as number
      return to
    }
    this.terms = move(this.terms, new Float64Array(slots))
    this.kinds = move(this.kinds, new Uint8Array(slots))
    this.slabSeqs = move(this.slabSeqs, new Float64Array(slots))
    this.offsets = move(this.offsets, new Uint32Array(slots))
    this.lengths = move(this.lengths, new Uint32Array(slots))
    this.head = 0
    this.mask = slots - 1
  }
}
