// The node runtime: the only owner of timers. It turns wall-clock time into
// raft ticks, runs the Ready loop (send what may go now → persist with one
// fsync → send what waited for it → apply → advance), ships snapshots, and
// serves the requests of clients (proposals, forwarded writes, ReadIndex
// reads) and of joining nodes. Everything it does to the raft core happens
// on the event loop in small synchronous steps; only storage is awaited, and
// while a batch is being persisted new proposals gather for the next one
// (group commit).
import { EventEmitter } from 'node:events'
import { formatHostPort, type NodeConfig } from '../config/node-config.js'
import { encodeEnvelope, stampTime } from '../kv/command-codec.js'
import { KvStateMachine } from '../kv/state-machine.js'
import type { KvApplyResult } from '../kv/command.js'
import { RaftNode, type ProposeResult, type RaftStatus } from '../raft/raw-node.js'
import type { ConfChange, Config, Entry, HardState, Incarnation, InitialState, Message, NodeId, Ready, ReadState, SnapshotMeta, SnapshotRequest } from '../raft/types.js'
import { NodeStorage, type RecoveredState } from '../storage/node-storage.js'
import type { PeerNetwork } from '../transport/peer-network.js'
import type { JoinRequest, SnapshotChunk, SnapshotChunkAck, WireMessage } from '../transport/wire-message.js'
import { assert } from '../util/assert.js'
import { sleepOn, yieldOn, type Clock, type Timer } from '../util/clock.js'
import { LeaderClock } from './leader-clock.js'
import type { Logger } from '../util/logger.js'
import { Prng } from '../util/prng.js'
import type { RandomSource } from '../util/random-source.js'
import { AppliedWaiters } from './applied-waiters.js'
import { decodeMemberAddrs, encodeMemberAddrs } from './member-addr.js'
import { ProposalWaiters, type ProposalOutcome } from './proposal-waiters.js'
import type { RuntimeIo } from './runtime-io.js'
import { nextChunks, onChunkAck, receiveChunk, rewind, type IncomingSnapshot, type OutgoingSnapshot } from './snapshot-stream.js'

const clusterIdKey = 'clusterId'
/** This data directory's incarnation (raft/types.ts): drawn once, when the directory is first used. */
const incarnationKey = 'incarnation'
/** Silence from a snapshot receiver before we resend from the last ack. */
const snapshotResendMs = 3000
/** Give up on a snapshot transfer that made no progress for this long. */
const snapshotAbandonMs = 30_000
const expirySweepKeysMax = 256
/** Keys of a snapshot encoded per event-loop turn: about 2 ms of encoding here. */
const snapshotKeysPerTurn = 4096
const expirySweepIntervalMs = 100
/** A node without a leader for this many election timeouts asks a peer whether it is still a member… */
const membershipProbeAfterElectionTimeouts = 3
/** …at most once per this many election timeouts. */
const membershipProbeEveryElectionTimeouts = 10
const membershipProbeTimeoutMs = 2000
/** One write stuck this many election timeouts is a stalled disk (checkDiskStall). */
const diskStallElectionTimeouts = 2
/** Peers remembered for answering before they are in the configuration (replyRoutes). */
const replyRoutesMax = 64
/** Peer/incarnation pairs reported as addressing another incarnation, at most. */
const otherIncarnationReportsMax = 64
const joinRequestTimeoutMs = 10_000
/** Join retries back off from the first delay to the last, doubling. */
const joinRetryDelayMsFirst = 200
const joinRetryDelayMsMax = 2000
/** A follower relaying a join waits this long for the leader's answer (below the joiner's own timeout). */
const joinRelayTimeoutMs = 8000

export interface ReplicaEvents {
  fatal: [Error]
  leaderChange: [NodeId | null]
  /** One batch written and fsynced: for the fsync latency histogram. */
  persisted: [durationMs: number, entries: number]
  /** A snapshot saved locally, installed from the leader, or delivered whole to a follower. */
  snapshot: [kind: 'saved' | 'installed' | 'sent', durationMs: number, bytes: number]
}

export class Replica extends EventEmitter<ReplicaEvents> {
  readonly raft: RaftNode
  kv: KvStateMachine
  private clusterId: string
  private readonly selfAddr: string
  private stopped = false
  private looping = false
  private tickTimer: Timer | null = null
  private lastLeader: NodeId | null = null
  /** Membership probe: when this node last knew a leader, and when it last asked a peer. */
  private leaderlessSinceMs: number | null = null
  private lastMembershipProbeMs = 0
  private removedReported = false
  /** Peers already reported as addressing another incarnation of this node ("peer/incarnation"), bounded. */
  private readonly otherIncarnationReported = new Set<string>()
  private lastConfig: Config | null = null
  private applied: number
  private snapshotIndex: number
  /** Bytes of entry data applied since the last snapshot: the second snapshot trigger (SNAPSHOT_LOG_BYTES). */
  private appliedBytesSinceSnapshot = 0
  private snapshotting = false
  /** When the batch now being written started (null when no write is in flight): the disk-stall watchdog. */
  private persistStartedMs: number | null = null
  private stallReported = false
  /**
   * The last log index this node's own storage holds durably. Entries may be
   * applied before they are stored here (they are durable on a quorum), but a
   * snapshot must not get ahead of the local log: recovery and compaction
   * both assume the snapshot's index is in the stored log.
   */
  private storedIndex: number
  private sweepInFlight = false
  private lastSweepMs = 0
  private readonly outgoingSnapshots = new Map<NodeId, OutgoingSnapshot>()
  private incomingSnapshot: IncomingSnapshot | null = null
  private stagedSnapshot: IncomingSnapshot | null = null
  readonly proposals = new ProposalWaiters()
  readonly appliedWaiters = new AppliedWaiters()
  private readonly readWaiters = new Map<string, (index: number) => void>()
  private readonly messageHandlers: ((msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void) => boolean)[] = []
  private readSeq = 0
  /**
   * The way back to a node that reached us before it is in our configuration
   * (a joining node hears from the leader before it knows the leader's
   * address): answers go back on the connection the node came in on.
   */
  private readonly replyRoutes = new Map<NodeId, (m: WireMessage) => void>()
  private loopDone: Promise<void> = Promise.resolve()
  /** The hard state last handed to storage, and a newer commit-only one not yet written (see hardStateToWrite). */
  private storedHardState: HardState
  private heldHardState: HardState | null = null
  private turnScheduled = false
  private pendingProposals: PendingProposal[] = []
  /** Sees every entry this node applies, in order (the simulator's state-machine-safety check); null in production. */
  applyObserver: ((e: Entry) => void) | null = null

  readonly clock: Clock
  readonly random: RandomSource
  /** The clock TTL expiry follows on this node (see leader-clock.ts). */
  private readonly leaderClock: LeaderClock

  private constructor(
    io: RuntimeIo,
    readonly config: NodeConfig,
    readonly logger: Logger,
    readonly storage: NodeStorage,
    readonly transport: PeerNetwork,
    kv: KvStateMachine,
    initial: InitialState,
    clusterId: string,
    seed: number,
    readonly incarnation: Incarnation,
  ) {
    super()
    this.clock = io.clock
    this.leaderClock = new LeaderClock(io.clock)
    this.random = io.random
    const prng = new Prng(seed)
    this.raft = new RaftNode(
      {
        id: config.nodeId,
        incarnation,
        electionTimeoutTicks: config.electionTimeoutTicks,
        heartbeatIntervalTicks: config.heartbeatIntervalTicks,
        random: (n) => prng.int(n),
      },
      initial,
    )
    this.kv = kv
    this.clusterId = clusterId
    this.selfAddr = selfMemberAddr(config)
    this.applied = initial.snapshot.index
    this.snapshotIndex = initial.snapshot.index
    this.storedIndex = initial.entries[initial.entries.length - 1]?.index ?? initial.snapshot.index
    this.storedHardState = initial.hardState
  }

  /** Opens storage, recovers state, starts the peer listener and the tick timer, all through `io`. */
  static async start(config: NodeConfig, logger: Logger, io: RuntimeIo): Promise<Replica> {
    const { storage, state } = await NodeStorage.open({
      fs: io.fs,
      clock: io.clock,
      dir: config.dataDir,
      fsync: config.fsync,
      segmentBytesMax: config.segmentBytesMax,
      preallocateSegments: config.preallocateSegments,
      trackSyncedLengths: config.testMode && config.trackSyncedLengths,
      logger,
    })
    let clusterId = storage.getMeta(clusterIdKey) ?? ''
    // Drawn when the directory is first used (also for one written before
    // incarnations existed: its config lists it with none, which is never
    // checked). A wiped directory gets a new one, so the cluster cannot
    // mistake this node for the member it was before the wipe.
    let incarnation = storage.getMeta(incarnationKey) ?? ''
    if (incarnation === '') {
      incarnation = io.random.hex(8)
      await storage.setMeta(incarnationKey, incarnation)
    }
    let initial: InitialState
    let kv: KvStateMachine
    if (clusterId === '' && config.join === null) {
      initial = RaftNode.bootstrapState({ id: config.nodeId, addr: selfMemberAddr(config), role: 'voter', incarnation })
      // A bootstrap stopped by a disk error or a crash before the cluster id
      // was stored left an empty log or exactly its own record: it is finished
      // now instead of refusing to start (found by the runtime simulator).
      const stored = holdsOnly(state, initial)
      if (!stored && !holdsOnly(state, RaftNode.emptyState())) {
        await storage.close()
        throw new Error(`DATA_DIR ${config.dataDir} holds a log but no cluster id: it belongs to an unfinished join; set JOIN or empty the directory`)
      }
      clusterId = io.random.hex(8)
      if (!stored) await storage.persist(initial.hardState, initial.entries)
      await storage.setMeta(clusterIdKey, clusterId)
      kv = new KvStateMachine()
      logger.info({ clusterId }, 'bootstrapped a new cluster with this node as its only member')
    } else {
      const snap = state.snapshot
      initial = {
        hardState: state.hardState,
        snapshot: snap?.meta ?? { index: 0, term: 0, config: { members: [] } },
        entries: state.entries,
      }
      kv = snap === null ? new KvStateMachine() : KvStateMachine.restore(snap.data)
      if (!state.fresh) logger.info({ term: state.hardState.term, commit: state.hardState.commit, entries: state.entries.length, snapshotIndex: initial.snapshot.index }, 'recovered state')
    }
    const transport = io.connect({
      selfId: config.nodeId,
      clusterId,
      secret: config.clusterSecret,
      listenAddr: formatHostPort(config.raftAddr),
      logger,
      tls: config.peerTls,
    })
    const replica = new Replica(io, config, logger, storage, transport, kv, initial, clusterId, io.random.uint32(), incarnation)
    transport.onMessage((msg, from, reply) => replica.onWire(msg, from, reply))
    await transport.start()
    replica.syncPeers()
    replica.tickTimer = io.clock.every(config.tickMs, () => replica.onTick())
    replica.kick()
    if (clusterId === '' && config.join !== null) void replica.joinLoop()
    return replica
  }

  // ---- Public surface for the client backend and admin --------------------

  get id(): NodeId {
    return this.config.nodeId
  }

  appliedIndex(): number {
    return this.applied
  }

  snapshotIndexNow(): number {
    return this.snapshotIndex
  }

  getClusterId(): string {
    return this.clusterId
  }

  /** Lets another module take runtime messages (forwarding, admin); return true when handled. */
  addMessageHandler(h: (msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void) => boolean): void {
    this.messageHandlers.push(h)
  }

  /**
   * Proposes entry data on this node, which must be the leader. Proposals
   * made in one event-loop turn (every client whose bytes arrived in it,
   * every command of a pipeline) enter the log together at the end of the
   * turn: one append, one append message per follower, one timestamp. The
   * buffer is stamped in place and kept by the log: do not reuse it.
   */
  proposeLocal(data: Buffer): Promise<ProposalOutcome> {
    if (this.stopped) return Promise.resolve(notProposed)
    return new Promise((resolve) => {
      this.pendingProposals.push({ data, resolve })
      if (this.pendingProposals.length >= proposalBatchMax) this.flushProposals()
      this.kick()
    })
  }

  private flushProposals(): void {
    const batch = this.pendingProposals
    if (batch.length === 0) return
    this.pendingProposals = []
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

  proposeConfChange(cc: ConfChange): ProposeResult {
    const r = this.raft.proposeConfChange(cc)
    this.kick()
    return r
  }

  /** Starts one ReadIndex round trip: `index` resolves with the safe read index, or -1. */
  readIndex(): { ctx: string; index: Promise<number> } {
    const ctx = `${this.id}:${++this.readSeq}`
    const index = new Promise<number>((resolve) => {
      this.readWaiters.set(ctx, resolve)
    })
    this.stampClock()
    this.raft.readIndex(ctx)
    this.kick()
    return { ctx, index }
  }

  /** Forgets a read that timed out, so its waiter does not leak. */
  cancelRead(ctx: string): void {
    this.readWaiters.delete(ctx)
  }

  waitApplied(index: number): Promise<void> {
    return this.appliedWaiters.wait(index, this.applied)
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to)
    this.kick()
  }

  leaderId(): NodeId | null {
    return this.raft.leaderId()
  }

  memberAddrs(id: NodeId): ReturnType<typeof decodeMemberAddrs> {
    const m = this.raft.config().members.find((mm) => mm.id === id)
    return m === undefined ? null : decodeMemberAddrs(m.addr)
  }

  /** Where to dial a member: its advertised RAFT_ADDR unless PEER_ADDR_OVERRIDES says otherwise. */
  peerDialAddr(id: NodeId): string | null {
    return this.config.peerAddrOverrides.get(id) ?? this.memberAddrs(id)?.raft ?? null
  }

  sendTo(to: NodeId, msg: WireMessage): boolean {
    if (this.transport.send(to, msg)) return true
    const route = this.replyRoutes.get(to)
    if (route === undefined) return false
    route(msg)
    return true
  }

  /** Takes a snapshot now (operator command), unless one is running. */
  async snapshotNow(): Promise<number> {
    await this.takeSnapshot()
    return this.snapshotIndex
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.tickTimer?.cancel()
    this.failProposals()
    for (const [ctx, w] of this.readWaiters) {
      this.readWaiters.delete(ctx)
      w(-1)
    }
    await this.loopDone
    await this.transport.close()
    await this.storage.close()
  }

  isStopped(): boolean {
    return this.stopped
  }

  // ---- Time -----------------------------------------------------------------

  /**
   * The cluster clock now (see leader-clock.ts), also handed to the core to
   * stamp on the messages it sends next; returned for a proposal's time stamp.
   */
  private stampClock(): number {
    const nowMs = this.leaderClock.nowMs(this.raft.leaderId() === this.id)
    this.raft.setClockStamp(nowMs)
    return nowMs
  }

  /** The time a read decides TTL expiry at: the cluster clock (see leader-clock.ts). */
  readClockMs(): number {
    return this.leaderClock.readNowMs(this.raft.leaderId() === this.id)
  }

  private onTick(): void {
    if (this.stopped) return
    this.stampClock()
    this.raft.tick()
    this.checkSnapshotTransfers()
    this.checkDiskStall()
    this.checkMembership()
    this.reportOtherIncarnation()
    this.leaderDuties()
    this.kick()
  }

  /**
   * A removed node is never told (the leader stops replicating to it at
   * once), so after a long time without a leader it asks a peer for the
   * cluster's status, and says so loudly when it is no longer a member.
   */
  private checkMembership(): void {
    const st = this.raft.status()
    const nowMs = this.clock.nowMs()
    if (st.leader !== null || this.removedReported || this.clusterId === '') {
      this.leaderlessSinceMs = null
      return
    }
    this.leaderlessSinceMs ??= nowMs
    const electionMs = this.config.electionTimeoutTicks * this.config.tickMs
    if (nowMs - this.leaderlessSinceMs < membershipProbeAfterElectionTimeouts * electionMs || nowMs - this.lastMembershipProbeMs < membershipProbeEveryElectionTimeouts * electionMs) return
    this.lastMembershipProbeMs = nowMs
    const peers = st.config.members.filter((m) => m.id !== this.id)
    if (peers.length === 0) return
    const addr = this.peerDialAddr((peers[this.random.int(peers.length)] as (typeof peers)[number]).id)
    if (addr === null) return
    this.transport
      .request(addr, { type: 'AdminRequest', requestId: this.random.hex(8), op: 'status', args: [] }, membershipProbeTimeoutMs)
      .then((res) => {
        if (res.type !== 'AdminResponse' || !res.ok || this.removedReported) return
        const body = JSON.parse(res.body) as { leader?: unknown; members?: { id?: unknown }[] }
        if (typeof body.leader !== 'string' || !Array.isArray(body.members)) return
        if (body.members.some((m) => m.id === this.id)) return
        this.removedReported = true
        this.logger.warn({ leader: body.leader }, 'this node was removed from the cluster: it will not vote or campaign. Stop it, or empty its DATA_DIR and rejoin with JOIN under a new NODE_ID')
      })
      .catch(() => {})
  }

  /**
   * A peer that addresses this node under another incarnation holds a log
   * from before this node was re-added (it catches up, or is itself
   * replaced), or this directory is not the one the cluster knows (restored
   * from elsewhere): its messages are ignored either way. Said once per peer
   * and incarnation, so the operator knows why that peer gets no answers.
   */
  private reportOtherIncarnation(): void {
    const seen = this.raft.status().otherIncarnationSeen
    if (seen === null) return
    const key = `${seen.from}/${seen.incarnation}`
    if (this.otherIncarnationReported.has(key) || this.otherIncarnationReported.size >= otherIncarnationReportsMax) return
    this.otherIncarnationReported.add(key)
    this.logger.warn({ peer: seen.from, theirs: seen.incarnation, ours: this.incarnation }, `peer ${seen.from} addresses this node as incarnation ${seen.incarnation}, not ${this.incarnation}: its log predates this node's (re)join, so its messages are ignored until it catches up`)
  }

  /**
   * A leader whose disk stalls can still send heartbeats (appends go out
   * while its own write is in flight) and would keep a cluster that cannot
   * commit through it. After two election timeouts of one stuck write it
   * hands leadership to the most caught-up voter.
   */
  private checkDiskStall(): void {
    if (this.persistStartedMs === null || this.stallReported) return
    const stalledMs = this.clock.nowMs() - this.persistStartedMs
    if (stalledMs < diskStallElectionTimeouts * this.config.electionTimeoutTicks * this.config.tickMs) return
    this.stallReported = true
    const st = this.raft.status()
    this.logger.error({ stalledMs }, 'the disk has not completed a write: ' + (st.role === 'leader' ? 'handing leadership over' : 'this node is falling behind'))
    if (st.role !== 'leader') return
    const best = mostCaughtUpVoter(st)
    if (best !== null) this.raft.transferLeadership(best)
  }

  /** Periodic work only the leader does: replicated expiry, learner promotion. */
  private leaderDuties(): void {
    const st = this.raft.status()
    if (st.role !== 'leader') return
    const nowMs = this.readClockMs()
    if (!this.sweepInFlight && nowMs - this.lastSweepMs >= expirySweepIntervalMs) {
      this.lastSweepMs = nowMs
      this.sweepExpired(nowMs)
    }
    for (const m of st.config.members) {
      const pr = st.progress.get(m.id)
      if (m.role === 'learner' && pr !== undefined && pr.match >= st.commit && st.commit > 0) {
        const r = this.raft.proposeConfChange({ op: 'promote', id: m.id })
        if (r.ok) this.logger.info({ member: m.id }, 'learner caught up: promoting to voter')
        break
      }
    }
  }

  private sweepExpired(nowMs: number): void {
    const keys = this.kv.expiredKeys(nowMs, expirySweepKeysMax)
    if (keys.length === 0) return
    this.sweepInFlight = true
    void this.proposeLocal(encodeSweep(keys)).then(() => {
      this.sweepInFlight = false
    })
  }

  // ---- The Ready loop ----------------------------------------------------------

  /** Schedules the Ready loop if it is not running; cheap to call often. */
  kick(): void {
    if (this.stopped || this.turnScheduled) return
    this.turnScheduled = true
    this.clock.soon(() => this.endOfTurn())
  }

  /**
   * Runs once at the end of every event-loop turn in which something
   * happened, after all the socket reads of that turn: proposals enter the
   * log as one batch, then the Ready loop starts — or, if it is waiting for
   * an fsync, what needs no fsync goes ahead now (runInterim).
   */
  private endOfTurn(): void {
    this.turnScheduled = false
    if (this.stopped) return
    this.flushProposals()
    if (this.looping) {
      this.runInterim()
      return
    }
    if (!this.raft.hasReady()) return
    this.looping = true
    this.loopDone = this.runLoop().catch((err: unknown) => {
      this.fail(err instanceof Error ? err : new Error(String(err)))
    })
  }

  /**
   * While the loop waits for an fsync, what arrived meanwhile need not wait
   * for it: new appends go to followers (the leader's write runs in parallel
   * with replication), commits are applied and answered, reads are released
   * (RaftNode.interim).
   */
  private runInterim(): void {
    if (!this.raft.hasInterim()) return
    const it = this.raft.interim()
    this.sendAll(it.messages)
    for (const e of it.committed) this.applyEntry(e)
    this.releaseReads(it.readStates)
    this.appliedWaiters.release(this.applied)
  }

  private async runLoop(): Promise<void> {
    try {
      // Bounded by the work available: every round consumes one Ready.
      while (!this.stopped && this.raft.hasReady()) {
        await this.handleReady(this.raft.ready())
      }
    } finally {
      this.looping = false
    }
    if (!this.stopped && this.raft.hasReady()) this.kick()
  }

  private async handleReady(rd: Ready): Promise<void> {
    // A batch that replaces a conflicting suffix makes that suffix no longer
    // this node's log at once: until the batch is durable, a snapshot must
    // not count on it (issue 15, finding 3: a snapshot of entries applied
    // from the new leader, over stored entries of the old one).
    const first = rd.entries[0]
    if (first !== undefined && first.index <= this.storedIndex) this.storedIndex = first.index - 1
    this.sendAll(rd.messagesNow)
    if (rd.snapshot !== null) await this.installSnapshot(rd.snapshot)
    // Committed entries are durable on a quorum already, and a read state's
    // index was confirmed by a quorum round: neither depends on this batch's
    // fsync, so clients get their answers now instead of one fsync later
    // (the batch usually holds only new proposals and the commit index).
    if (rd.snapshot === null) this.applyReady(rd)
    const hardState = this.hardStateToWrite(rd)
    if (hardState !== null || rd.entries.length > 0) {
      const started = this.clock.monotonicMs()
      this.persistStartedMs = this.clock.nowMs()
      try {
        await this.storage.persist(hardState, rd.entries)
      } finally {
        this.persistStartedMs = null
        this.stallReported = false
      }
      this.emit('persisted', this.clock.monotonicMs() - started, rd.entries.length)
    }
    const lastStored = rd.entries[rd.entries.length - 1]
    if (lastStored !== undefined) this.storedIndex = lastStored.index
    if (this.stopped) return
    this.sendAll(rd.messagesAfterPersist)
    if (rd.snapshot !== null) this.applyReady(rd)
    this.raft.advance(rd)
    this.appliedWaiters.release(this.applied)
    this.afterAdvance()
    // In the background: the loop goes on persisting and applying while the
    // snapshot file is written (storage stages it outside its write queue).
    if (!this.snapshotting && (this.applied - this.snapshotIndex >= this.config.snapshotEntries || this.appliedBytesSinceSnapshot >= this.config.snapshotLogBytes)) {
      this.takeSnapshot().catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
    }
  }

  private applyReady(rd: Ready): void {
    for (const e of rd.committed) this.applyEntry(e)
    this.releaseReads(rd.readStates)
    this.appliedWaiters.release(this.applied)
  }

  private releaseReads(readStates: readonly ReadState[]): void {
    for (const rs of readStates) {
      const w = this.readWaiters.get(rs.ctx)
      if (w !== undefined) {
        this.readWaiters.delete(rs.ctx)
        w(rs.index)
      }
    }
  }

  /**
   * The hard state to store with this batch. A change of the commit index
   * alone is not worth an fsync of its own (Raft's commit index is volatile
   * state; a node restarted with an older one learns the newer one from the
   * leader), so it is held back and written with the next batch that has to
   * be synced anyway: entries, or a new term or vote, which are always
   * written at once.
   */
  private hardStateToWrite(rd: Ready): HardState | null {
    const hs = rd.hardState
    if (hs !== null) {
      const onlyCommit = hs.term === this.storedHardState.term && hs.vote === this.storedHardState.vote
      if (onlyCommit && rd.entries.length === 0) {
        this.heldHardState = hs
        return null
      }
      this.heldHardState = null
      this.storedHardState = hs
      return hs
    }
    const held = this.heldHardState
    if (held !== null && rd.entries.length > 0) {
      this.heldHardState = null
      this.storedHardState = held
      return held
    }
    return null
  }

  private applyEntry(e: Entry): void {
    assert(e.index === this.applied + 1, () => `apply: entry ${e.index} after applied ${this.applied}`)
    let result: KvApplyResult | null = null
    if (e.kind === 'normal') {
      result = this.kv.apply(e.index, e.data)
      this.appliedBytesSinceSnapshot += e.data.length
    } else {
      this.kv.skip(e.index)
    }
    this.applied = e.index
    this.applyObserver?.(e)
    this.proposals.applied(e.index, e.term, result)
  }

  /** Reacts to leader and configuration changes after each batch. */
  private afterAdvance(): void {
    if (this.raft.config() !== this.lastConfig) this.syncPeers()
    const leader = this.raft.leaderId()
    if (leader !== this.lastLeader) {
      this.lastLeader = leader
      const st = this.raft.status()
      this.logger.info({ term: st.term, role: st.role, leader }, leader === null ? 'no leader' : `leader is ${leader}`)
      this.emit('leaderChange', leader)
    }
  }

  private syncPeers(): void {
    const st = this.raft.status()
    const wasMember = this.lastConfig?.members.some((m) => m.id === this.id) ?? false
    const votersBefore = this.lastConfig?.members.filter((m) => m.role === 'voter').length ?? 0
    this.lastConfig = st.config
    const peers = new Map<NodeId, string>()
    for (const m of st.config.members) {
      if (m.id === this.id) continue
      const addr = this.peerDialAddr(m.id)
      if (addr !== null) peers.set(m.id, addr)
    }
    this.transport.setPeers(peers)
    const isMember = st.config.members.some((m) => m.id === this.id)
    if (wasMember && !isMember) this.logger.warn('this node was removed from the cluster: it will not vote or campaign any more')
    const voters = st.config.members.filter((m) => m.role === 'voter').length
    if (st.role === 'leader' && voters === 2 && votersBefore > 2) this.logger.warn('the cluster has only 2 voters: losing either one stops it; add a third')
  }

  private sendAll(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === 'Snapshot') this.startSnapshotTransfer(m)
      else this.sendTo(m.to, m)
    }
  }

  // ---- Snapshots ------------------------------------------------------------------

  private async takeSnapshot(): Promise<void> {
    // The state machine can only be captured at `applied`; wait until the
    // local log holds that index too (the next batch's fsync).
    const index = this.applied
    if (this.snapshotting || index <= this.snapshotIndex || index > this.storedIndex) return
    this.snapshotting = true
    try {
      const started = this.clock.monotonicMs()
      const meta = this.raft.snapshotMeta(index)
      const bytesCovered = this.appliedBytesSinceSnapshot
      const data = await this.encodeSnapshotInSteps()
      if (data === null) return
      const saved = await this.storage.saveSnapshot(meta, data)
      // A leader's snapshot may have been accepted by the core, or installed,
      // meanwhile (the loop runs on while this one is encoded and written):
      // it is newer, and neither the core's log nor storage may go back to
      // this one (issue 15, finding 1; runtime seed 932).
      if (!saved || this.stopped || this.snapshotIndex >= index || this.raft.status().snapshotIndex >= index) return
      this.raft.compact(index)
      this.snapshotIndex = index
      this.appliedBytesSinceSnapshot = Math.max(0, this.appliedBytesSinceSnapshot - bytesCovered)
      const ms = this.clock.monotonicMs() - started
      this.logger.info({ index, bytes: data.length, ms }, 'snapshot saved; log compacted')
      this.emit('snapshot', 'saved', ms, data.length)
    } finally {
      this.snapshotting = false
    }
  }

  /**
   * The state machine's snapshot at `applied`, a few thousand keys per
   * event-loop turn so that clients and peers are served in between (a
   * 100,000-key snapshot in one go stalled the node for 35–146 ms). Null if
   * the node stopped or installed another state machine meanwhile.
   */
  private async encodeSnapshotInSteps(): Promise<Buffer | null> {
    const kv = this.kv
    const encoder = kv.beginSnapshot()
    try {
      while (!encoder.step(snapshotKeysPerTurn)) {
        await yieldOn(this.clock)
        if (this.stopped || this.kv !== kv) return null
      }
      return encoder.finish()
    } finally {
      encoder.abort() // a no-op after finish()
    }
  }

  private async installSnapshot(meta: SnapshotMeta): Promise<void> {
    const staged = this.stagedSnapshot
    assert(staged !== null && staged.meta.index === meta.index && staged.meta.term === meta.term, `install: no staged snapshot for index ${meta.index}`)
    this.stagedSnapshot = null
    const started = this.clock.monotonicMs()
    const kv = KvStateMachine.restore(staged.data)
    await this.storage.installSnapshot(meta, staged.data)
    this.emit('snapshot', 'installed', this.clock.monotonicMs() - started, staged.data.length)
    // The change feeds follow the new state machine, told that they missed what the snapshot covers.
    const sink = this.kv.eventSink()
    kv.setEventSink(sink)
    this.kv = kv
    sink?.reset(meta.index)
    this.applied = meta.index
    this.snapshotIndex = meta.index
    this.appliedBytesSinceSnapshot = 0
    this.storedIndex = meta.index
    this.proposals.lostUpTo(meta.index)
    this.logger.info({ index: meta.index, term: meta.term, bytes: staged.data.length, from: staged.from }, 'installed snapshot from the leader')
  }

  private startSnapshotTransfer(m: SnapshotRequest): void {
    const { to, term, snapshot: meta } = m
    const existing = this.outgoingSnapshots.get(to)
    if (existing !== undefined && existing.meta.index === meta.index) return
    const latest = this.storage.latestSnapshot()
    if (latest === null || latest.meta.index !== meta.index) {
      this.raft.reportSnapshot(to, false)
      return
    }
    const nowMs = this.clock.nowMs()
    const out: OutgoingSnapshot = {
      to, term, meta, data: latest.data, ackedOffset: 0, sentOffset: 0, lastProgressMs: nowMs, startedMs: nowMs,
      fromIncarnation: m.fromIncarnation ?? '', toIncarnation: m.toIncarnation ?? '',
    }
    this.outgoingSnapshots.set(to, out)
    this.logger.info({ to, index: meta.index, bytes: latest.data.length }, 'sending snapshot')
    this.pumpSnapshot(out)
  }

  private pumpSnapshot(out: OutgoingSnapshot): void {
    for (const c of nextChunks(out, this.id)) this.sendTo(out.to, c)
  }

  private onSnapshotAck(ack: SnapshotChunkAck): void {
    const out = this.outgoingSnapshots.get(ack.from)
    if (out === undefined) return
    const verdict = onChunkAck(out, ack, this.clock.nowMs())
    if (verdict === 'done') {
      this.outgoingSnapshots.delete(ack.from)
      const sendMs = this.clock.nowMs() - out.startedMs
      this.logger.info({ to: ack.from, index: out.meta.index, ms: sendMs }, 'snapshot delivered')
      this.emit('snapshot', 'sent', sendMs, out.data.length)
      this.raft.reportSnapshot(ack.from, true)
      this.kick()
    } else if (verdict === 'more') {
      this.pumpSnapshot(out)
    }
  }

  private checkSnapshotTransfers(): void {
    const nowMs = this.clock.nowMs()
    for (const [to, out] of this.outgoingSnapshots) {
      const silentMs = nowMs - out.lastProgressMs
      if (silentMs >= snapshotAbandonMs || this.raft.status().role !== 'leader') {
        this.outgoingSnapshots.delete(to)
        this.raft.reportSnapshot(to, false)
        this.logger.warn({ to, index: out.meta.index }, 'snapshot transfer abandoned')
      } else if (silentMs >= snapshotResendMs && out.sentOffset > out.ackedOffset) {
        rewind(out, nowMs)
        this.pumpSnapshot(out)
      }
    }
  }

  private onSnapshotChunk(c: SnapshotChunk, reply: (m: WireMessage) => void): void {
    const verdict = receiveChunk(this.incomingSnapshot, c, this.incarnation)
    const ack = (nextOffset: number, ok: boolean): void => {
      reply({ type: 'SnapshotChunkAck', term: c.term, from: this.id, to: c.from, index: c.meta.index, nextOffset, ok })
    }
    if (verdict.t === 'drop') {
      this.logger.debug({ from: c.from, reason: verdict.reason }, 'snapshot chunk dropped')
      return
    }
    if (verdict.t === 'refuse') {
      this.logger.warn({ from: c.from, reason: verdict.reason }, 'snapshot chunk refused')
      ack(0, false)
      return
    }
    if (verdict.t === 'ack') {
      this.incomingSnapshot = verdict.incoming
      ack(verdict.nextOffset, true)
      return
    }
    this.incomingSnapshot = null
    ack(c.totalBytes, true)
    // The one staging slot belongs to the snapshot the core accepts: one it
    // drops (an older term, or at or below its commit) must not replace a
    // staged snapshot the next Ready installs (issue 15, finding 2).
    const staged = this.stagedSnapshot
    this.stagedSnapshot = verdict.incoming
    this.leaderClock.hear(c.clockMs ?? 0)
    this.stampClock()
    this.raft.step({ type: 'Snapshot', from: c.from, to: this.id, term: c.term, snapshot: c.meta, fromIncarnation: c.fromIncarnation, toIncarnation: c.toIncarnation })
    if (!this.coreHoldsSnapshot(c.meta)) this.stagedSnapshot = staged
    this.kick()
  }

  /** Whether the core's log now starts at `meta` (it accepted that snapshot). */
  private coreHoldsSnapshot(meta: SnapshotMeta): boolean {
    return this.raft.status().snapshotIndex === meta.index && this.raft.termAt(meta.index) === meta.term
  }

  // ---- Messages ------------------------------------------------------------------

  private onWire(msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void): void {
    if (this.stopped) return
    // Only raft traffic marks a way back: a one-off request connection (a
    // join, an admin command) must get nothing but its answer. Bounded, and
    // only peers that proved the cluster secret get here.
    if (isRaftMessage(msg) && (this.replyRoutes.size < replyRoutesMax || this.replyRoutes.has(from))) this.replyRoutes.set(from, reply)
    switch (msg.type) {
      case 'SnapshotChunk':
        this.onSnapshotChunk(msg, reply)
        return
      case 'SnapshotChunkAck':
        this.onSnapshotAck(msg)
        return
      case 'JoinRequest':
        void this.onJoinRequest(msg, reply)
        return
      case 'JoinResponse':
      case 'ForwardRequest':
      case 'ForwardResponse':
      case 'AdminRequest':
      case 'AdminResponse':
        for (const h of this.messageHandlers) if (h(msg, from, reply)) return
        return
      default:
        this.leaderClock.hear(msg.clockMs ?? 0)
        this.stampClock()
        this.raft.step(msg)
        this.kick()
    }
  }

  // ---- Joining --------------------------------------------------------------------

  /** Asks the cluster, through JOIN, to add this node; retries until it is a member. */
  private async joinLoop(): Promise<void> {
    const joinAddr = formatHostPort(this.config.join as NonNullable<NodeConfig['join']>)
    let delayMs = joinRetryDelayMsFirst
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const join: JoinRequest = { type: 'JoinRequest', requestId: this.random.hex(8), id: this.id, addr: this.selfAddr, incarnation: this.incarnation }
        const res = await this.transport.request(joinAddr, join, joinRequestTimeoutMs)
        if (res.type === 'JoinResponse' && res.ok) {
          this.clusterId = res.clusterId
          this.transport.setClusterId(res.clusterId)
          await this.storage.setMeta(clusterIdKey, res.clusterId)
          this.logger.info({ via: joinAddr, clusterId: res.clusterId }, 'joined the cluster as a learner; will be promoted once caught up')
          return
        }
        const error = res.type === 'JoinResponse' ? res.error : `unexpected ${res.type}`
        this.logger.warn({ via: joinAddr, attempt, error }, 'join refused; retrying')
      } catch (err) {
        this.logger.warn({ via: joinAddr, attempt, error: (err as Error).message }, 'join request failed; retrying')
      }
      await sleepOn(this.clock, delayMs)
      delayMs = Math.min(delayMs * 2, joinRetryDelayMsMax)
    }
  }

  /**
   * Any member accepts a join: the leader adds the node, a follower relays to
   * the leader. A node that is already a member, at the same address, under
   * another incarnation lost its data directory and came back under its old id: the leader
   * replaces it (removes the old incarnation, then adds the new one as a
   * learner, promoted once caught up), one single-server change at a time.
   */
  private async onJoinRequest(req: JoinRequest, reply: (m: WireMessage) => void): Promise<void> {
    const { requestId, id, addr, incarnation } = req
    const respond = (ok: boolean, error: string): void => {
      const leader = this.leaderId()
      const hint = leader === null ? '' : (this.memberAddrs(leader)?.raft ?? '')
      reply({ type: 'JoinResponse', requestId, ok, error, clusterId: ok ? this.clusterId : '', leaderHint: hint })
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || decodeMemberAddrs(addr) === null) {
      respond(false, 'invalid node id or address')
      return
    }
    const st = this.raft.status()
    const existing = st.config.members.find((m) => m.id === id)
    if (existing !== undefined && existing.addr !== addr) {
      // Only a node back at the address it was added with is replaced
      // automatically: a second process misconfigured with a member's
      // NODE_ID must not be able to remove that member.
      respond(false, `node id ${id} is already a member with address ${existing.addr}; remove it first`)
      return
    }
    if (existing !== undefined && (existing.incarnation ?? '') === incarnation) {
      respond(true, '')
      return
    }
    if (st.role !== 'leader') {
      await this.relayJoinToLeader(req, reply, respond)
      return
    }
    if (existing !== undefined) {
      if (id === this.id) {
        respond(false, `node id ${id} is this leader's own id: two processes share one NODE_ID`)
        return
      }
      const removed = await this.removeOldIncarnation(id, existing.incarnation ?? '', incarnation)
      if (removed !== '') {
        respond(false, removed)
        return
      }
    }
    const r = this.raft.proposeConfChange({ op: 'addLearner', id, addr, incarnation })
    this.kick()
    if (!r.ok) {
      respond(false, `cannot add ${id} now (${r.reason}${r.detail === undefined ? '' : `: ${r.detail}`}); retry`)
      return
    }
    this.logger.info({ member: id, addr, incarnation }, 'adding a learner')
    const outcome = await this.proposals.wait(r.index, r.term)
    respond(outcome.t === 'applied' || this.raft.termAt(r.index) === r.term, outcome.t === 'applied' ? '' : 'the change was lost; retry')
  }

  /**
   * First half of replacing a member that came back with an empty data
   * directory: remove its old incarnation (which still counts as a voter and
   * can never answer again). Returns '' once that is applied, else why not.
   */
  private async removeOldIncarnation(id: NodeId, old: Incarnation, next: Incarnation): Promise<string> {
    this.logger.warn(
      { member: id, oldIncarnation: old === '' ? '(unknown)' : old, incarnation: next },
      `node ${id} came back with an empty data directory: replacing its old incarnation (remove it, then re-add it as a learner; it is promoted once caught up)`,
    )
    const r = this.raft.proposeConfChange({ op: 'remove', id })
    this.kick()
    if (!r.ok) return `cannot replace ${id}'s old incarnation now (${r.reason}${r.detail === undefined ? '' : `: ${r.detail}`}); retry`
    const outcome = await this.proposals.wait(r.index, r.term)
    if (outcome.t !== 'applied' && this.raft.termAt(r.index) !== r.term) return 'the removal of the old incarnation was lost; retry'
    return ''
  }

  private async relayJoinToLeader(req: JoinRequest, reply: (m: WireMessage) => void, respond: (ok: boolean, error: string) => void): Promise<void> {
    const leader = this.leaderId()
    const leaderAddr = leader === null ? null : this.peerDialAddr(leader)
    if (leaderAddr === null) {
      respond(false, 'no leader known; retry')
      return
    }
    try {
      const res = await this.transport.request(leaderAddr, req, joinRelayTimeoutMs)
      reply(res)
    } catch (err) {
      respond(false, `could not reach the leader: ${(err as Error).message}`)
    }
  }

  private failProposals(): void {
    const pending = this.pendingProposals
    this.pendingProposals = []
    for (const p of pending) p.resolve(notProposed)
    this.proposals.failAll()
  }

  private fail(err: Error): void {
    if (this.stopped) return
    this.logger.fatal({ err: err.message, code: (err as NodeJS.ErrnoException).code }, 'fatal error: stopping this node')
    this.stopped = true
    this.tickTimer?.cancel()
    this.failProposals()
    this.emit('fatal', err)
  }
}

interface PendingProposal {
  readonly data: Buffer
  readonly resolve: (o: ProposalOutcome) => void
}

/** Proposals gathered in one turn at most; a larger burst is proposed in several batches. */
const proposalBatchMax = 4096
const notProposed: ProposalOutcome = Object.freeze({ t: 'refused', reason: 'notLeader' })

/** On a leader: the other voter holding the most of the log (the best to hand leadership to), or null. */
export function mostCaughtUpVoter(st: RaftStatus): NodeId | null {
  let best: NodeId | null = null
  let bestMatch = -1
  for (const m of st.config.members) {
    const pr = st.progress.get(m.id)
    if (m.id !== st.id && m.role === 'voter' && pr !== undefined && pr.match > bestMatch) {
      best = m.id
      bestMatch = pr.match
    }
  }
  return best
}

/** Whether recovered storage holds exactly `initial` (hard state and entries, no snapshot). */
function holdsOnly(state: RecoveredState, initial: InitialState): boolean {
  const hs = state.hardState
  return state.snapshot === null && hs.term === initial.hardState.term && hs.vote === initial.hardState.vote && hs.commit === initial.hardState.commit &&
    JSON.stringify(state.entries) === JSON.stringify(initial.entries)
}

export function selfMemberAddr(config: NodeConfig): string {
  return encodeMemberAddrs({ raft: formatHostPort(config.raftAddr), resp: formatHostPort(config.respAddr), http: formatHostPort(config.httpAddr) })
}

/** The leader's own sweeps opt out of deduplication (empty client id). */
function encodeSweep(keys: Buffer[]): Buffer {
  return encodeEnvelope({ nowMs: 0, clientId: '', seq: 0, write: { ops: [{ t: 'expireSweep', keys }], watches: [] } })
}

function isRaftMessage(msg: WireMessage): msg is Message {
  switch (msg.type) {
    case 'JoinRequest':
    case 'JoinResponse':
    case 'ForwardRequest':
    case 'ForwardResponse':
    case 'AdminRequest':
    case 'AdminResponse':
    case 'SnapshotChunk':
    case 'SnapshotChunkAck':
      return false
    default:
      return true
  }
}
