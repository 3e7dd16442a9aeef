// Proposals made in one event-loop turn (every client whose bytes arrived in
// it, every command of a pipeline) enter the log together at the end of the
// turn: one append, one append message per follower, one timestamp.
import { stampTime } from '../kv/command-codec.js'
import type { RaftNode } from '../raft/raw-node.js'
import type { ProposalOutcome, ProposalWaiters } from './proposal-waiters.js'

/** Proposals gathered in one turn at most; a larger burst is proposed in several batches. */
export const proposalBatchMax = 4096
export const notProposed: ProposalOutcome = Object.freeze({ t: 'refused', reason: 'notLeader' })

interface PendingProposal {
  readonly data: Buffer
  readonly resolve: (o: ProposalOutcome) => void
}

export class ProposalBatch {
  private pending: PendingProposal[] = []

  constructor(
    private readonly raft: RaftNode,
    /** The cluster clock (leader-clock.ts), stamped on the core's messages too. */
    private readonly stampClock: () => number,
    private readonly proposals: ProposalWaiters,
  ) {}

  /** Adds one proposal; true when the batch is full and should be flushed now. */
  add(data: Buffer, resolve: (o: ProposalOutcome) => void): boolean {
    this.pending.push({ data, resolve })
    return this.pending.length >= proposalBatchMax
  }

  /** Proposes what gathered; each buffer is stamped in place and kept by the log. */
  flush(): void {
    const batch = this.pending
    if (batch.length === 0) return
    this.pending = []
    // The leader stamps the time that expiries of these entries are computed from.
    const nowMs = this.stampClock()
    const data: Buffer[] = new Array<Buffer>(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as PendingProposal
      stampTime(p.data, nowMs)
      data[i] = p.data
    }
    const r = this.raft.proposeBatch(data)
    if (!r.ok) {
      const refused: ProposalOutcome = { t: 'refused', reason: r.reason }
      for (const p of batch) p.resolve(refused)
      return
    }
    for (let i = 0; i < batch.length; i++) this.proposals.add(r.index + i, r.term, (batch[i] as PendingProposal).resolve)
  }

  /** Refuses what has not entered the log yet (the node stops). */
  failPending(): void {
    const pending = this.pending
    this.pending = []
    for (const p of pending) p.resolve(notProposed)
  }
}
