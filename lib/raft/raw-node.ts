// The Raft algorithm as a pure state machine, in the shape of etcd's raft:
// the caller feeds it ticks, messages, proposals and read requests; it hands
// back one Ready batch at a time (state to persist, messages to send, entries
// to apply, reads that became safe) and is told by advance() when that batch
// was handled. No I/O, no clocks, no global randomness: time is tick(),
// randomness comes from the injected `random`.
//
// Implemented: leader election with PreVote and CheckQuorum (leader lease),
// log replication with probe/replicate/snapshot progress, a bounded in-flight
// window, fast backtracking, a no-op on election, commit only for entries of
// the current term; ReadIndex (batched: one quorum round serves every read
// waiting for it, also for reads arriving at followers); single-server
// membership changes that take effect when appended (thesis §4.1); snapshots
// and compaction; leadership transfer with TimeoutNow; incarnation stamps
// (see types.ts) so that a node wiped and back under its old id is never
// counted as the member it used to be.
import { assert, unreachable } from '../util/assert.js'
import { Progress } from './progress.js'
import { quorumSize, quorumValue, tallyVotes } from './quorum.js'
import { RaftLog } from './raft-log.js'
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  Config,
  Entry,
  HardState,
  HeartbeatRequest,
  HeartbeatResponse,
  Incarnation,
  InitialState,
  Member,
  Message,
  NodeId,
  RandomInt,
  ReadIndexRequest,
  ReadState,
  Ready,
  Role,
  SnapshotMeta,
  SnapshotRequest,
  VoteRequest,
  VoteResponse,
} from './types.js'
import { sameIncarnation } from './types.js'

export interface RaftOptions {
  readonly id: NodeId
  /** This node's data-directory incarnation; '' = unknown (nothing is checked against it). */
  readonly incarnation?: Incarnation
  /** Followers wait a random [e, 2e) ticks without a leader before campaigning. */
  readonly electionTimeoutTicks?: number
  readonly heartbeatIntervalTicks?: number
  readonly preVote?: boolean
  readonly checkQuorum?: boolean
  readonly appendEntriesMax?: number
  readonly appendBytesMax?: number
  readonly inflightAppendsMax?: number
  /** Proposals are refused ('busy') while this many entries wait to commit. */
  readonly uncommittedEntriesMax?: number
  /** Reads waiting for a leader's first commit in its term, or for a quorum round. */
  readonly pendingReadsMax?: number
  /** Committed entries handed out per Ready at most. */
  readonly applyEntriesMax?: number
  readonly random: RandomInt
}

export const raftDefaults = Object.freeze({
  incarnation: '',
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 1,
  preVote: true,
  checkQuorum: true,
  appendEntriesMax: 512,
  appendBytesMax: 1024 * 1024,
  inflightAppendsMax: 256,
  uncommittedEntriesMax: 65536,
  pendingReadsMax: 65536,
  applyEntriesMax: 4096,
})

export type { InitialState }

export type ProposeFailure = 'notLeader' | 'transferring' | 'busy' | 'confChangePending' | 'learnerBehind' | 'invalid'
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposeFailure; readonly leader: NodeId | null; readonly detail?: string }

export interface ProgressStatus {
  readonly match: number
  readonly next: number
  readonly state: 'probe' | 'replicate' | 'snapshot'
  readonly lastContactTicks: number
}

export interface RaftStatus {
  readonly id: NodeId
  readonly role: Role
  readonly term: number
  readonly vote: NodeId
  readonly leader: NodeId | null
  readonly commit: number
  readonly applied: number
  readonly firstIndex: number
  readonly lastIndex: number
  readonly snapshotIndex: number
  readonly config: Config
  readonly transferee: NodeId | null
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>
  readonly incarnation: Incarnation
  /** Messages dropped because they were stamped for another incarnation of this node. */
  readonly droppedForOtherIncarnation: number
  /** The last sender that addressed this node under another incarnation (its config is older or newer than ours), or null. */
  readonly otherIncarnationSeen: { readonly from: NodeId; readonly incarnation: Incarnation } | null
  /** Messages dropped because their sender's incarnation is not the one our configuration lists for it. */
  readonly droppedFromStaleIncarnation: number
}

interface PendingRead {
  readonly ctx: string
  /** '' for a read asked on this node; otherwise the follower to answer. */
  readonly from: NodeId
  readonly index: number
  readonly seq: number
}

type Outgoing = Message

/** A message as the algorithm builds it; send() adds the incarnation stamps. */
type Unstamped<M> = M extends Message ? Omit<M, 'fromIncarnation' | 'toIncarnation'> : never
type UnstampedMessage = Unstamped<Message>

/** See RaftNode.interim(). */
export interface Interim {
  readonly messages: readonly Message[]
  readonly committed: readonly Entry[]
  readonly readStates: readonly ReadState[]
}

export class RaftNode {
  readonly id: NodeId
  readonly incarnation: Incarnation
  private readonly opts: Required<Omit<RaftOptions, 'id'>>
  protected readonly log: RaftLog

  private term: number
  private vote: NodeId
  private role: Role = 'follower'
  private leader: NodeId | null = null

  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTimeout = 0

  protected readonly progress = new Map<NodeId, Progress>()
  private readonly votes = new Map<NodeId, boolean>()
  private transferee: NodeId | null = null

  private readSeq = 0
  private pendingReads: PendingRead[] = []
  /** Reads that arrived before this leader committed an entry of its own term. */
  private readsAwaitingCommit: { ctx: string; from: NodeId }[] = []
  private readRoundWanted = false
  private readStates: ReadState[] = []

  private messagesNow: Outgoing[] = []
  private messagesAfterPersist: Outgoing[] = []
  private persistedHardState: HardState
  private readyOutstanding = false
  /** The outstanding Ready installs a snapshot: interim() applies nothing until it is advanced. */
  private snapshotOutstanding = false
  private droppedForOtherIncarnation = 0
  private droppedFromStaleIncarnation = 0
  private otherIncarnationSeen: { from: NodeId; incarnation: Incarnation } | null = null
  /** incarnationOf()'s cache: the config it was built from (configs are immutable values) and its non-empty incarnations. */
  private incarnationsConfig: Config | null = null
  private readonly incarnations = new Map<NodeId, Incarnation>()
  /**
   * The incarnation stamped on the last leader message accepted, and its
   * sender and term: replies to the leader we follow go to that incarnation
   * even while our own (older) log lists another one for it (see stampsMatch).
   */
  private leaderStampFrom: NodeId = ''
  private leaderStampTerm = 0
  private leaderStampIncarnation: Incarnation = ''

  constructor(options: RaftOptions, initial: InitialState) {
    this.id = options.id
    this.opts = { ...raftDefaults, ...options }
    this.incarnation = this.opts.incarnation
    assert(this.opts.heartbeatIntervalTicks < this.opts.electionTimeoutTicks, 'raft: heartbeat interval must be below the election timeout')
    const hs = initial.hardState
    this.log = new RaftLog(initial.snapshot, initial.entries, Math.max(hs.commit, initial.snapshot.index))
    this.term = hs.term
    this.vote = hs.vote
    this.persistedHardState = { term: hs.term, vote: hs.vote, commit: this.log.commit }
    this.resetElectionTimer()
  }

  /** A new cluster of one: entry 1 (term 1) configures `self` as the only voter. */
  static bootstrapState(self: Member): InitialState {
    const incarnation = self.incarnation ?? ''
    const config: Config = { members: [{ id: self.id, addr: self.addr, role: 'voter', ...(incarnation === '' ? {} : { incarnation }) }] }
    return {
      hardState: { term: 1, vote: '', commit: 1 },
      snapshot: { index: 0, term: 0, config: { members: [] } },
      entries: [{ index: 1, term: 1, kind: 'config', config }],
    }
  }

  /** A node about to join: it knows nobody and waits for a leader to replicate to it. */
  static emptyState(): InitialState {
    return {
      hardState: { term: 0, vote: '', commit: 0 },
      snapshot: { index: 0, term: 0, config: { members: [] } },
      entries: [],
    }
  }

  // ---- Inputs ---------------------------------------------------------------

  tick(): void {
    for (const pr of this.progress.values()) pr.lastContactTicks++
    if (this.role === 'leader') this.tickLeader()
    else this.tickElection()
  }

  step(m: Message): void {
    if (m.to !== this.id) return
    if (!this.stampsMatch(m)) return
    if (!this.fromKnownMember(m.from) && !(fromLeader(m) && this.mayFollowStranger(m.from))) return
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return
    } else if (m.term < this.term) {
      this.stepLowerTerm(m)
      return
    }
    if (fromLeader(m)) this.noteLeaderStamp(m)
    this.stepCurrentTerm(m)
  }

  propose(data: Buffer): ProposeResult {
    const refused = this.refuseProposal()
    if (refused !== null) return refused
    const index = this.log.lastIndex() + 1
    this.appendAsLeader([{ index, term: this.term, kind: 'normal', data }])
    return { ok: true, index, term: this.term }
  }

  /**
   * Proposes several entries at once, all or none: one log append and one
   * append message per follower for the lot, instead of one of each per
   * entry (the runtime gathers the proposals of one event-loop turn). On
   * success the entries have indexes `index` to `index + data.length - 1`.
   */
  proposeBatch(data: readonly Buffer[]): ProposeResult {
    const refused = this.refuseProposal()
    if (refused !== null) return refused
    const first = this.log.lastIndex() + 1
    const entries: Entry[] = data.map((d, i) => ({ index: first + i, term: this.term, kind: 'normal', data: d }))
    if (entries.length > 0) this.appendAsLeader(entries)
    return { ok: true, index: first, term: this.term }
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    const refused = this.refuseProposal()
    if (refused !== null) return refused
    if (this.log.uncommittedConfigIndex() !== 0 || this.log.term(this.log.commit) !== this.term) {
      // One change at a time, and only after this leader committed an entry of
      // its own term (the fix for single-server changes from Ongaro's 2015 note).
      return { ok: false, reason: 'confChangePending', leader: this.id }
    }
    const next = applyConfChange(this.log.config(), cc)
    if (typeof next === 'string') return { ok: false, reason: 'invalid', leader: this.id, detail: next }
    if (cc.op === 'promote' && (this.progress.get(cc.id)?.match ?? 0) < this.log.commit) {
      // A voter that does not hold the committed log yet could be needed for
      // a quorum it cannot help form (it grants no votes while it knows no
      // configuration): promote only learners that have caught up.
      return { ok: false, reason: 'learnerBehind', leader: this.id, detail: `learner ${cc.id} has not caught up with the commit index yet` }
    }
    const index = this.log.lastIndex() + 1
    this.appendAsLeader([{ index, term: this.term, kind: 'config', config: next }])
    return { ok: true, index, term: this.term }
  }

  /** Asks for a safe read index; the answer arrives as a ReadState with this ctx. */
  readIndex(ctx: string): void {
    if (this.role === 'leader') {
      this.leaderReadIndex(ctx, '')
    } else if (this.leader !== null) {
      this.send({ type: 'ReadIndex', from: this.id, to: this.leader, term: this.term, ctx })
    } else {
      this.readStates.push({ ctx, index: -1 })
    }
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader' || to === this.id || !this.isVoter(to)) return
    if (this.transferee === to) return
    this.transferee = to
    this.electionElapsed = 0
    const pr = this.progress.get(to) as Progress
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to)
    else this.sendAppend(to)
  }

  campaign(): void {
    if (this.role === 'leader' || !this.promotable()) return
    this.startElection(this.opts.preVote ? 'precandidate' : 'candidate', false)
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.progress.get(id)
    if (this.role === 'leader' && pr !== undefined && pr.state === 'replicate') pr.becomeProbe()
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.progress.get(id)
    if (this.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return
    if (!ok) pr.pendingSnapshot = 0
    // Wait for the follower's append response before sending more (etcd does the same).
    pr.becomeProbe()
    pr.probeSent = true
  }

  // ---- Ready ----------------------------------------------------------------

  hasReady(): boolean {
    if (this.readyOutstanding) return false
    return (
      this.messagesNow.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.readRoundWanted ||
      this.log.pendingSnapshot !== null ||
      this.log.handedOutIndex < this.log.lastIndex() ||
      this.log.applying < this.log.commit ||
      !sameHardState(this.hardState(), this.persistedHardState)
    )
  }

  ready(): Ready {
    assert(!this.readyOutstanding, 'raft: ready() called before advance() of the previous Ready')
    if (this.readRoundWanted) this.startReadRound()
    const hs = this.hardState()
    const hardState = sameHardState(hs, this.persistedHardState) ? null : hs
    // A leader's messages may leave before its own log write only when its
    // term and vote are already durable; otherwise everything waits.
    const termDurable = hs.term === this.persistedHardState.term && hs.vote === this.persistedHardState.vote
    let now = this.messagesNow
    let after = this.messagesAfterPersist
    if (!termDurable) {
      after = [...now, ...after]
      now = []
    }
    const rd: Ready = {
      hardState,
      snapshot: this.log.pendingSnapshot,
      entries: this.log.unpersisted(),
      messagesNow: now,
      messagesAfterPersist: after,
      committed: this.log.pendingSnapshot === null ? this.log.nextCommitted(this.opts.applyEntriesMax) : [],
      readStates: this.readStates,
    }
    this.messagesNow = []
    this.messagesAfterPersist = []
    this.readStates = []
    this.log.pendingSnapshot = null
    this.log.handedOutIndex = this.log.lastIndex()
    const lastCommitted = rd.committed[rd.committed.length - 1]
    if (lastCommitted !== undefined) this.log.applying = lastCommitted.index
    this.readyOutstanding = true
    this.snapshotOutstanding = rd.snapshot !== null
    return rd
  }

  /** Whether interim() has anything to hand out. */
  hasInterim(): boolean {
    return (
      this.messagesNow.length > 0 ||
      this.readStates.length > 0 ||
      this.readRoundWanted ||
      (!this.snapshotOutstanding && this.log.pendingSnapshot === null && this.log.applying < Math.min(this.log.commit, this.log.lastIndex()))
    )
  }

  /**
   * What needs no persist of its own, handed out while a Ready is
   * outstanding (its fsync in flight) so the runtime need not wait for that
   * fsync: messages that ready() would put in messagesNow (a leader's
   * appends, heartbeats and read rounds — only once its term and vote are
   * durable), entries committed since (durable on a quorum already) and
   * reads that became safe. This is the leader writing its log in parallel
   * with replication (Raft thesis §10.2.1), and it lets commits and reads
   * complete during a follower's fsync. The caller applies `committed` at
   * once, in order, after every entry of earlier Readies and interims;
   * nothing here changes what advance() expects.
   */
  interim(): Interim {
    const hs = this.hardState()
    const termDurable = hs.term === this.persistedHardState.term && hs.vote === this.persistedHardState.vote
    let messages: Message[] = []
    if (termDurable) {
      if (this.readRoundWanted) this.startReadRound()
      messages = this.messagesNow
      this.messagesNow = []
    }
    // Entries after a snapshot that is still being installed cannot be applied yet.
    const committed = this.snapshotOutstanding || this.log.pendingSnapshot !== null ? [] : this.log.nextCommitted(this.opts.applyEntriesMax)
    const lastCommitted = committed[committed.length - 1]
    if (lastCommitted !== undefined) {
      this.log.applying = lastCommitted.index
      this.log.applied = Math.max(this.log.applied, lastCommitted.index)
    }
    const readStates = this.readStates
    this.readStates = []
    return { messages, committed, readStates }
  }

  advance(rd: Ready): void {
    assert(this.readyOutstanding, 'raft: advance() without an outstanding Ready')
    this.readyOutstanding = false
    this.snapshotOutstanding = false
    if (rd.hardState !== null) this.persistedHardState = rd.hardState
    if (rd.snapshot !== null) this.log.persistedIndex = Math.max(this.log.persistedIndex, rd.snapshot.index)
    this.log.markPersisted(rd.entries)
    const lastCommitted = rd.committed[rd.committed.length - 1]
    if (lastCommitted !== undefined) this.log.applied = Math.max(this.log.applied, lastCommitted.index)
    if (rd.snapshot !== null) this.log.applied = Math.max(this.log.applied, rd.snapshot.index)
    if (this.role === 'leader') {
      // Our own durable log now counts towards the quorum.
      const self = this.progress.get(this.id)
      if (self !== undefined && self.maybeUpdate(this.log.persistedIndex)) this.maybeCommitAndBroadcast()
    }
  }

  // ---- Snapshots and compaction ----------------------------------------------

  snapshotMeta(index: number): SnapshotMeta {
    assert(index <= this.log.applied, `raft: snapshot at ${index} beyond applied ${this.log.applied}`)
    return this.log.snapshotMetaAt(index)
  }

  compact(index: number): void {
    this.log.compact(index)
  }

  // ---- Status ---------------------------------------------------------------

  /** The leader this node follows (itself when leading), or null. Cheap: for per-request use. */
  leaderId(): NodeId | null {
    return this.leader
  }

  /** The configuration in effect (the latest in the log). Cheap: for per-request use. */
  config(): Config {
    return this.log.config()
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, ProgressStatus>()
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, lastContactTicks: id === this.id ? 0 : pr.lastContactTicks })
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.commit,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshot().index,
      config: this.log.config(),
      transferee: this.transferee,
      progress,
      incarnation: this.incarnation,
      droppedForOtherIncarnation: this.droppedForOtherIncarnation,
      otherIncarnationSeen: this.otherIncarnationSeen,
      droppedFromStaleIncarnation: this.droppedFromStaleIncarnation,
    }
  }

  /** The term of the entry at `index` if the log still holds it (for tests and the runtime). */
  termAt(index: number): number | undefined {
    return this.log.term(index)
  }

  // ---- Term rules -------------------------------------------------------------

  /** Returns false when the message must be dropped. */
  private stepHigherTerm(m: Message): boolean {
    const isVoteRequest = m.type === 'Vote' || m.type === 'PreVote'
    if (isVoteRequest && !m.transfer && this.inLease()) {
      // We heard from a live leader within the election timeout: a disruptive
      // candidate (a partitioned node rejoining) does not bump our term.
      return false
    }
    if (m.type === 'PreVote') return true
    if (m.type === 'PreVoteResp' && !m.reject) return true
    const leaderMessage = m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'Snapshot'
    this.becomeFollower(m.term, leaderMessage ? m.from : null)
    return true
  }

  private stepLowerTerm(m: Message): void {
    if (m.type === 'Append' || m.type === 'Heartbeat') {
      // A stale leader, or one that does not know our term went up while we
      // were cut off: answer with our term so it steps down and a new election
      // can include us (otherwise CheckQuorum + PreVote could leave us stuck).
      // Always, as Figure 2 says ("reply false if term < currentTerm"): a
      // stale leader we removed hears from nobody else and would go on
      // believing it leads.
      this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: true, index: 0, hintIndex: 0, hintTerm: 0 })
    } else if (m.type === 'PreVote') {
      this.send({ type: 'PreVoteResp', from: this.id, to: m.from, term: this.term, reject: true })
    } else if (m.type === 'ReadIndex') {
      // Asked as the leader of a term that is over: fail the read now (the
      // asker retries) rather than leave it waiting for an answer that never comes.
      this.send({ type: 'ReadIndexResp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: -1 })
    }
  }

  private stepCurrentTerm(m: Message): void {
    switch (m.type) {
      case 'Vote':
      case 'PreVote':
        this.handleVoteRequest(m)
        return
      case 'ReadIndex':
        this.handleReadIndexRequest(m)
        return
      case 'ReadIndexResp':
        // Good whatever our role now: a real index was granted by this term's leader.
        if (this.role !== 'leader') this.readStates.push({ ctx: m.ctx, index: m.index })
        return
      default:
        break
    }
    if (this.role === 'leader') this.stepLeader(m)
    else if (this.role === 'follower') this.stepFollower(m)
    else this.stepCandidate(m)
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === '' && this.leader === null) ||
      (m.type === 'PreVote' && m.term > this.term)
    // A node that knows no configuration (joining, or wiped and restarted
    // under its old id) has forgotten what it voted for and which entries
    // are committed: its vote could elect a leader missing committed entries.
    const knowsConfig = this.log.config().members.length > 0
    const grant = canVote && knowsConfig && this.log.isUpToDate(m.lastIndex, m.lastTerm)
    const respType = m.type === 'Vote' ? 'VoteResp' : 'PreVoteResp'
    if (grant) {
      // A granted PreVote answers in the term it asked about, so the
      // pre-candidate counts it without anyone's term moving.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false })
      if (m.type === 'Vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true })
    }
  }

  // ---- Follower ----------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'Append':
        this.electionElapsed = 0
        this.leader = m.from
        this.handleAppend(m)
        return
      case 'Heartbeat':
        this.electionElapsed = 0
        this.leader = m.from
        this.handleHeartbeat(m)
        return
      case 'Snapshot':
        this.electionElapsed = 0
        this.leader = m.from
        this.handleSnapshot(m)
        return
      case 'TimeoutNow':
        if (this.promotable()) this.startElection('candidate', true)
        return
      default:
        return
    }
  }

  private handleAppend(m: AppendRequest): void {
    const log = this.log
    if (m.prevIndex < log.commit) {
      this.sendAppendResp(m.from, false, log.commit)
      return
    }
    if (log.matchTerm(m.prevIndex, m.prevTerm)) {
      log.appendFromLeader(m.entries)
      const lastNew = m.prevIndex + m.entries.length
      log.commitTo(Math.min(m.commit, lastNew))
      this.sendAppendResp(m.from, false, lastNew)
      return
    }
    // Point the leader at the last index where our logs may agree (etcd's
    // findConflictByTerm), so it skips a whole term per round trip.
    const hintIndex = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex()), m.prevTerm)
    const hintTerm = log.term(hintIndex) ?? 0
    this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: true, index: m.prevIndex, hintIndex, hintTerm })
  }

  private sendAppendResp(to: NodeId, reject: boolean, index: number): void {
    this.send({ type: 'AppendResp', from: this.id, to, term: this.term, reject, index, hintIndex: 0, hintTerm: 0 })
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    // The leader never sends a commit beyond what it knows we hold.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()))
    this.send({ type: 'HeartbeatResp', from: this.id, to: m.from, term: this.term, readSeq: m.readSeq })
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const s = m.snapshot
    const log = this.log
    if (s.index <= log.commit) {
      this.sendAppendResp(m.from, false, log.commit)
      return
    }
    if (log.matchTerm(s.index, s.term)) {
      // We already hold the snapshot's last entry: just move commit forward.
      log.commitTo(s.index)
      this.sendAppendResp(m.from, false, log.commit)
      return
    }
    log.restore(s)
    this.sendAppendResp(m.from, false, s.index)
  }

  // ---- Candidates ----------------------------------------------------------------

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'Append':
      case 'Heartbeat':
      case 'Snapshot':
        // A leader exists in our term (or the pre-vote term we have not taken).
        this.becomeFollower(this.term, m.from)
        this.stepFollower(m)
        return
      case 'PreVoteResp':
      case 'VoteResp':
        this.handleVoteResponse(m)
        return
      default:
        return
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expected = this.role === 'precandidate' ? 'PreVoteResp' : 'VoteResp'
    if (m.type !== expected) return
    this.votes.set(m.from, !m.reject)
    const outcome = tallyVotes(this.voterIds(), this.votes)
    if (outcome === 'won') {
      if (this.role === 'precandidate') this.startElection('candidate', false)
      else this.becomeLeader()
    } else if (outcome === 'lost') {
      this.becomeFollower(this.term, null)
    }
  }

  private startElection(role: 'precandidate' | 'candidate', transfer: boolean): void {
    this.role = role
    this.leader = null
    this.votes.clear()
    this.resetElectionTimer()
    const campaignTerm = this.term + 1
    if (role === 'candidate') {
      this.term = campaignTerm
      this.vote = this.id
    }
    this.votes.set(this.id, true)
    if (tallyVotes(this.voterIds(), this.votes) === 'won') {
      if (role === 'precandidate') this.startElection('candidate', transfer)
      else this.becomeLeader()
      return
    }
    const type = role === 'precandidate' ? 'PreVote' : 'Vote'
    for (const id of this.voterIds()) {
      if (id === this.id) continue
      this.send({ type, from: this.id, to: id, term: campaignTerm, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer })
    }
  }

  // ---- Leader ----------------------------------------------------------------------

  private becomeLeader(): void {
    assert(this.role === 'candidate', `raft: becomeLeader from ${this.role}`)
    const listed = this.log.config().members.find((mm) => mm.id === this.id)
    assert(listed === undefined || this.isMe(listed), `raft: ${this.id} (incarnation ${this.incarnation}) elected while its config lists incarnation ${listed?.incarnation ?? ''}`)
    this.role = 'leader'
    this.leader = this.id
    this.transferee = null
    this.heartbeatElapsed = 0
    this.electionElapsed = 0
    this.progress.clear()
    this.syncProgress()
    for (const pr of this.progress.values()) pr.recentActive = true
    // A no-op of our own term lets us commit everything before it (§5.4.2)
    // and confirms the commit index that ReadIndex relies on.
    this.appendAsLeader([{ index: this.log.lastIndex() + 1, term: this.term, kind: 'noop' }])
  }

  /** Creates progress for new members and drops it for removed ones. */
  private syncProgress(): void {
    const members = this.log.config().members
    const ids = new Set(members.map((mm) => mm.id))
    for (const id of [...this.progress.keys()]) if (!ids.has(id)) this.progress.delete(id)
    for (const mm of members) {
      if (this.progress.has(mm.id)) continue
      const pr = new Progress(this.log.lastIndex() + 1, this.opts.inflightAppendsMax)
      if (mm.id === this.id) {
        pr.match = this.log.persistedIndex
        pr.becomeReplicate()
        pr.match = this.log.persistedIndex
      }
      pr.recentActive = true
      this.progress.set(mm.id, pr)
    }
    if (this.transferee !== null && !this.isVoter(this.transferee)) this.transferee = null
  }

  private appendAsLeader(entries: Entry[]): void {
    this.log.append(entries)
    if (entries.some((e) => e.kind === 'config')) this.syncProgress()
    this.maybeCommitAndBroadcast()
    this.broadcastAppend()
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.opts.electionTimeoutTicks) {
      this.electionElapsed = 0
      if (this.opts.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null)
        return
      }
      if (this.transferee !== null) this.transferee = null
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat(this.readSeq)
    }
  }

  /** CheckQuorum: did a quorum of voters talk to us since the last check? */
  private quorumActive(): boolean {
    const voters = this.voterIds()
    let active = 0
    for (const id of voters) {
      const pr = this.progress.get(id)
      if (id === this.id || pr?.recentActive === true) active++
      if (pr !== undefined && id !== this.id) pr.recentActive = false
    }
    return voters.length > 0 && active >= quorumSize(voters.length)
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from)
    if (pr === undefined) return
    switch (m.type) {
      case 'AppendResp':
        pr.recentActive = true
        pr.lastContactTicks = 0
        this.handleAppendResponse(m, pr)
        return
      case 'HeartbeatResp':
        pr.recentActive = true
        pr.lastContactTicks = 0
        this.handleHeartbeatResponse(m, pr)
        return
      default:
        return
    }
  }

  private handleAppendResponse(m: AppendResponse, pr: Progress): void {
    if (m.reject) {
      const hint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex
      if (pr.maybeDecrease(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from)
      }
      return
    }
    const wasPaused = pr.paused()
    const updated = pr.maybeUpdate(m.index)
    // A probe acked at the match we already knew (after a snapshot, or with
    // nothing missing) also proves where the logs agree: replicate from there.
    // Otherwise the leader would probe again on every ack, forever.
    if (updated || (pr.state === 'probe' && pr.match === m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate()
      else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe()
      pr.inflights.freeTo(m.index)
      if (!this.maybeCommitAndBroadcast()) this.sendAppendsWhileOpen(m.from)
      if (pr.commitWanted > pr.commitSent && pr.match >= pr.commitWanted) this.sendCommit(m.from, pr)
      if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from)
    } else if (wasPaused) {
      this.sendAppendsWhileOpen(m.from)
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse, pr: Progress): void {
    pr.probeSent = false
    if (pr.match < this.log.lastIndex()) {
      // In replicate state a lost append (nothing new left to send) or lost
      // acks (a window that never drains) would stall this follower for good.
      // §5.3: the leader retries until the follower stores every entry. An
      // append at next-1, empty if need be, makes the follower either ack what
      // it holds or reject, which sends us back to probing (etcd does the same).
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne()
      this.sendAppend(m.from, true)
    }
    if (m.readSeq > pr.readSeqAcked) {
      pr.readSeqAcked = m.readSeq
      this.releaseReads()
    }
  }

  /**
   * Commits the highest index a quorum of voters holds — but only when that
   * entry is of the current term (§5.4.2). Protected so a test can build the
   * deliberately broken variant and see the simulator catch it.
   */
  protected maybeCommit(): boolean {
    const matches = this.voterIds().map((id) => (this.progress.get(id) as Progress).match)
    const q = quorumValue(matches)
    if (q <= this.log.commit || this.log.term(q) !== this.term) return false
    return this.log.commitTo(q)
  }

  /** On commit: broadcast the new commit index, answer waiting reads, finish removals. */
  private maybeCommitAndBroadcast(): boolean {
    const configPending = this.log.uncommittedConfigIndex() !== 0
    if (!this.maybeCommit()) return false
    if (this.readsAwaitingCommit.length > 0 && this.log.term(this.log.commit) === this.term) {
      const waiting = this.readsAwaitingCommit
      this.readsAwaitingCommit = []
      for (const r of waiting) this.leaderReadIndex(r.ctx, r.from)
    }
    if (!this.isVoter(this.id) && this.log.uncommittedConfigIndex() === 0) {
      // Our own removal (or demotion) is committed: stop leading (thesis
      // §4.2.2) — after telling the others it committed, so that they apply
      // it now rather than after electing our successor.
      this.broadcastAppend(true)
      this.becomeFollower(this.term, null)
      return true
    }
    // The new commit index rides on the next append or heartbeat instead of
    // an empty append of its own: under steady writes the next batch follows
    // within a turn, and an empty append (and its ack) per commit doubled
    // the messages per write. A follower that serves a read is sent the
    // commit with the read's answer (answerRead), so follower reads do not
    // wait for the heartbeat. A membership change that just committed is
    // still told at once: it is rare, and who may campaign and whom a node
    // hears depend on whether it committed.
    this.broadcastAppend(configPending && this.log.uncommittedConfigIndex() === 0)
    return true
  }

  private broadcastAppend(commitAdvanced = false): void {
    for (const id of this.progress.keys()) {
      if (id === this.id) continue
      if (!this.sendAppendsWhileOpen(id) && commitAdvanced) this.sendAppend(id, true)
    }
  }

  private broadcastHeartbeat(readSeq: number): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue
      this.sendHeartbeat(id, pr, readSeq)
    }
  }

  /** Tells one follower the commit index now: an append (empty if need be), or a heartbeat while appends are paused. */
  private sendCommit(to: NodeId, pr: Progress): void {
    if (!this.sendAppend(to, true)) this.sendHeartbeat(to, pr, this.readSeq)
  }

  private sendHeartbeat(to: NodeId, pr: Progress, readSeq: number): void {
    // The leader never sends a commit beyond what it knows the follower holds.
    const commit = Math.min(pr.match, this.log.commit)
    if (commit > pr.commitSent) pr.commitSent = commit
    this.send({ type: 'Heartbeat', from: this.id, to, term: this.term, commit, readSeq })
  }

  /** Returns whether anything was sent. */
  private sendAppendsWhileOpen(to: NodeId): boolean {
    const pr = this.progress.get(to) as Progress
    let sent = false
    // Bounded: every iteration fills an inflight slot or stops.
    while (!pr.paused() && this.sendAppend(to)) {
      sent = true
      if (pr.state !== 'replicate') break
    }
    return sent
  }

  /** Sends one append (or a snapshot); returns false when nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty = false): boolean {
    const pr = this.progress.get(to) as Progress
    if (pr.paused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.log.term(prevIndex)
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr)
    const entries = pr.next <= this.log.lastIndex() ? this.log.slice(pr.next, this.log.lastIndex() + 1, this.opts.appendEntriesMax, this.opts.appendBytesMax) : []
    if (entries.length === 0 && pr.state === 'replicate' && !sendIfEmpty) return false
    this.send({ type: 'Append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.commit })
    const known = Math.min(this.log.commit, prevIndex + entries.length)
    if (known > pr.commitSent) pr.commitSent = known
    const last = entries[entries.length - 1]
    if (pr.state === 'replicate' && last !== undefined) {
      pr.next = last.index + 1
      pr.inflights.add(last.index)
    } else if (pr.state === 'probe') {
      pr.probeSent = true
    }
    return true
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot = this.log.snapshot()
    assert(snapshot.index > 0, `raft: follower ${to} needs index ${pr.next} but no snapshot exists`)
    pr.becomeSnapshot(snapshot.index)
    this.send({ type: 'Snapshot', from: this.id, to, term: this.term, snapshot })
    return true
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'TimeoutNow', from: this.id, to, term: this.term })
  }

  // ---- ReadIndex ----------------------------------------------------------------

  private handleReadIndexRequest(m: ReadIndexRequest): void {
    if (this.role === 'leader') this.leaderReadIndex(m.ctx, m.from)
    else {
      // Not the leader (any more, or not yet): tell the asker to retry.
      this.send({ type: 'ReadIndexResp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: -1 })
    }
  }

  private leaderReadIndex(ctx: string, from: NodeId): void {
    if (this.pendingReads.length + this.readsAwaitingCommit.length >= this.opts.pendingReadsMax) {
      this.answerRead(ctx, from, -1)
      return
    }
    if (this.log.term(this.log.commit) !== this.term) {
      // Until our no-op commits we do not know the cluster's commit index.
      this.readsAwaitingCommit.push({ ctx, from })
      return
    }
    if (this.voterIds().length === 1 && this.isVoter(this.id)) {
      this.answerRead(ctx, from, this.log.commit)
      return
    }
    this.pendingReads.push({ ctx, from, index: this.log.commit, seq: this.readSeq + 1 })
    this.readRoundWanted = true
  }

  /** One heartbeat round confirms leadership for every read queued since the last one. */
  private startReadRound(): void {
    this.readRoundWanted = false
    if (this.role !== 'leader') return
    this.readSeq++
    const self = this.progress.get(this.id)
    if (self !== undefined) self.readSeqAcked = this.readSeq
    this.broadcastHeartbeat(this.readSeq)
    this.releaseReads()
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0) return
    const acked = this.voterIds().map((id) => (id === this.id ? this.readSeq : (this.progress.get(id)?.readSeqAcked ?? 0)))
    const confirmedSeq = quorumValue(acked)
    let n = 0
    while (n < this.pendingReads.length && (this.pendingReads[n] as PendingRead).seq <= confirmedSeq) {
      const r = this.pendingReads[n] as PendingRead
      this.answerRead(r.ctx, r.from, r.index)
      n++
    }
    if (n > 0) this.pendingReads.splice(0, n)
  }

  private answerRead(ctx: string, from: NodeId, index: number): void {
    if (from === '' || from === this.id) {
      this.readStates.push({ ctx, index })
      return
    }
    // The follower serves the read once it has applied `index`: make sure the
    // commit index it needs is on its way (commits are not broadcast on
    // their own, see maybeCommitAndBroadcast). Sent before the answer, on
    // the same ordered connection.
    const pr = this.progress.get(from)
    if (index > 0 && pr !== undefined && pr.commitSent < index) {
      if (pr.match >= index) this.sendCommit(from, pr)
      else if (index > pr.commitWanted) pr.commitWanted = index // sent once it acks the entries (handleAppendResponse)
    }
    this.send({ type: 'ReadIndexResp', from: this.id, to: from, term: this.term, ctx, index })
  }

  private failPendingReads(): void {
    for (const r of this.pendingReads) this.answerRead(r.ctx, r.from, -1)
    for (const r of this.readsAwaitingCommit) this.answerRead(r.ctx, r.from, -1)
    this.pendingReads = []
    this.readsAwaitingCommit = []
    this.readRoundWanted = false
  }

  // ---- Shared ----------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.startElection(this.opts.preVote ? 'precandidate' : 'candidate', false)
    }
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    if (this.role === 'leader') this.failPendingReads()
    if (term > this.term) {
      this.term = term
      this.vote = ''
    }
    this.role = 'follower'
    this.leader = leader
    this.transferee = null
    this.votes.clear()
    this.resetElectionTimer()
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0
    const e = this.opts.electionTimeoutTicks
    this.randomizedElectionTimeout = e + this.opts.random(e)
  }

  private inLease(): boolean {
    return this.opts.checkQuorum && this.leader !== null && this.electionElapsed < this.opts.electionTimeoutTicks
  }

  private refuseProposal(): ProposeResult | null {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader }
    if (this.transferee !== null) return { ok: false, reason: 'transferring', leader: this.id }
    if (this.log.lastIndex() - this.log.commit >= this.opts.uncommittedEntriesMax) return { ok: false, reason: 'busy', leader: this.id }
    return null
  }

  private promotable(): boolean {
    if (this.isVoter(this.id)) return true
    // A node whose own removal is not committed yet may be the only one able
    // to commit it (a two-voter leader that removed itself and was cut off:
    // the other voter still needs its vote). It campaigns under its latest
    // configuration, leads without being a member, and steps down once the
    // change commits, as thesis §4.2.2 describes for such a leader.
    const pending = this.log.uncommittedConfigIndex()
    return pending !== 0 && this.log.configAt(pending - 1).members.some((mm) => mm.role === 'voter' && this.isMe(mm))
  }

  /**
   * Whether `id` is a voter. For our own id the incarnation must match too: a
   * wiped node replaying a log that lists its previous incarnation as a voter
   * is not that voter (it forgot its votes), so it must not campaign or count itself.
   */
  private isVoter(id: NodeId): boolean {
    return this.log.config().members.some((mm) => mm.id === id && mm.role === 'voter' && (id !== this.id || this.isMe(mm)))
  }

  private voterIds(): NodeId[] {
    return this.log.config().members.filter((mm) => mm.role === 'voter').map((mm) => mm.id)
  }

  /** Whether a config entry for our id names this incarnation of us ('' on either side: unknown, so yes). */
  private isMe(mm: Member): boolean {
    return mm.id === this.id && sameIncarnation(mm.incarnation ?? '', this.incarnation)
  }

  /** The incarnation our configuration lists for `id` ('' when unknown or not a member). Per message: cached per config. */
  protected incarnationOf(id: NodeId): Incarnation {
    const config = this.log.config()
    if (config !== this.incarnationsConfig) {
      this.incarnationsConfig = config
      this.incarnations.clear()
      for (const mm of config.members) if (mm.incarnation !== undefined && mm.incarnation !== '') this.incarnations.set(mm.id, mm.incarnation)
    }
    return this.incarnations.get(id) ?? ''
  }

  /**
   * Drops a message stamped for another incarnation of this node (a sender
   * whose log still lists the one before a wipe, or already lists the one
   * after), and one from an incarnation of its sender that our configuration
   * does not list. Either way the two nodes' logs disagree about who the
   * member is, and a vote or ack between them could elect a leader missing
   * committed entries or commit an entry on a quorum that does not hold it.
   * The sender's config catches up (or it is replaced); nothing is lost by waiting.
   * Protected so the simulator can build the variant without it and see it fail.
   */
  protected stampsMatch(m: Message): boolean {
    const to = m.toIncarnation ?? ''
    if (!sameIncarnation(to, this.incarnation)) {
      this.droppedForOtherIncarnation++
      this.otherIncarnationSeen = { from: m.from, incarnation: to }
      return false
    }
    if (!sameIncarnation(m.fromIncarnation ?? '', this.incarnationOf(m.from)) && !this.addressedByNewerConfig(m)) {
      this.droppedFromStaleIncarnation++
      return false
    }
    return true
  }

  /**
   * A leader message stamped for exactly this incarnation of us is followed
   * even when our configuration lists another incarnation of its sender
   * (issue 21). The sender's configuration names our current incarnation, so
   * its log holds the entry that added us; ours is the older log, replaying
   * entries from before the sender itself was replaced, and only replication
   * from it can bring us past them. Refusing it left a node that rejoined
   * through a replaced leader stuck for good at the first entry naming that
   * leader's previous incarnation.
   *
   * Why this gives back none of the safety the stamps exist for: a receiver
   * of Append, Heartbeat or Snapshot only stores what it is sent and reports
   * what it durably holds. It promises nothing on behalf of anyone's earlier
   * incarnation, and its report is counted only by a leader whose
   * configuration lists this incarnation of it (the to-stamp proves the
   * sender's does; the leader checks our reply's from-stamp against its own
   * configuration). Term rules still apply first: a stale leader's lower term
   * is answered with ours. Votes are untouched: a vote request or a vote
   * still needs both stamps to match the receiver's configuration, so a
   * wiped node's vote is never counted as its predecessor's, and a wiped
   * node never votes for a member its log lists under another incarnation.
   * Protected so the simulator can build the variant without it and see it fail.
   */
  protected addressedByNewerConfig(m: Message): boolean {
    return fromLeader(m) && this.incarnation !== '' && m.toIncarnation === this.incarnation
  }

  /**
   * Messages from outside the configuration change nothing (a removed node, a
   * stranger). A node that knows no configuration yet (joining) accepts all.
   * Leader messages are the exception (see fromLeader).
   */
  private fromKnownMember(from: NodeId): boolean {
    const members = this.log.config().members
    if (members.length === 0 || members.some((mm) => mm.id === from)) return true
    // A member that an uncommitted change removes is still a member wherever
    // that change is not in the log (it may yet be overwritten), and may be
    // the only candidate some quorum can elect (see promotable()): two
    // conflicting removals, each in some logs, must not leave every
    // candidate ignored by a voter it needs (simulator seed 3048).
    const pending = this.log.uncommittedConfigIndex()
    return pending !== 0 && this.log.configAt(pending - 1).members.some((mm) => mm.id === from)
  }

  /**
   * A leader message from outside our configuration is only taken from the
   * leader we already follow (one that removed itself leads until that
   * commits) or when we have no live leader of our own (not leading, lease
   * run out): the lagging follower fromLeader() is for. A stranger's higher
   * term cannot depose a healthy cluster.
   */
  private mayFollowStranger(from: NodeId): boolean {
    if (this.role === 'leader') return false
    return this.leader === from || !this.inLease()
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.commit }
  }

  /**
   * The incarnation a message to `to` is stamped for: the one our
   * configuration lists, except for the leader we follow in this term, whose
   * own stamp wins (our log may still list its previous incarnation; see
   * addressedByNewerConfig). Acks and ReadIndex requests then reach it.
   */
  protected receiverIncarnation(to: NodeId): Incarnation {
    if (to === this.leader && this.leaderStampFrom === to && this.leaderStampTerm === this.term && this.leaderStampIncarnation !== '') {
      return this.leaderStampIncarnation
    }
    return this.incarnationOf(to)
  }

  /**
   * Records the stamp of an accepted leader message. Three plain fields,
   * written only when they change: this runs for every Append and Heartbeat
   * a follower accepts, and an object per message was garbage for nothing.
   */
  private noteLeaderStamp(m: Message): void {
    const incarnation = m.fromIncarnation ?? ''
    if (this.leaderStampFrom !== m.from) this.leaderStampFrom = m.from
    if (this.leaderStampTerm !== m.term) this.leaderStampTerm = m.term
    if (this.leaderStampIncarnation !== incarnation) this.leaderStampIncarnation = incarnation
  }

  /** Queues `m`, stamped with our incarnation and the one the receiver goes by (see receiverIncarnation). */
  private send(unstamped: UnstampedMessage): void {
    // Unstamped<Message> spread back with both stamps is a Message; TypeScript cannot see through the distributive Omit.
    const m = { ...unstamped, fromIncarnation: this.incarnation, toIncarnation: this.receiverIncarnation(unstamped.to) } as Outgoing
    if (this.role === 'leader') this.messagesNow.push(m)
    else this.messagesAfterPersist.push(m)
  }
}

/** The configuration after one change, or a reason it is invalid. */
export function applyConfChange(config: Config, cc: ConfChange): Config | string {
  const members = config.members
  const existing = members.find((mm) => mm.id === cc.id)
  switch (cc.op) {
    case 'addLearner': {
      if (existing !== undefined) return `node ${cc.id} is already a member`
      const incarnation = cc.incarnation ?? ''
      return { members: [...members, { id: cc.id, addr: cc.addr, role: 'learner', ...(incarnation === '' ? {} : { incarnation }) }] }
    }
    case 'promote':
      if (existing === undefined) return `node ${cc.id} is not a member`
      if (existing.role === 'voter') return `node ${cc.id} is already a voter`
      return { members: members.map((mm) => (mm.id === cc.id ? { ...mm, role: 'voter' as const } : mm)) }
    case 'remove': {
      if (existing === undefined) return `node ${cc.id} is not a member`
      const rest = members.filter((mm) => mm.id !== cc.id)
      if (!rest.some((mm) => mm.role === 'voter')) return 'cannot remove the last voter'
      return { members: rest }
    }
    default:
      return unreachable(cc, 'conf change')
  }
}

/**
 * Append, Heartbeat and Snapshot are accepted from a sender outside our
 * configuration: a follower that was away while a member was added (and then
 * elected) does not know its new leader until that leader's entries reach it,
 * and would otherwise never catch up. This cannot let a removed node disrupt
 * anyone: a leader was elected by a quorum; a stale one sends a lower term,
 * which is answered with ours and makes it step down.
 */
function fromLeader(m: Message): boolean {
  return m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'Snapshot'
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
