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
//
// This file is the API (etcd's rawnode.go): inputs, proposals, the Ready
// batch and status. The algorithm is in raft.ts and the files it names.
import { assert } from '../util/assert.js'
import { applyConfChange } from './conf-change.js'
import { Raft, type RaftOptions } from './raft.js'
import { readIndex, startReadRound } from './read-only.js'
import { startElection } from './step-candidate.js'
import { appendAsLeader, maybeCommitAndBroadcast, sendAppend, sendTimeoutNow } from './step-leader.js'
import { normalEntryData, type ConfChange, type Config, type Entry, type HardState, type Incarnation, type InitialState, type Member, type Message, type NodeId, type ReadState, type Ready, type Role, type SnapshotMeta } from './types.js'

export { applyConfChange } from './conf-change.js'
export { raftDefaults, type RaftOptions } from './raft.js'
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
  /** The index of a configuration entry in the log not yet committed (the config above is already in force), or 0. */
  readonly pendingConfigIndex: number
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

/** See RaftNode.interim(). */
export interface Interim {
  readonly messages: readonly Message[]
  readonly committed: readonly Entry[]
  readonly readStates: readonly ReadState[]
}

/** Builds the algorithm a RaftNode drives; the simulator passes deliberately broken variants. */
export type RaftFactory = (options: RaftOptions, initial: InitialState) => Raft

export class RaftNode {
  readonly id: NodeId
  readonly incarnation: Incarnation
  private readonly r: Raft

  private persistedHardState: HardState
  private readyOutstanding = false
  /** The outstanding Ready installs a snapshot: interim() applies nothing until it is advanced. */
  private snapshotOutstanding = false

  constructor(options: RaftOptions, initial: InitialState, factory: RaftFactory = (o, i) => new Raft(o, i)) {
    this.r = factory(options, initial)
    this.id = this.r.id
    this.incarnation = this.r.incarnation
    this.persistedHardState = this.r.hardState()
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
    this.r.tick()
  }

  step(m: Message): void {
    this.r.step(m)
  }

  /**
   * The cluster clock (ms since the epoch) to stamp on messages from now on,
   * as MessageBase.clockMs. The core only copies it: time stays the
   * runtime's business (lib/replica/leader-clock.ts).
   */
  setClockStamp(clockMs: number): void {
    this.r.clockStampMs = clockMs
  }

  propose(data: Buffer): ProposeResult {
    const refused = this.refuseProposal()
    if (refused !== null) return refused
    const r = this.r
    const index = r.log.lastIndex() + 1
    appendAsLeader(r, [{ index, term: r.term, kind: 'normal', data }])
    return { ok: true, index, term: r.term }
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
    const r = this.r
    const first = r.log.lastIndex() + 1
    const entries: Entry[] = data.map((d, i) => ({ index: first + i, term: r.term, kind: 'normal', data: d }))
    if (entries.length > 0) appendAsLeader(r, entries)
    return { ok: true, index: first, term: r.term }
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    const refused = this.refuseProposal()
    if (refused !== null) return refused
    const r = this.r
    if (r.log.uncommittedConfigIndex() !== 0 || r.log.term(r.log.commit) !== r.term) {
      // One change at a time, and only after this leader committed an entry of
      // its own term (the fix for single-server changes from Ongaro's 2015 note).
      return { ok: false, reason: 'confChangePending', leader: r.id }
    }
    const next = applyConfChange(r.log.config(), cc)
    if (typeof next === 'string') return { ok: false, reason: 'invalid', leader: r.id, detail: next }
    if (cc.op === 'promote' && (r.progress.get(cc.id)?.match ?? 0) < r.log.commit) {
      // A voter that does not hold the committed log yet could be needed for
      // a quorum it cannot help form (it grants no votes while it knows no
      // configuration): promote only learners that have caught up.
      return { ok: false, reason: 'learnerBehind', leader: r.id, detail: `learner ${cc.id} has not caught up with the commit index yet` }
    }
    const index = r.log.lastIndex() + 1
    appendAsLeader(r, [{ index, term: r.term, kind: 'config', config: next }])
    return { ok: true, index, term: r.term }
  }

  /** Asks for a safe read index; the answer arrives as a ReadState with this ctx. */
  readIndex(ctx: string): void {
    readIndex(this.r, ctx)
  }

  transferLeadership(to: NodeId): void {
    const r = this.r
    if (r.role !== 'leader' || to === r.id || !r.isVoter(to)) return
    if (r.transferee === to) return
    r.transferee = to
    r.electionElapsed = 0
    const pr = r.progress.get(to)
    assert(pr !== undefined, `raft: no progress for voter ${to}`)
    if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to)
    else sendAppend(r, to)
  }

  campaign(): void {
    const r = this.r
    if (r.role === 'leader' || !r.promotable()) return
    startElection(r, r.opts.preVote ? 'precandidate' : 'candidate', false)
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.r.progress.get(id)
    if (this.r.role === 'leader' && pr !== undefined && pr.state === 'replicate') pr.becomeProbe()
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.r.progress.get(id)
    if (this.r.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return
    if (!ok) pr.snapshotIndexSent = 0
    // Wait for the follower's append response before sending more (etcd does the same).
    pr.becomeProbe()
    pr.probeSent = true
  }

  private refuseProposal(): ProposeResult | null {
    const r = this.r
    if (r.role !== 'leader') return { ok: false, reason: 'notLeader', leader: r.leader }
    if (r.transferee !== null) return { ok: false, reason: 'transferring', leader: r.id }
    if (r.log.lastIndex() - r.log.commit >= r.opts.uncommittedEntriesMax) return { ok: false, reason: 'busy', leader: r.id }
    return null
  }

  // ---- Ready ----------------------------------------------------------------

  hasReady(): boolean {
    if (this.readyOutstanding) return false
    const r = this.r
    return (
      r.messagesNow.length > 0 ||
      r.messagesAfterPersist.length > 0 ||
      r.reads.hasStates() ||
      r.reads.roundWanted ||
      r.log.hasReceivedSnapshot() ||
      r.log.hasUnhandedEntries() ||
      r.log.applying < r.log.commit ||
      !sameHardState(r.hardState(), this.persistedHardState)
    )
  }

  ready(): Ready {
    assert(!this.readyOutstanding, 'raft: ready() called before advance() of the previous Ready')
    const r = this.r
    if (r.reads.roundWanted) startReadRound(r)
    const hs = r.hardState()
    const hardState = sameHardState(hs, this.persistedHardState) ? null : hs
    let now = r.messagesNow
    let after = r.messagesAfterPersist
    // A leader's messages may leave before its own log write only when its
    // term and vote are already durable; otherwise everything waits.
    if (!this.termDurable(hs)) {
      after = [...now, ...after]
      now = []
    }
    const snapshot = r.log.takeReceivedSnapshot()
    const rd: Ready = {
      hardState,
      snapshot,
      entries: r.log.handOutUnpersisted(),
      messagesNow: now,
      messagesAfterPersist: after,
      committed: snapshot === null ? r.log.handOutCommitted(r.opts.applyEntriesMax) : [],
      readStates: r.reads.takeStates(),
    }
    r.messagesNow = []
    r.messagesAfterPersist = []
    this.readyOutstanding = true
    this.snapshotOutstanding = snapshot !== null
    return rd
  }

  /** Whether interim() has anything to hand out. */
  hasInterim(): boolean {
    const r = this.r
    return (
      r.messagesNow.length > 0 ||
      r.reads.hasStates() ||
      r.reads.roundWanted ||
      (!this.snapshotOutstanding && !r.log.hasReceivedSnapshot() && r.log.hasUnhandedCommitted())
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
   * nothing here changes what advance() expects. Entries' data are valid
   * until the next advance(), as a Ready's are.
   */
  interim(): Interim {
    const r = this.r
    let messages: Message[] = []
    if (this.termDurable(r.hardState())) {
      if (r.reads.roundWanted) startReadRound(r)
      messages = r.messagesNow
      r.messagesNow = []
    }
    // Entries after a snapshot that is still being installed cannot be applied yet.
    const committed = this.snapshotOutstanding || r.log.hasReceivedSnapshot() ? [] : r.log.handOutCommitted(r.opts.applyEntriesMax)
    // Checked, not read at index -1 of an empty list: V8 looks that up as a
    // property name through its megamorphic path, ~50 ns a read (session 33).
    const lastCommitted = committed.length > 0 ? committed[committed.length - 1] : undefined
    if (lastCommitted !== undefined) r.log.appliedTo(lastCommitted.index)
    return { messages, committed, readStates: r.reads.takeStates() }
  }

  advance(rd: Ready): void {
    assert(this.readyOutstanding, 'raft: advance() without an outstanding Ready')
    const r = this.r
    this.readyOutstanding = false
    this.snapshotOutstanding = false
    if (rd.hardState !== null) this.persistedHardState = rd.hardState
    if (rd.snapshot !== null) r.log.markSnapshotPersisted(rd.snapshot.index)
    r.log.markPersisted(rd.entries)
    const lastCommitted = rd.committed.length > 0 ? rd.committed[rd.committed.length - 1] : undefined
    if (lastCommitted !== undefined) r.log.appliedTo(lastCommitted.index)
    if (rd.snapshot !== null) r.log.appliedTo(rd.snapshot.index)
    // The Ready and every interim output before it are consumed: slabs released until now may be reused.
    r.log.recycleReleasedData()
    if (r.role === 'leader') {
      // Our own durable log now counts towards the quorum.
      const self = r.progress.get(r.id)
      if (self !== undefined && self.maybeUpdate(r.log.persistedIndex)) maybeCommitAndBroadcast(r)
    }
  }

  /** Whether the term and vote in `hs` are the durable ones (a leader's messages may then leave before its log write). */
  private termDurable(hs: HardState): boolean {
    return hs.term === this.persistedHardState.term && hs.vote === this.persistedHardState.vote
  }

  // ---- Snapshots and compaction ----------------------------------------------

  snapshotMeta(index: number): SnapshotMeta {
    assert(index <= this.r.log.applied, `raft: snapshot at ${index} beyond applied ${this.r.log.applied}`)
    return this.r.log.snapshotMetaAt(index)
  }

  compact(index: number): void {
    this.r.log.compact(index)
  }

  /**
   * The data of the committed normal entry at `index` (in memory, or read
   * back through the entry source); null when it is not committed or not a
   * normal entry, undefined when a snapshot compacted it. The watch history
   * reads a SET's key and value back from here rather than keeping a copy.
   */
  committedEntryData(index: number): Buffer | null | undefined {
    const log = this.r.log
    if (index <= log.snapshot().index) return undefined
    if (index > log.commit) return null
    return normalEntryData(log.slice(index, index + 1)[0], index)
  }

  // ---- Status ---------------------------------------------------------------

  /** The leader this node follows (itself when leading), or null. Cheap: for per-request use. */
  leaderId(): NodeId | null {
    return this.r.leader
  }

  /** The configuration in effect (the latest in the log). Cheap: for per-request use. */
  config(): Config {
    return this.r.log.config()
  }

  status(): RaftStatus {
    const r = this.r
    const progress = new Map<NodeId, ProgressStatus>()
    if (r.role === 'leader') {
      for (const [id, pr] of r.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, lastContactTicks: id === r.id ? 0 : pr.lastContactTicks })
      }
    }
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leader: r.leader,
      commit: r.log.commit,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      snapshotIndex: r.log.snapshot().index,
      config: r.log.config(),
      pendingConfigIndex: r.log.uncommittedConfigIndex(),
      transferee: r.transferee,
      progress,
      incarnation: r.incarnation,
      droppedForOtherIncarnation: r.stamps.droppedForOtherIncarnation,
      otherIncarnationSeen: r.stamps.otherIncarnationSeen,
      droppedFromStaleIncarnation: r.stamps.droppedFromStaleIncarnation,
    }
  }

  /** Lets the log's spare data slabs go, for the garbage collector to free (a node at rest). */
  dropSpareLogSlabs(): void {
    this.r.log.dropSpareSlabs()
  }

  /** The term of the entry at `index` if the log still holds it (for tests and the runtime). */
  termAt(index: number): number | undefined {
    return this.r.log.term(index)
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
