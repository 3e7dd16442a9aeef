// The Raft algorithm's state and the rules every role shares (etcd's
// raft.go): terms, votes, elections' timers, who counts as a member, and
// stamping outgoing messages. What each role does with a message of the
// current term lives in step-leader.ts, step-candidate.ts and
// step-follower.ts; ReadIndex in read-only.ts; the Ready batch and the public
// API in raw-node.ts, the only file outside this folder should import.
//
// The fields are shared with those files, as etcd's raft struct is within its
// package: nothing outside lib/raft reaches them (RaftNode keeps its Raft
// private). The log guards its own positions (raft-log.ts).
import { assert } from '../util/assert.js'
import { isVoterIn, namesSelf, voterIdsOf } from './conf-change.js'
import { IncarnationStamps } from './incarnations.js'
import type { Progress } from './progress.js'
import { QuorumScratch } from './quorum.js'
import { RaftLog } from './raft-log.js'
import { failPendingReads, handleReadIndexRequest, ReadOnly } from './read-only.js'
import { startElection, stepCandidate } from './step-candidate.js'
import { stepFollower } from './step-follower.js'
import { stepLeader, tickLeader } from './step-leader.js'
import type { Config, EntrySource, HardState, Incarnation, InitialState, Member, Message, NodeId, RandomInt, Role, VoteRequest } from './types.js'
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
  /** Entry data in flight to one follower at most (beyond one append); see Inflights. */
  readonly inflightBytesMax?: number
  /** Proposals are refused ('busy') while this many entries wait to commit. */
  readonly uncommittedEntriesMax?: number
  /** Reads waiting for a leader's first commit in its term, or for a quorum round. */
  readonly pendingReadsMax?: number
  /** Committed entries handed out per Ready at most. */
  readonly applyEntriesMax?: number
  /**
   * Bytes of entry data the log holds in memory before it releases that of
   * applied, durable entries (LOG_CACHE_BYTES; see raft-log.ts); only with an
   * `entrySource` to read them back from. Infinity: nothing is released.
   */
  readonly logCacheBytes?: number
  /** Where released entries are read back from (storage's log file); null: none, nothing is released. */
  readonly entrySource?: EntrySource | null
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
  // bench/README section 34: an emptied follower at 1M keys caught up in
  // 9.8-11.8 s with 256 appends of ~77 KB in flight, 6.0-6.7 s with 4-64.
  inflightBytesMax: 4 * 1024 * 1024,
  uncommittedEntriesMax: 65536,
  pendingReadsMax: 65536,
  applyEntriesMax: 4096,
  logCacheBytes: Infinity,
  entrySource: null as EntrySource | null,
})

/** The fields send() writes into the caller's fresh literal: the incarnation stamps and the clock. */
type StampField = 'fromIncarnation' | 'toIncarnation' | 'clockMs'
type Stamps = { -readonly [K in StampField]?: Message[K] }

/** A message as the algorithm builds it, without the stamps. */
type Unstamped<M> = M extends Message ? Omit<M, StampField> : never
export type UnstampedMessage = Unstamped<Message>

export class Raft {
  readonly id: NodeId
  readonly incarnation: Incarnation
  readonly opts: Required<Omit<RaftOptions, 'id'>>
  readonly log: RaftLog

  term: number
  vote: NodeId
  role: Role = 'follower'
  leader: NodeId | null = null

  electionElapsed = 0
  heartbeatElapsed = 0
  randomizedElectionTimeout = 0

  /** The leader's view of every member, itself included (empty unless leading). */
  readonly progress = new Map<NodeId, Progress>()
  readonly votes = new Map<NodeId, boolean>()
  transferee: NodeId | null = null

  readonly reads: ReadOnly
  readonly stamps = new IncarnationStamps()

  /** Reused by every commit and read-round count (see QuorumScratch). */
  readonly quorum = new QuorumScratch()
  /** voterIds() of the config object it was computed for: configs are immutable, so identity says when it is stale. */
  private voterIdsConfig: Config | null = null
  private voterIdsCached: readonly NodeId[] = []

  /** Copied into every message sent (see MessageBase.clockMs); 0: none given. */
  clockStampMs = 0

  /** Messages that need nothing durable first (a leader's), and those that wait for this Ready's fsync. */
  messagesNow: Message[] = []
  messagesAfterPersist: Message[] = []

  constructor(options: RaftOptions, initial: InitialState) {
    this.id = options.id
    this.opts = { ...raftDefaults, ...options }
    this.incarnation = this.opts.incarnation
    assert(this.opts.heartbeatIntervalTicks < this.opts.electionTimeoutTicks, 'raft: heartbeat interval must be below the election timeout')
    const hs = initial.hardState
    const source = this.opts.entrySource
    const cache = source !== null && Number.isFinite(this.opts.logCacheBytes) ? { source, bytesMax: this.opts.logCacheBytes } : null
    this.log = new RaftLog(initial.snapshot, initial.entries, Math.max(hs.commit, initial.snapshot.index), cache, initial.released ?? null)
    this.term = hs.term
    this.vote = hs.vote
    this.reads = new ReadOnly(this.opts.pendingReadsMax)
    this.resetElectionTimer()
  }

  // ---- Inputs ---------------------------------------------------------------

  tick(): void {
    for (const pr of this.progress.values()) pr.lastContactTicks++
    if (this.role === 'leader') tickLeader(this)
    else this.tickElection()
  }

  step(m: Message): void {
    if (m.to !== this.id) return
    if (!this.stampsMatch(m)) return
    if (!this.fromKnownMember(m.from) && !(fromLeader(m) && this.mayFollowStranger(m.from)) && !this.strangerMayKnowMore(m)) return
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return
    } else if (m.term < this.term) {
      this.stepLowerTerm(m)
      return
    }
    if (fromLeader(m)) this.stamps.noteLeaderMessage(m)
    this.stepCurrentTerm(m)
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
    this.becomeFollower(m.term, fromLeader(m) ? m.from : null)
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
      this.send({ type: 'PreVoteResp', from: this.id, to: m.from, term: this.term, reject: true }, m.fromIncarnation ?? '')
    } else if (m.type === 'Vote') {
      // Figure 2 again. Silence left a candidate behind in term for good when
      // we campaign in a configuration that does not ask it (it is a learner
      // in ours) and it needs our vote (simulator seed 15504): each of its
      // requests arrived below our term, and ours never reached it.
      this.send({ type: 'VoteResp', from: this.id, to: m.from, term: this.term, reject: true }, m.fromIncarnation ?? '')
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
        handleReadIndexRequest(this, m)
        return
      case 'ReadIndexResp':
        // Good whatever our role now: a real index was granted by this term's leader.
        if (this.role !== 'leader') this.reads.pushState({ ctx: m.ctx, index: m.index })
        return
      default:
        break
    }
    if (this.role === 'leader') stepLeader(this, m)
    else if (this.role === 'follower') stepFollower(this, m)
    else stepCandidate(this, m)
  }

  private handleVoteRequest(m: VoteRequest): void {
    const candidateListed = this.fromKnownMember(m.from) && this.fromListedIncarnation(m)
    const canVote =
      (this.vote === m.from && candidateListed) ||
      (this.vote === '' && this.leader === null) ||
      (m.type === 'PreVote' && m.term > this.term)
    // A node that knows no configuration (joining, or wiped and restarted
    // under its old id) has forgotten what it voted for and which entries
    // are committed: its vote could elect a leader missing committed entries.
    const knowsConfig = this.log.config().members.length > 0
    const grant = canVote && knowsConfig && this.log.isUpToDate(m.lastIndex, m.lastTerm)
    const respType = m.type === 'Vote' ? 'VoteResp' : 'PreVoteResp'
    // The answer goes to the incarnation that asked, whichever one our configuration lists.
    const candidateIncarnation = m.fromIncarnation ?? ''
    if (grant) {
      // A granted PreVote answers in the term it asked about, so the
      // pre-candidate counts it without anyone's term moving.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false }, candidateIncarnation)
      if (m.type === 'Vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true }, candidateIncarnation)
    }
  }

  // ---- Roles and timers --------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      startElection(this, this.opts.preVote ? 'precandidate' : 'candidate', false)
    }
  }

  becomeFollower(term: number, leader: NodeId | null): void {
    if (this.role === 'leader') failPendingReads(this)
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

  resetElectionTimer(): void {
    this.electionElapsed = 0
    const e = this.opts.electionTimeoutTicks
    this.randomizedElectionTimeout = e + this.opts.random(e)
  }

  /** CheckQuorum's lease: we heard from a live leader within the election timeout. */
  inLease(): boolean {
    return this.opts.checkQuorum && this.leader !== null && this.electionElapsed < this.opts.electionTimeoutTicks
  }

  promotable(): boolean {
    if (this.isVoter(this.id)) return true
    // A node whose own removal is not committed yet may be the only one able
    // to commit it (a two-voter leader that removed itself and was cut off:
    // the other voter still needs its vote). It campaigns under its latest
    // configuration, leads without being a member, and steps down once the
    // change commits, as thesis §4.2.2 describes for such a leader.
    const pending = this.log.uncommittedConfigIndex()
    return pending !== 0 && this.log.configAt(pending - 1).members.some((mm) => mm.role === 'voter' && this.isMe(mm))
  }

  /** Whether `id` is a voter of the configuration in effect (for our own id, this incarnation of us). */
  isVoter(id: NodeId): boolean {
    return isVoterIn(this.log.config(), id, this.id, this.incarnation)
  }

  /** The current configuration's voters; one array per configuration, not per call (asked on every ack). */
  voterIds(): readonly NodeId[] {
    const config = this.log.config()
    if (config !== this.voterIdsConfig) {
      this.voterIdsCached = voterIdsOf(config)
      this.voterIdsConfig = config
    }
    return this.voterIdsCached
  }

  /** Whether a config entry for our id names this incarnation of us ('' on either side: unknown, so yes). */
  isMe(mm: Member): boolean {
    return namesSelf(mm, this.id, this.incarnation)
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.commit }
  }

  /**
   * Commits the highest index a quorum of voters holds — but only when that
   * entry is of the current term (§5.4.2). Overridable so a test can build the
   * deliberately broken variant and see the simulator catch it.
   */
  maybeCommit(): boolean {
    this.quorum.reset()
    for (const id of this.voterIds()) this.quorum.add((this.progress.get(id) as Progress).match)
    const q = this.quorum.value()
    if (q <= this.log.commit || this.log.term(q) !== this.term) return false
    return this.log.commitTo(q)
  }

  // ---- Who may talk to us, and stamps ------------------------------------------------

  /** The incarnation our configuration lists for `id` ('' when unknown or not a member). */
  incarnationOf(id: NodeId): Incarnation {
    return this.stamps.listedIn(this.log.config(), id)
  }

  /** Whether `m` comes from the incarnation of its sender that our configuration lists (an unknown one on either side matches). */
  private fromListedIncarnation(m: Message): boolean {
    return sameIncarnation(m.fromIncarnation ?? '', this.incarnationOf(m.from))
  }

  /**
   * Drops a message stamped for another incarnation of this node (a sender
   * whose log still lists the one before a wipe, or already lists the one
   * after), and one from an incarnation of its sender that our configuration
   * does not list. Either way the two nodes' logs disagree about who the
   * member is, and a vote or ack between them could elect a leader missing
   * committed entries or commit an entry on a quorum that does not hold it.
   * The sender's config catches up (or it is replaced); nothing is lost by waiting.
   * Overridable so the simulator can build the variant without it and see it fail.
   */
  stampsMatch(m: Message): boolean {
    if (!sameIncarnation(m.toIncarnation ?? '', this.incarnation)) {
      this.stamps.noteForOtherIncarnation(m)
      return false
    }
    if (!this.fromListedIncarnation(m) && !this.addressedByNewerConfig(m) && !this.asksVoteOfThisIncarnation(m)) {
      this.stamps.noteFromStaleIncarnation()
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
   * is answered with ours. A vote (the answer) still needs both stamps to
   * match the candidate's configuration, so a wiped node's vote is never
   * counted as its predecessor's; a vote request is asksVoteOfThisIncarnation's.
   * Overridable so the simulator can build the variant without it and see it fail.
   */
  addressedByNewerConfig(m: Message): boolean {
    return fromLeader(m) && this.incarnation !== '' && m.toIncarnation === this.incarnation
  }

  /**
   * A vote request stamped for exactly this incarnation of us is answered
   * even when our configuration lists another incarnation of the candidate
   * (runtime seed 402492): the candidate's log names us as we are, so ours
   * is the older log about it, and we may be a voter the only quorum left
   * needs. Refusing it left four voters, one wiped and one stale, with no
   * leader for good: the stale one could only catch up from a leader it
   * would not help elect.
   *
   * Why this is safe: our answer is stamped for the incarnation that asked
   * (handleVoteRequest), so it is counted by that candidate alone, and
   * only if its configuration lists us as we are (its from-stamp check);
   * what the vote asserts, that our log is no newer than the candidate's,
   * is about our own durable log, which no wipe has touched. What our vote
   * record cannot tell apart is two incarnations of one id: it holds the
   * id, not the incarnation. So a candidate our configuration does not list
   * (under this incarnation, or at all: strangerMayKnowMore) gets a vote
   * only if we have given none in this term (handleVoteRequest), never the
   * repeat a candidate we listed may have.
   */
  asksVoteOfThisIncarnation(m: Message): m is VoteRequest {
    return (m.type === 'Vote' || m.type === 'PreVote') && this.incarnation !== '' && m.toIncarnation === this.incarnation
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

  /**
   * A vote request from outside our configuration is heard when it names
   * this incarnation of us exactly and the candidate's log is at least as up
   * to date as ours (core seed 59058; runtime seed 402492 had it too): its
   * configuration then lists us, and its log holds every entry ours does and
   * may hold configurations we have not seen, the one that adds it among
   * them. A removed member's log never qualifies, so it still cannot disturb
   * us: it lacks its committed removal, and a log missing a committed entry
   * is behind every log that holds it (log matching and leader completeness).
   */
  private strangerMayKnowMore(m: Message): boolean {
    return this.asksVoteOfThisIncarnation(m) && this.log.isUpToDate(m.lastIndex, m.lastTerm)
  }

  /**
   * The incarnation a message to `to` is stamped for: the one our
   * configuration lists, except for the leader we follow in this term, whose
   * own stamp wins (our log may still list its previous incarnation; see
   * addressedByNewerConfig). Acks and ReadIndex requests then reach it.
   * Overridable so the simulator can build the variant without it and see it fail.
   */
  receiverIncarnation(to: NodeId): Incarnation {
    if (to === this.leader) {
      const stamped = this.stamps.leaderStamp(to, this.term)
      if (stamped !== '') return stamped
    }
    return this.incarnationOf(to)
  }

  /** Queues `m`, stamped with our incarnation and the one the receiver goes by (see receiverIncarnation), unless the caller names it. */
  send(unstamped: UnstampedMessage, toIncarnation: Incarnation = this.receiverIncarnation(unstamped.to)): void {
    // Every caller passes a literal built for this call, so it is stamped in
    // place. A spread into a new object took V8's slow clone path here: a new
    // hidden class per message, and every reader of messages downstream went
    // megamorphic (bench/README section 26).
    const stamped = unstamped as UnstampedMessage & Stamps
    stamped.fromIncarnation = this.incarnation
    stamped.toIncarnation = toIncarnation
    if (this.clockStampMs !== 0) stamped.clockMs = this.clockStampMs
    // Unstamped<Message> with both stamps is a Message; TypeScript cannot see through the distributive Omit.
    const m = stamped as Message
    if (this.role === 'leader') this.messagesNow.push(m)
    else this.messagesAfterPersist.push(m)
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
export function fromLeader(m: Message): boolean {
  return m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'Snapshot'
}
