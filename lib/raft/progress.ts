// The leader's view of one follower (etcd's tracker.Progress): how much of the
// log it is known to hold, what to send next, and how many appends are in
// flight. A follower is probed until it acks, then replicated to optimistically
// inside a bounded window, or sent a snapshot when its entries are gone.
import { assert } from '../util/assert.js'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/**
 * A bounded window of in-flight appends, identified by their last index, in
 * the order sent: a fixed ring of countMax slots, so acking or dropping
 * appends moves two counters and allocates nothing (it runs on every ack).
 * It is also full once the entry data in flight reaches bytesMax (etcd's
 * MaxInflightBytes): without it, a follower fed from the log file gets up to
 * countMax appends of appendBytesMax each in one turn, all decoded at once.
 */
export class Inflights {
  private readonly lastIndexes: Float64Array
  private readonly byteCounts: Float64Array
  /** Slot of the oldest in-flight append. */
  private start = 0
  private size = 0
  private bytesInFlight = 0
  constructor(
    readonly countMax: number,
    readonly bytesMax = Infinity,
  ) {
    assert(countMax > 0, 'inflights: countMax must be positive')
    assert(bytesMax > 0, 'inflights: bytesMax must be positive')
    this.lastIndexes = new Float64Array(countMax)
    this.byteCounts = new Float64Array(countMax)
  }
  full(): boolean {
    return this.size >= this.countMax || this.bytesInFlight >= this.bytesMax
  }
  count(): number {
    return this.size
  }
  /** Entry data bytes in flight. */
  bytes(): number {
    return this.bytesInFlight
  }
  /** An append up to lastIndex carrying `bytes` of entry data: any size goes while the window is not full, so it may pass bytesMax by one append. */
  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), 'inflights: add when full')
    let slot = this.start + this.size
    if (slot >= this.countMax) slot -= this.countMax
    this.lastIndexes[slot] = lastIndex
    this.byteCounts[slot] = bytes
    this.bytesInFlight += bytes
    this.size++
  }
  /** Frees every append whose last index is ≤ index (acknowledged). */
  freeTo(index: number): void {
    while (this.size > 0 && (this.lastIndexes[this.start] as number) <= index) this.freeFirstOne()
  }
  /** Frees the oldest append: its ack may have been lost (see the leader's heartbeat handling). */
  freeFirstOne(): void {
    if (this.size === 0) return
    this.bytesInFlight -= this.byteCounts[this.start] as number
    this.size--
    this.start = this.size === 0 || this.start + 1 === this.countMax ? 0 : this.start + 1
  }
  reset(): void {
    this.start = 0
    this.size = 0
    this.bytesInFlight = 0
  }
}

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** In probe state: an append was sent and we wait for its answer (or a heartbeat answer). */
  probeSent = false
  /** In snapshot state: the index of the snapshot being shipped (0 once it failed). */
  snapshotIndexSent = 0
  /** Heard from since the last CheckQuorum round. */
  recentActive = false
  /** The highest ReadIndex round this peer has confirmed. */
  readSeqAcked = 0
  /** Ticks since we last heard from this peer, for status. */
  lastContactTicks = 0
  /** The highest commit index sent to this peer (in an append or heartbeat). */
  commitSent = 0
  /** A read this peer serves needs this commit index (see answerRead in read-only.ts); 0 when none. */
  commitWanted = 0
  readonly inflights: Inflights

  constructor(next: number, inflightAppendsMax: number, inflightBytesMax = Infinity) {
    this.next = next
    this.inflights = new Inflights(inflightAppendsMax, inflightBytesMax)
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // Resume after the snapshot if it went through, otherwise after match.
      this.next = Math.max(this.match + 1, this.snapshotIndexSent + 1)
      this.snapshotIndexSent = 0
    } else {
      this.next = this.match + 1
    }
    this.state = 'probe'
    this.probeSent = false
    this.inflights.reset()
  }

  becomeReplicate(): void {
    this.state = 'replicate'
    this.next = this.match + 1
    this.probeSent = false
    this.inflights.reset()
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot'
    this.snapshotIndexSent = snapshotIndex
    this.probeSent = false
    this.inflights.reset()
  }

  /** Whether the leader should hold back appends to this peer. */
  paused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }

  /** An ack up to `index`; returns false when it told us nothing new. */
  maybeUpdate(index: number): boolean {
    this.probeSent = false
    if (index <= this.match) return false
    this.match = index
    this.next = Math.max(this.next, index + 1)
    return true
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`; `hint` is the
   * highest index where the logs may agree. Returns false for a stale reject.
   */
  maybeDecrease(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1)
    this.probeSent = false
    return true
  }
}
