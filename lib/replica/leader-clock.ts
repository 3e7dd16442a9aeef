// The cluster clock that TTL expiry follows (issue 18, "TTLs under clock
// skew"). A write's expiry is computed from the time its leader stamps on it;
// a read must decide expiry on the same clock, or a key read as gone on a
// node whose clock runs ahead could read as present on the leader afterwards.
//
// Every raft message carries the sender's idea of the cluster clock
// (MessageBase.clockMs): a leader stamps its own wall clock, never below what
// it heard; anyone else stamps the latest leader time it heard, carried
// forward by its own elapsed (monotonic) time, or 0 when it heard none — a
// follower's own wall clock never enters the cluster clock. So:
//  - a read on the leader uses max(own clock, carried-forward time heard);
//  - a linearizable read on a follower uses the time heard with the ReadIndex
//    answer (stamped by the leader after the read began), carried forward;
//  - a stale read uses the carried-forward time heard last (or its own clock
//    when it has heard and applied nothing: a stale read promises no order
//    anyway);
//  - the time only moves forward: a new leader whose clock is behind goes on
//    from the highest time it heard (heartbeats, appends and the votes that
//    elected it carry it), so an expired key does not come back;
//  - and it never falls below the latest time a leader stamped on a write
//    this node applied (the state machine keeps it, in snapshots too), taken
//    as heard when first seen: what a node heard is lost when it restarts,
//    and a quorum of restarted nodes would otherwise elect a leader whose
//    clock is behind the old leader's by the skew between them (runtime seed
//    1270039: a key read as expired on the old leader's time came back for
//    800 ms on the new one's). A stamp is a time the cluster clock has
//    already passed, so carrying it forward from when it was applied never
//    runs ahead of the old leader's clock.
import type { Clock } from '../util/clock.js'

export class LeaderClock {
  /** The highest cluster time heard, and the monotonic time when it was heard; 0 when none. */
  private heardMs = 0
  private heardAtMonotonicMs = 0

  /**
   * `stampedMs`: the latest cluster time stamped on an entry this node
   * applied (0: none), read each time the clock is.
   */
  constructor(
    private readonly clock: Clock,
    private readonly stampedMs: () => number = () => 0,
  ) {}

  /** A message's clockMs (0: the sender knew none). */
  hear(clockMs: number): void {
    this.hearAt(clockMs, this.clock.monotonicMs())
  }

  /** What this node stamps on its messages and decides expiry with, leading or not. */
  nowMs(leading: boolean): number {
    return this.stampAt(leading, this.clock.monotonicMs())
  }

  /**
   * hear(clockMs), then nowMs(leading), on one reading of the monotonic
   * clock: every raft message a node receives does both, and at one client
   * each clock reading is a cold call into the runtime.
   */
  hearThenNowMs(clockMs: number, leading: boolean): number {
    const monotonicMs = this.clock.monotonicMs()
    this.hearAt(clockMs, monotonicMs)
    return this.stampAt(leading, monotonicMs)
  }

  private hearAt(clockMs: number, monotonicMs: number): void {
    if (clockMs <= 0 || clockMs <= this.carriedAt(monotonicMs)) return
    this.heardMs = clockMs
    this.heardAtMonotonicMs = monotonicMs
  }

  /** The time heard last, moved forward by the time elapsed here since; 0 when none. */
  private carriedAt(monotonicMs: number): number {
    if (this.heardMs === 0) return 0
    return this.heardMs + Math.max(0, Math.floor(monotonicMs - this.heardAtMonotonicMs))
  }

  private stampAt(leading: boolean, monotonicMs: number): number {
    const stamped = this.stampedMs()
    if (stamped > this.heardMs) this.hearAt(stamped, monotonicMs)
    const carried = this.carriedAt(monotonicMs)
    return leading ? Math.max(this.clock.nowMs(), carried) : carried
  }

  /** For reads: the cluster clock, or this node's own when it has heard none yet. */
  readNowMs(leading: boolean): number {
    const t = this.nowMs(leading)
    return t === 0 ? this.clock.nowMs() : t
  }
}
