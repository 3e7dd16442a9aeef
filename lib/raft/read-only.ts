// Linearizable reads without log entries (etcd's read_only.go, Raft thesis
// §6.4): the leader notes its commit index, confirms with one heartbeat round
// that a quorum still follows it, and then the read may be served once the
// server applied that index. One round serves every read queued since the
// previous one; reads asked at a follower are forwarded and answered here.
import type { Progress } from './progress.js'
import type { Raft } from './raft.js'
import { quorumSize } from './quorum.js'
import { broadcastHeartbeat, sendCommit, sendHeartbeat } from './step-leader.js'
import type { NodeId, ReadIndexRequest, ReadState } from './types.js'

interface PendingRead {
  readonly ctx: string
  /** '' for a read asked on this node; otherwise the follower to answer. */
  readonly from: NodeId
  readonly index: number
  /** The heartbeat round whose quorum of acks makes it safe. */
  readonly seq: number
}

interface WaitingRead {
  readonly ctx: string
  readonly from: NodeId
}

/** The reads a node waits on, and those that became safe; bounded by pendingReadsMax. */
export class ReadOnly {
  /** The latest heartbeat round started for reads. */
  seq = 0
  /** Reads queued since the last round: ready() (or interim()) starts one. */
  roundWanted = false
  private pending: PendingRead[] = []
  /** Reads that arrived before this leader committed an entry of its own term. */
  private awaitingCommit: WaitingRead[] = []
  private states: ReadState[] = []

  constructor(private readonly pendingReadsMax: number) {}

  full(): boolean {
    return this.pending.length + this.awaitingCommit.length >= this.pendingReadsMax
  }

  awaitCommit(ctx: string, from: NodeId): void {
    this.awaitingCommit.push({ ctx, from })
  }

  awaitingCommitCount(): number {
    return this.awaitingCommit.length
  }

  takeAwaitingCommit(): WaitingRead[] {
    const waiting = this.awaitingCommit
    this.awaitingCommit = []
    return waiting
  }

  /** Queues a read of `index`, safe after the next round. */
  add(ctx: string, from: NodeId, index: number): void {
    this.pending.push({ ctx, from, index, seq: this.seq + 1 })
    this.roundWanted = true
  }

  startRound(): number {
    this.roundWanted = false
    return ++this.seq
  }

  hasPending(): boolean {
    return this.pending.length > 0
  }

  /** Whether a round was started for a read that a quorum has not confirmed yet. */
  roundUnconfirmed(): boolean {
    const oldest = this.pending[0]
    return oldest !== undefined && oldest.seq <= this.seq
  }

  /** Removes and returns the reads whose round a quorum confirmed. */
  takeConfirmed(confirmedSeq: number): PendingRead[] {
    let n = 0
    while (n < this.pending.length && (this.pending[n] as PendingRead).seq <= confirmedSeq) n++
    return n === 0 ? [] : this.pending.splice(0, n)
  }

  /** Removes and returns every read waited on (the node stopped leading). */
  takeAll(): WaitingRead[] {
    const all: WaitingRead[] = [...this.pending, ...this.awaitingCommit]
    this.pending = []
    this.awaitingCommit = []
    this.roundWanted = false
    return all
  }

  pushState(s: ReadState): void {
    this.states.push(s)
  }

  hasStates(): boolean {
    return this.states.length > 0
  }

  takeStates(): ReadState[] {
    const states = this.states
    this.states = []
    return states
  }
}

/** Asks for a safe read index; the answer arrives as a ReadState with this ctx. */
export function readIndex(r: Raft, ctx: string): void {
  if (r.role === 'leader') {
    leaderReadIndex(r, ctx, '')
  } else if (r.leader !== null) {
    r.send({ type: 'ReadIndex', from: r.id, to: r.leader, term: r.term, ctx })
  } else {
    r.reads.pushState({ ctx, index: -1 })
  }
}

export function handleReadIndexRequest(r: Raft, m: ReadIndexRequest): void {
  if (r.role === 'leader') leaderReadIndex(r, m.ctx, m.from)
  else {
    // Not the leader (any more, or not yet): tell the asker to retry.
    r.send({ type: 'ReadIndexResp', from: r.id, to: m.from, term: r.term, ctx: m.ctx, index: -1 })
  }
}

export function leaderReadIndex(r: Raft, ctx: string, from: NodeId): void {
  if (r.reads.full()) {
    answerRead(r, ctx, from, -1)
    return
  }
  if (r.log.term(r.log.commit) !== r.term) {
    // Until our no-op commits we do not know the cluster's commit index.
    r.reads.awaitCommit(ctx, from)
    return
  }
  if (r.voterIds().length === 1 && r.isVoter(r.id)) {
    answerRead(r, ctx, from, r.log.commit)
    return
  }
  r.reads.add(ctx, from, r.log.commit)
}

/** One heartbeat round confirms leadership for every read queued since the last one. */
export function startReadRound(r: Raft): void {
  if (r.role !== 'leader') {
    r.reads.roundWanted = false
    return
  }
  const seq = r.reads.startRound()
  const self = r.progress.get(r.id)
  if (self !== undefined) self.readSeqAcked = seq
  askQuorum(r, seq)
  releaseReads(r)
}

/** Scratch for askQuorum: the core is single-threaded, and a round asks at most a handful of voters. */
const asked: NodeId[] = []

/**
 * Sends round `seq`'s heartbeat to just enough voters to make a quorum with
 * this leader, not to every follower: a round needs a quorum's acks, and each
 * heartbeat costs its follower a wakeup, a decode and an answer (in a 3-node
 * cluster, half of what GET costs the followers). Asked first are the voters
 * that confirmed the latest round, then those heard from most recently, so a
 * follower that stopped answering drops out of the choice. Should one asked
 * stop answering, every voter is asked at the next tick (tickLeader), so a
 * read waits at most one tick longer; a leader that is not a voter itself
 * (being removed) asks everyone.
 */
function askQuorum(r: Raft, seq: number): void {
  const voters = r.voterIds()
  if (!r.isVoter(r.id)) {
    broadcastHeartbeat(r, seq)
    return
  }
  asked.length = 0
  for (let needed = quorumSize(voters.length) - 1; needed > 0; needed--) {
    let best: NodeId | null = null
    let bestPr: Progress | null = null
    for (const id of voters) {
      const pr = r.progress.get(id)
      if (id === r.id || pr === undefined || asked.includes(id)) continue
      if (bestPr === null || pr.readSeqAcked > bestPr.readSeqAcked || (pr.readSeqAcked === bestPr.readSeqAcked && pr.lastContactTicks < bestPr.lastContactTicks)) {
        best = id
        bestPr = pr
      }
    }
    if (best === null || bestPr === null) break
    asked.push(best)
    sendHeartbeat(r, best, bestPr, seq)
  }
}

export function releaseReads(r: Raft): void {
  if (!r.reads.hasPending()) return
  r.quorum.reset()
  for (const id of r.voterIds()) r.quorum.add(id === r.id ? r.reads.seq : (r.progress.get(id)?.readSeqAcked ?? 0))
  for (const read of r.reads.takeConfirmed(r.quorum.value())) answerRead(r, read.ctx, read.from, read.index)
}

function answerRead(r: Raft, ctx: string, from: NodeId, index: number): void {
  if (from === '' || from === r.id) {
    r.reads.pushState({ ctx, index })
    return
  }
  // The follower serves the read once it has applied `index`: make sure the
  // commit index it needs is on its way (commits are not broadcast on
  // their own, see maybeCommitAndBroadcast). Sent before the answer, on
  // the same ordered connection.
  const pr = r.progress.get(from)
  if (index > 0 && pr !== undefined && pr.commitSent < index) {
    if (pr.match >= index) sendCommit(r, from, pr)
    else if (index > pr.commitWanted) pr.commitWanted = index // sent once it acks the entries (handleAppendResponse)
  }
  r.send({ type: 'ReadIndexResp', from: r.id, to: from, term: r.term, ctx, index })
}

export function failPendingReads(r: Raft): void {
  for (const read of r.reads.takeAll()) answerRead(r, read.ctx, read.from, -1)
}
