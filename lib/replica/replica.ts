// The node runtime: the only owner of timers. It turns wall-clock time into
// raft ticks and wires the runtime's duties together — the Ready loop
// (ready-loop.ts), snapshots taken (snapshot-taker.ts), received and
// installed (snapshot-receiver.ts) and sent (snapshot-sender.ts), joining
// (join-duties.ts), the membership view (membership-watch.ts), the tick
// chores (tick-chores.ts) and the start from disk (bootstrap.ts). It serves
// the requests of clients (proposals, forwarded writes, ReadIndex reads)
// through the narrow interface below: no other folder reaches into the
// core, the state machine, storage or the network. Everything it does to
// the raft core happens on the event loop in small synchronous steps; only
// storage is awaited.
import { EventEmitter } from 'node:events'
import { formatHostPort, unsafeSwitchesOn, type NodeConfig } from '../config/node-config.js'
import type { KvEventSink } from '../kv/key-events.js'
import type { KvOp, KvOpResult, KvScanResult } from '../kv/command.js'
import { RaftNode, type ProposeResult, type RaftStatus } from '../raft/raw-node.js'
import { normalEntryData, type ConfChange, type Config, type Entry, type Incarnation, type InitialState, type Message, type NodeId, type SnapshotMeta } from '../raft/types.js'
import { StorageError } from '../storage/errors.js'
import type { NodeStorage } from '../storage/node-storage.js'
import type { PeerNetwork, PeerState } from '../transport/peer-network.js'
import type { WireMessage } from '../transport/wire-message.js'
import type { Clock, Timer } from '../util/clock.js'
import { LeaderClock } from './leader-clock.js'
import type { Logger } from '../util/logger.js'
import { Prng } from '../util/prng.js'
import type { RandomSource } from '../util/random-source.js'
import { AppliedState } from './applied-state.js'
import { AppliedWaiters } from './applied-waiters.js'
import { openNode, selfMemberAddr, storeClusterId } from './bootstrap.js'
import { HeldHardState } from './held-hard-state.js'
import { JoinDuties } from './join-duties.js'
import type { MemberAddrs } from './member-addr.js'
import { MembershipWatch } from './membership-watch.js'
import { ProposalBatch } from './proposal-batch.js'
import { PromiseWaiter, ProposalWaiters, type ProposalOutcome, type ProposalWaiter } from './proposal-waiters.js'
import { ReadWaiters } from './read-waiters.js'
import { ReadyLoop, type StoredObserver } from './ready-loop.js'
import { memberAddrsIn, peerDialAddr, type ReplicaContext, type ReplicaEvents } from './replica-context.js'
import type { RuntimeIo } from './runtime-io.js'
import { SnapshotReceiver } from './snapshot-receiver.js'
import { SnapshotSender } from './snapshot-sender.js'
import { SnapshotTaker } from './snapshot-taker.js'
import { TickChores } from './tick-chores.js'

export type { ReplicaEvents } from './replica-context.js'

/** Peers remembered for answering before they are in the configuration (replyRoutes). */
const replyRoutesMax = 64

type WireHandler = (msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void) => boolean

export class Replica extends EventEmitter<ReplicaEvents> {
  readonly clock: Clock
  readonly random: RandomSource
  /** The clock TTL expiry follows on this node (see leader-clock.ts). */
  private readonly leaderClock: LeaderClock
  private readonly ctx: ReplicaContext
  private readonly raft: RaftNode
  private readonly state: AppliedState
  private clusterIdNow: string
  private stopped = false
  private closing: Promise<void> | null = null
  private tickTimer: Timer | null = null
  private readonly proposals = new ProposalWaiters()
  private readonly appliedWaiters = new AppliedWaiters()
  private readonly reads: ReadWaiters
  private readonly batch: ProposalBatch
  private readonly loop: ReadyLoop
  private readonly taker: SnapshotTaker
  private readonly receiver: SnapshotReceiver
  private readonly sender: SnapshotSender
  private readonly membership: MembershipWatch
  private readonly chores: TickChores
  private readonly joins: JoinDuties
  private readonly messageHandlers: WireHandler[] = []
  /**
   * The way back to a node that reached us before it is in our configuration
   * (a joining node hears from the leader before it knows the leader's
   * address): answers go back on the connection the node came in on.
   */
  private readonly replyRoutes = new Map<NodeId, (m: WireMessage) => void>()

  private constructor(
    io: RuntimeIo,
    private readonly config: NodeConfig,
    readonly logger: Logger,
    private readonly storage: NodeStorage,
    private readonly transport: PeerNetwork,
    kv: AppliedState['kv'],
    initial: InitialState,
    clusterId: string,
    seed: number,
    readonly incarnation: Incarnation,
  ) {
    super()
    this.clock = io.clock
    // Never below what this node applied: a restart forgets what it heard, not what it replayed.
    this.leaderClock = new LeaderClock(io.clock, () => this.appliedStampMs())
    this.random = io.random
    const prng = new Prng(seed)
    this.raft = new RaftNode(
      {
        id: config.nodeId,
        incarnation,
        electionTimeoutTicks: config.electionTimeoutTicks,
        heartbeatIntervalTicks: config.heartbeatIntervalTicks,
        logCacheBytes: config.logCacheBytes,
        entrySource: storage.entrySource(),
        random: (n) => prng.int(n),
      },
      initial,
    )
    this.state = new AppliedState(kv, initial)
    this.clusterIdNow = clusterId
    // The core's seed is drawn afresh at every start, so it names this boot.
    this.reads = new ReadWaiters(config.nodeId, seed.toString(36))
    this.batch = new ProposalBatch(this.raft, () => this.stampClock(), this.proposals)
    this.ctx = {
      id: config.nodeId,
      incarnation,
      config,
      logger,
      clock: this.clock,
      random: this.random,
      raft: this.raft,
      storage,
      transport,
      state: this.state,
      proposals: this.proposals,
      events: this,
      isStopped: () => this.stopped,
      clusterId: () => this.clusterIdNow,
      kick: () => this.kick(),
      sendTo: (to, msg) => this.sendTo(to, msg),
      proposeLocal: (data) => this.proposeLocal(data),
      fail: (err) => this.fail(err instanceof Error ? err : new Error(String(err))),
      hearClock: (clockMs) => this.leaderClock.hear(clockMs),
      stampClock: () => this.stampClock(),
      readClockMs: () => this.readClockMs(),
    }
    this.taker = new SnapshotTaker(this.ctx)
    this.receiver = new SnapshotReceiver(this.ctx)
    this.sender = new SnapshotSender(this.ctx)
    this.membership = new MembershipWatch(this.ctx)
    this.joins = new JoinDuties(this.ctx, selfMemberAddr(config))
    this.loop = new ReadyLoop(
      this.ctx,
      {
        flushProposals: () => this.batch.flush(),
        sendAll: (messages) => this.sendAll(messages),
        installSnapshot: (meta) => this.receiver.install(meta),
        afterAdvance: () => {
          this.membership.afterAdvance()
          this.taker.maybeTake()
        },
      },
      new HeldHardState(initial.hardState),
      this.reads,
      this.appliedWaiters,
    )
    this.chores = new TickChores(this.ctx, this.loop)
  }

  /** Opens storage, recovers state, starts the peer listener and the tick timer, all through `io`. */
  static async start(config: NodeConfig, logger: Logger, io: RuntimeIo): Promise<Replica> {
    const { storage, initial, kv, clusterId, incarnation } = await openNode(config, logger, io)
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
    replica.membership.syncPeers()
    replica.tickTimer = io.clock.every(config.tickMs, () => replica.onTick())
    replica.kick()
    if (clusterId === '' && config.join !== null) void replica.joins.joinCluster((id) => replica.joined(id))
    return replica
  }

  // ---- Public surface for the client backend, admin, metrics and status ----

  get id(): NodeId {
    return this.config.nodeId
  }

  appliedIndex(): number {
    return this.state.applied
  }

  snapshotIndexNow(): number {
    return this.state.snapshotIndex
  }

  getClusterId(): string {
    return this.clusterIdNow
  }

  /** The core's view: role, term, commit, log bounds, configuration, and on a leader each member's progress. */
  status(): RaftStatus {
    return this.raft.status()
  }

  /** The configuration in force (cheaper than status() when that is all a caller needs). */
  configuration(): Config {
    return this.raft.config()
  }

  /** Lets the Raft log's spare data slabs go: the idle collector calls it before a full GC at rest. */
  dropSpareLogSlabs(): void {
    this.raft.dropSpareLogSlabs()
  }

  /** The term of the entry at `index` in this node's log, if it holds it. */
  termAt(index: number): number | undefined {
    return this.raft.termAt(index)
  }

  /** For metrics and status: outbound link state per peer. */
  peerStates(): Map<NodeId, PeerState> {
    return this.transport.peerState()
  }

  /** Keys in the state machine; with `nowMs`, only those not yet expired then (else expired ones not yet swept count too). */
  keyCount(nowMs?: number): number {
    return this.state.kv.size(nowMs)
  }

  /** One tick of the raft clock, in ms (TICK_MS): turns the core's tick counts into time. */
  tickMs(): number {
    return this.config.tickMs
  }

  /** How long a client request may take before it is answered TIMEOUT (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs(): number {
    return this.config.requestTimeoutMs
  }

  /** Whether every read is served locally (RAFTKV_TEST_MODE with UNSAFE_STALE_READS). */
  staleReadsForced(): boolean {
    return this.config.testMode && this.config.unsafeStaleReads
  }

  /** The test-only switches that are on (node-config.ts): this node is not safe for production when any is. */
  unsafeSwitches(): string[] {
    return unsafeSwitchesOn(this.config)
  }

  /** Reads ops from this node's state machine as it stands (the caller decides whether that is safe). */
  readLocal(ops: readonly KvOp[], nowMs: number): KvOpResult[] {
    const kv = this.state.kv
    return ops.map((op) => kv.read(op, nowMs))
  }

  /** The keys' versions in this node's state machine (WATCH). */
  keyVersions(keys: readonly Buffer[], nowMs: number): number[] {
    const kv = this.state.kv
    return keys.map((k) => kv.version(k, nowMs))
  }

  /** One SCAN step over this node's state machine. */
  scanLocal(cursor: string, match: string | null, count: number, nowMs: number): KvScanResult {
    return this.state.kv.scan(cursor, match, count, nowMs)
  }

  /** Hands the applied key events to `sink` (change feeds); it follows installed snapshots. */
  attachEventSink(sink: KvEventSink | null): void {
    this.state.kv.setEventSink(sink)
  }

  /**
   * The data of the entry this node applied at `index`, while its log still
   * has it: from the Raft log, or for entries a snapshot compacted, from the
   * segment files storage kept (keepLogAfter). Null when neither has it.
   */
  appliedEntryData(index: number): Buffer | null {
    if (index > this.state.applied) return null
    const data = this.raft.committedEntryData(index)
    if (data !== undefined) return data
    return normalEntryData(this.storage.entrySource().entries(index, index + 1, Infinity)?.[0], index)
  }

  /** Entries after `index(snapshotIndex)` stay in storage's segment files when a snapshot compacts the log (the watch history reads them back). */
  keepLogAfter(index: (snapshotIndex: number) => number): void {
    this.storage.keepLogAfter(index)
  }

  /** Sees every entry this node applies, in order (the simulator's state-machine-safety check). */
  set applyObserver(observer: ((e: Entry) => void) | null) {
    this.state.observer = observer
  }

  /** Sees every batch of entries once it is durable on this node (the simulator's log-matching check). */
  set storedObserver(observer: StoredObserver | null) {
    this.loop.storedObserver = observer
  }

  /** Lets another module take runtime messages (forwarding, admin); return true when handled. */
  addMessageHandler(h: WireHandler): void {
    this.messageHandlers.push(h)
  }

  /** A one-off exchange with the node at `addr` (admin commands, identity checks). */
  request(addr: string, msg: WireMessage, timeoutMs: number): Promise<WireMessage> {
    return this.transport.request(addr, msg, timeoutMs)
  }

  /**
   * Proposes entry data on this node, which must be the leader. Proposals
   * made in one event-loop turn enter the log together at the end of the
   * turn (proposal-batch.ts). The buffer is stamped in place and kept by the
   * log: do not reuse it.
   */
  proposeLocal(data: Buffer): Promise<ProposalOutcome> {
    return new Promise((resolve) => this.proposeTo(data, new PromiseWaiter(resolve)))
  }

  /**
   * proposeLocal without a promise (a client write on the leader): `waiter`
   * is told the outcome, synchronously when the node has stopped.
   */
  proposeTo(data: Buffer, waiter: ProposalWaiter): void {
    if (this.stopped) {
      waiter.proposalRefused('notLeader')
      return
    }
    if (this.batch.add(data, waiter)) this.batch.flush()
    this.kick()
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    const r = this.raft.proposeConfChange(cc)
    this.kick()
    return r
  }

  /** Starts one ReadIndex round trip: `index` resolves with the safe read index, or -1. */
  readIndex(): { ctx: string; index: Promise<number> } {
    const read = this.reads.add()
    this.stampClock()
    this.raft.readIndex(read.ctx)
    this.kick()
    return read
  }

  /** Forgets a read that timed out, so its waiter does not leak. */
  cancelRead(ctx: string): void {
    this.reads.cancel(ctx)
  }

  waitApplied(index: number): Promise<void> {
    return this.appliedWaiters.wait(index, this.state.applied)
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to)
    this.kick()
  }

  /** True once a peer has said this node was removed from the cluster (membership-watch.ts). */
  removedFromCluster(): boolean {
    return this.membership.removed
  }

  leaderId(): NodeId | null {
    return this.raft.leaderId()
  }

  memberAddrs(id: NodeId): MemberAddrs | null {
    return memberAddrsIn(this.ctx, id)
  }

  /** Where to dial a member: its advertised RAFT_ADDR unless PEER_ADDR_OVERRIDES says otherwise. */
  peerDialAddr(id: NodeId): string | null {
    return peerDialAddr(this.ctx, id)
  }

  /** Where to dial node `id` that advertises `advertised`: PEER_ADDR_OVERRIDES first. */
  dialAddrOr(id: NodeId, advertised: string): string {
    return this.config.peerAddrOverrides.get(id) ?? advertised
  }

  sendTo(to: NodeId, msg: WireMessage): boolean {
    if (this.transport.send(to, msg)) return true
    const route = this.replyRoutes.get(to)
    if (route === undefined) return false
    route(msg)
    return true
  }

  /** The state machine at the applied index, for a backup (SnapshotTaker.capture); null: try again. */
  captureSnapshot(): Promise<{ meta: SnapshotMeta; data: Buffer } | null> {
    return this.taker.capture()
  }

  /** Takes a snapshot of all applied so far (operator command), after the one running if any; a storage failure stops the node, as in the background. */
  async snapshotNow(): Promise<number> {
    try {
      await this.taker.takeRequested()
    } catch (err) {
      // A failed write leaves storage refusing every later one: the node
      // stops now, as when it takes a snapshot by itself, rather than at its
      // next write (runtime seed 977821: a leader served on for 260 ms with
      // storage that could not commit). Other failures are the operator's
      // answer only (the node stopped meanwhile, or too many requests wait).
      if (err instanceof StorageError) this.fail(err)
      throw err
    }
    return this.state.snapshotIndex
  }

  /** Schedules the Ready loop if it is not running; cheap to call often. */
  kick(): void {
    this.loop.kick()
  }

  /** Stops the node and closes what it holds; also after a fatal error, which stops it without closing anything. */
  stop(): Promise<void> {
    this.closing ??= this.close()
    return this.closing
  }

  private async close(): Promise<void> {
    this.stopped = true
    this.tickTimer?.cancel()
    this.failProposals()
    this.reads.failAll()
    this.sender.stop()
    await this.loop.done()
    await this.transport.close()
    await this.storage.close()
  }

  isStopped(): boolean {
    return this.stopped
  }

  /** Started empty with JOIN and not yet listed in a configuration its log holds (MembershipWatch.joining). */
  isJoining(): boolean {
    return this.membership.joining
  }

  /** The time a read decides TTL expiry at: the cluster clock, not this node's own (see leader-clock.ts). */
  readClockMs(): number {
    return this.leaderClock.readNowMs(this.raft.leaderId() === this.id)
  }

  /** The latest cluster time a leader stamped on an entry applied here (0: none): the cluster clock's floor on this node. */
  appliedStampMs(): number {
    return this.state.kv.stampedMs()
  }

  // ---- Inside -----------------------------------------------------------------

  /** The cluster clock now, also handed to the core to stamp on the messages it sends next. */
  private stampClock(): number {
    const nowMs = this.leaderClock.nowMs(this.raft.leaderId() === this.id)
    this.raft.setClockStamp(nowMs)
    return nowMs
  }

  private onTick(): void {
    if (this.stopped) return
    this.stampClock()
    this.raft.tick()
    this.sender.checkTransfers()
    this.receiver.checkIdle()
    this.chores.checkDiskStall()
    this.membership.checkMembership()
    this.membership.reportOtherIncarnation()
    this.chores.leaderDuties()
    this.kick()
  }

  /** A joining node was accepted into cluster `clusterId`. */
  private async joined(clusterId: string): Promise<void> {
    this.clusterIdNow = clusterId
    this.transport.setClusterId(clusterId)
    // Before the cluster id: a node restarted between the two is joining by either.
    await this.membership.recordJoinPending()
    await storeClusterId(this.storage, clusterId)
  }

  private sendAll(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === 'Snapshot') this.sender.start(m)
      else this.sendTo(m.to, m)
    }
  }

  private onWire(msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void): void {
    if (this.stopped) return
    // Only raft traffic marks a way back: a one-off request connection (a
    // join, an admin command) must get nothing but its answer. Bounded, and
    // only peers that proved the cluster secret get here.
    if (isRaftMessage(msg) && (this.replyRoutes.size < replyRoutesMax || this.replyRoutes.has(from))) this.replyRoutes.set(from, reply)
    switch (msg.type) {
      case 'SnapshotChunk':
        this.receiver.onChunk(msg, reply)
        return
      case 'SnapshotChunkAck':
        this.sender.onAck(msg)
        return
      case 'JoinRequest':
        void this.joins.onJoinRequest(msg, reply)
        return
      case 'JoinResponse':
      case 'ForwardRequest':
      case 'ForwardResponse':
      case 'AdminRequest':
      case 'AdminResponse':
        for (const h of this.messageHandlers) if (h(msg, from, reply)) return
        return
      default:
        this.raft.setClockStamp(this.leaderClock.hearThenNowMs(msg.clockMs ?? 0, this.raft.leaderId() === this.id))
        this.raft.step(msg)
        this.kick()
    }
  }

  private failProposals(): void {
    this.batch.failPending()
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
