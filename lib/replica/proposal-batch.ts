// Proposals made in one event-loop turn (every client whose bytes arrived in
// it, every command of a pipeline) enter the log together at the end of the
// turn: one append, one append message per follower, one timestamp.
import { stampTime } from '../kv/command-codec.js'
import type { RaftNode } from '../raft/raw-node.js'
import type { ProposalWaiter, ProposalWaiters } from './proposal-waiters.js'

/** Proposals gathered in one turn at most; a larger burst is proposed in several batches. */
export const proposalBatchMax = 4096

export class ProposalBatch {
  // The turn's proposals, in parallel arrays (no record per proposal).
  private data: Buffer[] = []
  private waiters: ProposalWaiter[] = []

  constructor(
    private readonly raft: RaftNode,
    /** The cluster clock (leader-clock.ts), stamped on the core's messages too. */
    private readonly stampClock: () => number,
    private readonly proposals: ProposalWaiters,
  ) {}

  /** Adds one proposal; true when the batch is full and should be flushed now. */
  add(data: Buffer, waiter: ProposalWaiter): boolean {
    this.data.push(data)
    this.waiters.push(waiter)
    return this.data.length >= proposalBatchMax
  }

  /** Proposes what gathered; each buffer is stamped in place and kept by the log. */
  flush(): void {
    const data = this.data
    if (data.length === 0) return
    const waiters = this.waiters
    this.data = []
    this.waiters = []
    // The leader stamps the time that expiries of these entries are computed from.
    const nowMs = this.stampClock()
    for (let i = 0; i < data.length; i++) stampTime(data[i] as Buffer, nowMs)
    const r = this.raft.proposeBatch(data)
    if (!r.ok) {
      for (const w of waiters) w.proposalRefused(r.reason)
      return
    }
    for (let i = 0; i < waiters.length; i++) this.proposals.add(r.index + i, r.term, waiters[i] as ProposalWaiter)
  }

  /** Refuses what has not entered the log yet (the node stops). */
  failPending(): void {
    const waiters = this.waiters
    this.data = []
    this.waiters = []
    for (const w of waiters) w.proposalRefused('notLeader')
  }
}
