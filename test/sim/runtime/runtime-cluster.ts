// The runtime simulator: N real Replica + ReplicaBackend + AdminCommands
// instances, as lib/app wires them, on a simulated clock, disk and network,
// driven by one seed. Clients issue SET, GET, INCR, DEL and MULTI/EXEC (and
// stale reads) through ReplicaBackend on any node; operators add, remove,
// transfer leadership, snapshot, SIGTERM, kill and power off nodes, wipe
// removed ones and rejoin them; the network drops, duplicates, delays and
// partitions. After the fault phase the weather calms, every node restarts,
// and the run must converge. Checked throughout and at the end:
//  - election safety (one leader per term) and state-machine safety (every
//    node applies the same entry at each index);
//  - no node stops on an assertion, unless the disk fault injected into it
//    must stop it (EIO, ENOSPC);
//  - the client history is linearizable (test/jepsen's checker; TIMEOUT is
//    unknown, CLUSTERDOWN is not applied), acknowledged writes included;
//  - stale reads return values some client wrote;
//  - after the calm, every member holds the same keyspace at the same
//    applied index, and a leader serves linearizable reads (liveness).
import { handOverLeadership } from '../../../lib/app/start-node.js'
import { parseNodeConfig, type NodeConfig } from '../../../lib/config/node-config.js'
import { AdminCommands } from '../../../lib/replica/admin-commands.js'
import { ReplicaBackend } from '../../../lib/replica/replica-backend.js'
import { Replica } from '../../../lib/replica/replica.js'
import type { RuntimeIo } from '../../../lib/replica/runtime-io.js'
import type { NodeId } from '../../../lib/raft/types.js'
import { StorageError } from '../../../lib/storage/errors.js'
import { offsetClock } from '../../../lib/util/clock.js'
import { Prng } from '../../../lib/util/prng.js'
import { seededRandom } from '../../../lib/util/random-source.js'
import { pino } from 'pino'
import { SimViolation } from '../sim-checkers.js'
import { drawRuntimeWeather, type RuntimeClusterSize, type RuntimeWeather, describeRuntimeWeather } from './runtime-weather.js'
import { RuntimeSafety } from './runtime-safety.js'
import { RuntimeTrace } from './runtime-trace.js'
import { ClientWorkload, emptyWorkloadStats, type WorkloadStats } from './runtime-workload.js'
import { emptyTtlStats, TtlWorkload, type TtlStats } from './ttl-workload.js'
import { emptyDiskStats, SimDisk, type DiskStats } from './sim-disk.js'
import { emptyNetStats, SimPeerHub, type NetStats } from './sim-peer-network.js'
import { SimProcess, SimScheduler } from './sim-scheduler.js'

export interface RuntimeSimOptions {
  readonly seed: number
  readonly nodeCount?: RuntimeClusterSize
  readonly patch?: Partial<RuntimeWeather>
  readonly traceCapacity?: number
  /** Print every event as it happens (--trace), with the nodes' debug logs. */
  readonly live?: (line: string) => void
  /**
   * The broken variant from before issue 18's fix: reads decide TTL expiry on
   * the serving node's own wall clock. Only for showing that the TTL check fails.
   */
  readonly readsOnOwnClock?: boolean
  /**
   * The broken variant from before runtime seed 1270039's fix: the cluster
   * clock forgets the times stamped on the entries a node applied, so a
   * restarted node knows only what it hears. Only for showing that the TTL
   * check fails.
   */
  readonly clockForgetsAppliedStamps?: boolean
}

export interface RuntimeStats {
  steps: number
  simulatedMs: number
  starts: number
  kills: number
  powerLosses: number
  sigterms: number
  diskFaultStops: number
  joins: number
  removes: number
  wipes: number
  /** Members whose data directory was wiped in place, and who were replaced under a new incarnation. */
  memberWipes: number
  memberReplacements: number
  transfers: number
  snapshotsSaved: number
  snapshotsInstalled: number
  partitions: number
  leadersElected: number
  net: NetStats
  disk: DiskStats
  clients: WorkloadStats
  ttl: TtlStats
  /** Keys whose linearizability search hit its bound: inconclusive, not failed. */
  searchesInconclusive: number
  calmMs: number
  /** The core's checks on the real nodes: new leaders' logs checked for completeness, ReadIndex answers checked against the read floor. */
  leaderLogsChecked: number
  readFloorsChecked: number
}

export function emptyRuntimeStats(): RuntimeStats {
  return {
    steps: 0, simulatedMs: 0, starts: 0, kills: 0, powerLosses: 0, sigterms: 0, diskFaultStops: 0, joins: 0, removes: 0, wipes: 0, memberWipes: 0, memberReplacements: 0,
    transfers: 0, snapshotsSaved: 0, snapshotsInstalled: 0, partitions: 0, leadersElected: 0,
    net: emptyNetStats(), disk: emptyDiskStats(), clients: emptyWorkloadStats(), ttl: emptyTtlStats(), searchesInconclusive: 0, calmMs: 0, leaderLogsChecked: 0, readFloorsChecked: 0,
  }
}

/** One simulated machine: its disk outlives its processes. */
export class SimHost {
  disk: SimDisk
  process: SimProcess | null = null
  replica: Replica | null = null
  backend: ReplicaBackend | null = null
  admin: AdminCommands | null = null
  boots = 0
  /** Set while a start or a SIGTERM is under way. */
  busy = false
  /** Pending client operations on this node: settled as lost when its process dies. */
  readonly aborts = new Set<() => void>()
  /** Whether a cluster was ever formed through this disk (then JOIN is ignored). */
  everStarted = false
  /** Whether a leader's configuration has listed this node (with this disk). */
  memberSeen = false
  /** Wiped in place while a member: the incarnation the cluster still lists, until it is replaced. */
  replacing: string | null = null
  /** The member a node wiped in place points JOIN at when no leader is seen: one that was running beside it. */
  rejoinVia: NodeId | null = null

  constructor(
    readonly id: NodeId,
    disk: SimDisk,
  ) {
    this.disk = disk
  }

  get addr(): string {
    return `${this.id}.sim:7000`
  }

  running(): boolean {
    return this.replica !== null && !this.busy && !this.replica.isStopped()
  }
}

/** The defaults of every NodeConfig field, parsed as bin/raftkv would from a minimal environment. */
const baseConfig: NodeConfig = parseNodeConfig({
  NODE_ID: 'n1',
  RAFT_ADDR: '127.0.0.1:7000',
  RESP_ADDR: '127.0.0.1:6379',
  HTTP_ADDR: '127.0.0.1:8080',
  DATA_DIR: '/sim/n1',
  JOIN: '',
  CLUSTER_SECRET: 'simulated-cluster-secret',
})

const calmMsMax = 30_000
/** An operator command forwarded by a node that then died has reached the leader within this, or never will. */
const adminOpLandsWithinMs = 1_000
const calmCheckEveryMs = 50
const keyspaceKeys = ['r0', 'r1', 'r2', 'c0', 'c1'] as const

export class RuntimeCluster {
  readonly prng: Prng
  /** Choices added after the first regression seeds were kept (drawAddedWeather): their own stream, so those seeds replay. */
  private readonly addedPrng: Prng
  readonly safety = new RuntimeSafety()
  readonly weather: RuntimeWeather
  readonly scheduler = new SimScheduler()
  readonly hub: SimPeerHub
  readonly trace: RuntimeTrace
  readonly stats = emptyRuntimeStats()
  readonly hosts: SimHost[] = []
  private readonly byId = new Map<NodeId, SimHost>()
  readonly workload: ClientWorkload
  readonly ttlWorkload: TtlWorkload
  private violation: Error | null = null
  private phase: 'faults' | 'calm' | 'done' = 'faults'
  /**
   * Operator commands that may not have taken effect yet: each until it
   * answers, or a while after the node it was sent to died (a forward
   * already sent may still land).
   */
  private readonly adminOpsInFlight = new Set<{ op: string; process: SimProcess | null; deadSeenMs: number | null }>()
  private partitionEndsMs = -1
  private bootstrapped = false

  constructor(readonly options: RuntimeSimOptions) {
    this.prng = new Prng(options.seed)
    this.addedPrng = new Prng(addedStreamSeed(options.seed))
    this.weather = drawRuntimeWeather(this.prng, this.addedPrng, new Prng(clockStreamSeed(options.seed)), new Prng(cacheStreamSeed(options.seed)), { ...(options.nodeCount === undefined ? {} : { nodeCount: options.nodeCount }), ...options.patch })
    this.trace = new RuntimeTrace(options.traceCapacity ?? 300, () => this.scheduler.elapsedMs, options.live ?? null)
    this.hub = new SimPeerHub(this.scheduler, new Prng(this.prng.nextUint32()), { ...this.weather.net }, null)
    this.stats.net = this.hub.stats
    const w = this.weather
    for (let i = 1; i <= w.nodeCount + w.spareCount; i++) {
      const id = `n${i}`
      const host = new SimHost(id, this.newDisk(id))
      this.hosts.push(host)
      this.byId.set(id, host)
    }
    this.workload = new ClientWorkload(this, new Prng(this.prng.nextUint32()), new Prng(this.addedPrng.nextUint32()), this.stats.clients)
    this.ttlWorkload = new TtlWorkload(this, new Prng(clockStreamSeed(options.seed) + 1), this.stats.ttl)
  }

  // ---- The run ------------------------------------------------------------------------

  /** Runs the fault phase, calms the weather, waits for convergence and checks. Throws SimViolation. */
  async run(): Promise<void> {
    const w = this.weather
    this.note(`seed ${this.options.seed}: ${describeRuntimeWeather(w)}`)
    for (const host of this.hosts.slice(0, w.nodeCount)) this.start(host)
    this.every(w.tickMs, () => this.checkStep())
    this.every(w.operatorIntervalMs, () => {
      if (this.phase === 'faults') this.operatorActs()
    })
    this.workload.start(w.clientCount)
    this.ttlWorkload.start(w.ttlClientCount)
    await this.runUntil(w.faultMs)
    this.calm()
    const calmStartedMs = this.scheduler.elapsedMs
    await this.converge(calmStartedMs)
    this.stats.calmMs = this.scheduler.elapsedMs - calmStartedMs
    await this.drive(this.workload.finalReads(() => this.leaderHost()), calmMsMax)
    this.phase = 'done'
    this.throwIfViolated()
    this.checkKeyspaces()
    this.workload.check()
    this.ttlWorkload.check()
    this.stats.steps = this.scheduler.steps
    this.stats.simulatedMs = this.scheduler.elapsedMs
    this.stats.leaderLogsChecked = this.safety.leaderLogsChecked
    this.stats.readFloorsChecked = this.safety.readFloorsChecked
  }

  private async runUntil(untilMs: number): Promise<void> {
    await this.scheduler.runUntil(untilMs, () => this.violation !== null)
    this.stats.steps = this.scheduler.steps
    this.stats.simulatedMs = this.scheduler.elapsedMs
    this.throwIfViolated()
  }

  /** Runs the simulation until `work` settles (at most `limitMs` more simulated ms), and returns its result. */
  private async drive<T>(work: Promise<T>, limitMs: number): Promise<T> {
    let settled = false
    const watched = work.finally(() => {
      settled = true
    })
    watched.catch(() => undefined)
    await this.scheduler.runUntil(this.scheduler.elapsedMs + limitMs, () => settled || this.violation !== null)
    this.throwIfViolated()
    if (!settled) throw new SimViolation('liveness', `the final checks did not finish within ${limitMs}ms`)
    return watched
  }

  private throwIfViolated(): void {
    if (this.violation !== null) throw this.violation
  }

  /** Records a violation found inside a callback or promise; the run stops at the next step. */
  fail(v: Error): void {
    this.violation ??= v
  }

  // ---- Hosts: start, stop, kill ----------------------------------------------------------

  private newDisk(id: NodeId): SimDisk {
    return new SimDisk(`/sim/${id}`, this.scheduler, new Prng(this.prng.nextUint32()), { ...this.weather.disk }, this.stats.disk)
  }

  private configFor(host: SimHost): NodeConfig {
    const w = this.weather
    const addr = { host: `${host.id}.sim`, port: 7000 }
    // The first node bootstraps the cluster (JOIN empty, as in .env1) until it
    // has once started; every other start of an empty disk joins, as an
    // operator would configure it (a wiped node must not found a second cluster).
    const bootstraps = host === this.hosts[0] && !this.bootstrapped
    const joinVia = bootstraps ? null : this.joinTarget(host)
    return {
      // Every field the runtime has, at its default; then what the simulation sets.
      ...baseConfig,
      nodeId: host.id,
      raftAddr: addr,
      respAddr: { host: addr.host, port: 6379 },
      httpAddr: { host: addr.host, port: 8080 },
      dataDir: host.disk.dir,
      // The simulated disk holds one directory; the high-water record lives outside it.
      highWaterFile: null,
      join: joinVia === null ? null : { host: `${joinVia}.sim`, port: 7000 },
      tickMs: w.tickMs,
      electionTimeoutTicks: w.electionTimeoutTicks,
      heartbeatIntervalTicks: w.heartbeatIntervalTicks,
      snapshotEntries: w.snapshotEntries,
      snapshotLogPercent: w.snapshotLogPercent,
      logCacheBytes: w.logCacheBytes,
      snapshotChunkBytes: w.snapshotChunkBytes,
      fsync: 'always',
      segmentBytesMax: w.segmentBytesMax,
      preallocateSegments: w.preallocateSegments,
      requestTimeoutMs: w.requestTimeoutMs,
      followerWrites: 'forward',
    }
  }

  /** A node joins through a member the current leader lists (n1 before there is one). */
  private joinTarget(host: SimHost): NodeId {
    const leader = this.leaderHost()
    const members = leader?.replica?.configuration().members.filter((m) => m.id !== host.id).map((m) => m.id) ?? []
    if (members.length > 0) return this.prng.pick(members)
    // No leader seen now (a member wiped in place may have been it): any
    // other node that holds the cluster, as an operator would point JOIN
    // at a surviving member, never at the wiped node itself.
    return host.rejoinVia ?? 'n1'
  }

  private start(host: SimHost): void {
    if (host.replica !== null || host.busy) return
    const process = new SimProcess(`${host.id}#${++host.boots}`)
    host.process = process
    host.disk.attach(process)
    host.busy = true
    this.stats.starts++
    // A skewed host: its wall clock (what TTLs are stamped and read with) is offset; timers are not.
    const clock = offsetClock(this.scheduler.clockFor(process), this.weather.clockOffsetsMs[this.hosts.indexOf(host)] ?? 0)
    const io: RuntimeIo = {
      clock,
      random: seededRandom(new Prng(this.prng.nextUint32())),
      fs: host.disk,
      connect: () => this.hub.endpoint(host.id, host.addr, clock, process),
    }
    const config = this.configFor(host)
    if (config.join !== null && !host.everStarted) this.stats.joins++
    this.note(`${host.id} START (boot ${host.boots})${config.join === null ? '' : ` with JOIN ${config.join.host}`}`)
    const logger = pino({ level: this.options.live === undefined ? 'info' : 'debug', base: null, timestamp: false }, { write: (line: string) => this.trace.log(host.id, line) })
    Replica.start(config, logger, io).then(
      (replica) => {
        if (!process.alive) return
        host.everStarted = true
        if (host === this.hosts[0]) this.bootstrapped = true
        host.replica = replica
        if (this.options.readsOnOwnClock === true) replica.readClockMs = () => clock.nowMs()
        if (this.options.clockForgetsAppliedStamps === true) replica.appliedStampMs = () => 0
        host.backend = new ReplicaBackend(replica, false)
        host.admin = new AdminCommands(replica)
        host.backend.useAdmin(host.admin)
        host.busy = false
        this.observe(host, replica)
        replica.on('fatal', (err) => this.onFatal(host, process, err))
        replica.on('snapshot', (kind) => {
          if (kind === 'saved') this.stats.snapshotsSaved++
          else this.stats.snapshotsInstalled++
        })
      },
      (err: unknown) => {
        if (!process.alive) return
        const error = err instanceof Error ? err : new Error(String(err))
        if (this.expectedStop(host, error)) {
          this.note(`${host.id} could not start (injected disk fault): ${error.message}`)
          this.diedOfInjectedFault(host)
          return
        }
        this.fail(new SimViolation('start-up', `${host.id} could not start: ${error.stack ?? error.message}`))
      },
    )
  }

  /** An injected EIO or ENOSPC must stop the node; anything else stopping it is a bug. */
  private expectedStop(host: SimHost, err: Error): boolean {
    return host.disk.faultsThisProcess > 0 && err instanceof StorageError
  }

  private onFatal(host: SimHost, process: SimProcess, err: Error): void {
    if (!process.alive) return
    if (this.expectedStop(host, err)) {
      this.stats.diskFaultStops++
      this.note(`${host.id} stopped by the injected disk fault: ${err.message}`)
      this.diedOfInjectedFault(host)
      return
    }
    this.fail(new SimViolation('assertion stop', `${host.id} stopped: ${err.stack ?? err.message}`))
  }

  /**
   * A fault injected before the calm could stop its node after it: a failed
   * storage refuses every later write, and a path that does not stop the
   * node at the failure stops it at the next write. Runtime seed 969239 met
   * one before an operator's failed snapshot stopped the node (a voter of
   * two stopped 7 ms into the calm, after convergence was judged, and the
   * final reads waited for a quorum for good); with that fixed, no seed run
   * has reached the calm branch. It stays so that another such path is
   * restarted as the calm restarts every member, and the run goes on to
   * check the data, rather than ending as a liveness failure.
   */
  private diedOfInjectedFault(host: SimHost): void {
    this.processDied(host, false)
    if (this.phase === 'calm') this.scheduler.at(0, null, () => this.restartMembers())
  }

  /** kill -9 (power: also loses the disk's unsynced writes). */
  private kill(host: SimHost, power: boolean): void {
    if (host.process === null) return
    this.note(`${host.id} ${power ? 'POWER LOSS' : 'KILLED'}`)
    this.processDied(host, power)
  }

  private processDied(host: SimHost, power: boolean): void {
    const process = host.process
    if (process === null) return
    process.alive = false
    host.process = null
    host.replica = null
    host.backend = null
    host.admin = null
    host.busy = false
    if (power) {
      host.disk.crash()
      this.stats.powerLosses++
    } else {
      host.disk.processKilled()
    }
    for (const abort of [...host.aborts]) abort()
    host.aborts.clear()
  }

  /** SIGTERM: hand leadership over, stop cleanly, exit. */
  private sigterm(host: SimHost): void {
    const { replica, admin } = host
    if (replica === null || admin === null || host.busy) return
    host.busy = true
    this.stats.sigterms++
    this.note(`${host.id} SIGTERM`)
    const logger = pino({ level: 'silent' })
    void handOverLeadership(replica, admin, logger)
      .then(() => replica.stop())
      .then(
        () => {
          if (host.replica !== replica) return
          this.note(`${host.id} stopped after SIGTERM`)
          // A clean stop closes every file it opened: a handle left open is a leak a long-running node would pay for.
          if (host.disk.openFileCount > 0) {
            this.fail(new SimViolation('clean stop', `${host.id} stopped with ${host.disk.openFileCount} file(s) still open: ${host.disk.openFileNames.join(', ')}`))
            return
          }
          this.processDied(host, false)
        },
        (err: unknown) => {
          if (host.replica !== replica) return
          const error = err instanceof Error ? err : new Error(String(err))
          if (this.expectedStop(host, error)) this.processDied(host, false)
          else this.fail(new SimViolation('clean stop', `${host.id} failed to stop: ${error.stack ?? error.message}`))
        },
      )
  }

  // ---- Operators and weather ---------------------------------------------------------------

  private operatorActs(): void {
    const w = this.weather
    const p = this.prng
    if (this.partitionEndsMs >= 0 && this.scheduler.elapsedMs >= this.partitionEndsMs) this.heal()
    if (p.chance(w.killProbability)) {
      const host = this.pickRunning()
      if (host !== null) {
        const power = p.chance(w.powerLossProbability)
        this.stats.kills++
        this.kill(host, power)
      }
    }
    if (p.chance(w.sigtermProbability)) {
      const host = this.pickRunning()
      if (host !== null) this.sigterm(host)
    }
    for (const host of this.hosts) {
      if (host.process === null && host.boots > 0 && !this.removed(host) && p.chance(w.restartProbability)) this.start(host)
    }
    if (p.chance(w.partitionProbability)) this.partition()
    if (p.chance(w.addProbability)) this.addSpare()
    if (p.chance(w.removeProbability)) this.removeMember()
    if (p.chance(w.wipeRemovedProbability)) this.wipeRemoved()
    if (this.addedPrng.chance(w.wipeMemberProbability)) this.wipeMember()
    if (p.chance(w.transferProbability)) this.transfer()
    if (p.chance(w.snapshotProbability)) this.snapshot()
  }

  private heal(): void {
    if (!this.hub.partitioned()) return
    this.hub.heal()
    this.partitionEndsMs = -1
    this.note('HEAL: every link works again')
  }

  private partition(): void {
    const ids = this.hosts.filter((h) => h.everStarted).map((h) => h.id)
    if (ids.length < 2) return
    this.hub.heal()
    this.stats.partitions++
    const shape = this.prng.int(3)
    const victim = this.prng.pick(ids)
    if (shape === 0) {
      for (const id of ids) {
        this.hub.cut(victim, id)
        this.hub.cut(id, victim)
      }
      this.note(`PARTITION: ${victim} isolated`)
    } else if (shape === 1) {
      for (const id of ids) this.hub.cut(id, victim)
      this.note(`PARTITION: ${victim} hears nobody (it can still send)`)
    } else {
      const side = ids.filter(() => this.prng.chance(0.5))
      const other = ids.filter((id) => !side.includes(id))
      for (const a of side) {
        for (const b of other) {
          this.hub.cut(a, b)
          this.hub.cut(b, a)
        }
      }
      this.note(`PARTITION: [${side.join(',')}] | [${other.join(',')}]`)
    }
    this.partitionEndsMs = this.scheduler.elapsedMs + 50 + this.prng.int(1000)
  }

  private addSpare(): void {
    const spare = this.hosts.find((h) => !h.everStarted && h.process === null)
    if (spare === undefined || this.leaderHost() === null) return
    this.note(`operator: add ${spare.id} (it starts with JOIN)`)
    this.start(spare)
  }

  private removeMember(): void {
    const via = this.pickRunning()
    const leader = this.leaderHost()
    if (via?.admin === null || via === null || leader?.replica == null) return
    const voters = leader.replica.configuration().members.filter((m) => m.role === 'voter')
    const members = leader.replica.configuration().members
    // Not while a wiped member awaits its replacement: its old incarnation
    // still counts as a voter that never answers.
    if (voters.length <= 2 || members.length === 0 || this.hosts.some((h) => h.replacing !== null)) return
    const target = this.prng.pick(members).id
    this.stats.removes++
    this.adminOp(via, 'remove', [target])
  }

  /** A removed node loses its disk and comes back empty, asking to join again. */
  private wipeRemoved(): void {
    const removed = this.hosts.filter((h) => h.everStarted && this.removed(h))
    if (removed.length === 0) return
    const host = this.prng.pick(removed)
    this.kill(host, false)
    host.disk = this.newDisk(host.id)
    host.everStarted = false
    host.memberSeen = false
    this.stats.wipes++
    this.note(`${host.id} WIPED after its removal: it rejoins empty`)
    this.start(host)
  }

  /**
   * A member loses its data directory in place and comes back empty under
   * its old id, with JOIN: the leader removes its old incarnation and adds
   * the new one as a learner. One at a time, and only with three voters or
   * more, so a quorum of the committed data always survives (README: wipe
   * one member at a time).
   */
  private wipeMember(): void {
    const leader = this.leaderHost()
    if (leader?.replica == null || this.hosts.some((h) => h.replacing !== null)) return
    const members = leader.replica.configuration().members
    if (members.filter((m) => m.role === 'voter').length < 3) return
    // Not while a configuration change is uncommitted: its voters are not yet
    // the ones a quorum must come from (runtime seed 994777: a promotion to
    // three voters was pending on a partitioned leader when that leader, one
    // of the two voters committed, was wiped).
    if (leader.replica.status().pendingConfigIndex !== 0) return
    // Not while a remove may still take the voters down to two, one of them
    // this one (runtime seed 116664: a 2-voter cluster with a wiped voter
    // has no quorum, and nothing safe can give it one).
    if (this.adminOpMayBeInFlight('remove')) return
    // Not while a node is still joining: its JOIN may point at the node wiped.
    if (this.hosts.some((h) => h.busy || (h.process !== null && !h.memberSeen))) return
    const candidates = this.hosts.filter((h) => h.running() && members.some((m) => m.id === h.id))
    if (candidates.length < 2) return
    const host = this.addedPrng.pick(candidates)
    host.rejoinVia = this.addedPrng.pick(candidates.filter((h) => h !== host)).id
    host.replacing = host.replica?.incarnation ?? null
    this.kill(host, false)
    host.disk = this.newDisk(host.id)
    host.everStarted = false
    host.memberSeen = false
    this.stats.memberWipes++
    this.note(`${host.id} WIPED IN PLACE while a member (incarnation ${host.replacing}): it restarts empty with JOIN`)
    this.start(host)
  }

  /** A member wiped in place is replaced once the leader lists it as a voter under another incarnation. */
  private checkReplacements(): void {
    const leader = this.leaderHost()
    if (leader?.replica == null) return
    const members = leader.replica.configuration().members
    for (const host of this.hosts) {
      if (host.replacing === null) continue
      const m = members.find((mm) => mm.id === host.id)
      if (m === undefined || m.role !== 'voter' || (m.incarnation ?? '') === host.replacing) continue
      this.note(`${host.id} replaced: a voter again under incarnation ${m.incarnation ?? ''}`)
      host.replacing = null
      this.stats.memberReplacements++
    }
  }

  private transfer(): void {
    const via = this.pickRunning()
    const leader = this.leaderHost()
    if (via?.admin == null || leader?.replica == null) return
    const voters = leader.replica.configuration().members.filter((m) => m.role === 'voter')
    if (voters.length === 0) return
    this.stats.transfers++
    this.adminOp(via, 'transfer-leader', [this.prng.pick(voters).id])
  }

  private snapshot(): void {
    const via = this.pickRunning()
    if (via === null) return
    this.adminOp(via, 'snapshot', [])
  }

  private adminOp(host: SimHost, op: string, args: string[]): void {
    const admin = host.admin
    if (admin === null) return
    this.note(`operator on ${host.id}: ${op} ${args.join(' ')}`)
    const pending = { op, process: host.process, deadSeenMs: null }
    this.adminOpsInFlight.add(pending)
    admin.run(op, args).then(
      (body) => this.note(`operator on ${host.id}: ${op} → ${body}`),
      (err: unknown) => this.note(`operator on ${host.id}: ${op} failed: ${err instanceof Error ? err.message : String(err)}`),
    ).finally(() => this.adminOpsInFlight.delete(pending))
  }

  /** Whether an operator command (of kind `op`, or any) may still take effect. */
  private adminOpMayBeInFlight(op?: string): boolean {
    const now = this.scheduler.elapsedMs
    for (const r of this.adminOpsInFlight) {
      if (r.process?.alive !== true) {
        r.deadSeenMs ??= now
        if (now - r.deadSeenMs >= adminOpLandsWithinMs) {
          this.adminOpsInFlight.delete(r)
          continue
        }
      }
      if (op === undefined || r.op === op) return true
    }
    return false
  }

  // ---- Calm and convergence -------------------------------------------------------------------

  private calm(): void {
    this.phase = 'calm'
    this.hub.heal()
    this.hub.weather = { dropProbability: 0, duplicateProbability: 0, latencyMsMin: this.weather.net.latencyMsMin, latencyMsMax: Math.min(this.weather.net.latencyMsMax, 5) }
    for (const host of this.hosts) host.disk.faultsOn = false
    this.note('CALM: network healed, no more disk faults, every member restarts')
    this.restartMembers()
  }

  private restartMembers(): void {
    for (const host of this.hosts) if (host.process === null && host.boots > 0 && !this.removed(host)) this.start(host)
  }

  /** Within calmMsMax: one leader, every member running and applied up to the leader's commit. */
  private async converge(startedMs: number): Promise<void> {
    for (;;) {
      const state = this.convergence()
      if (state === null) return
      if (this.scheduler.elapsedMs - startedMs > calmMsMax) {
        throw new SimViolation('liveness', `no convergence within ${calmMsMax}ms of calm: ${state}`)
      }
      this.restartMembers()
      await this.runUntil(this.scheduler.elapsedMs + calmCheckEveryMs)
    }
  }

  /** Null once converged, else what is missing. */
  private convergence(): string | null {
    // A command still on its way (a remove issued just before the calm)
    // would change the cluster under the final reads (runtime seed 113558).
    if (this.adminOpMayBeInFlight()) return `an operator command is in flight; ${this.describeNodes()}`
    const leader = this.leaderHost()
    if (leader?.replica == null) return `no leader; ${this.describeNodes()}`
    const st = leader.replica.status()
    if (st.commit < st.lastIndex) return `leader ${leader.id} commit ${st.commit} < last ${st.lastIndex}; ${this.describeNodes()}`
    for (const m of st.config.members) {
      const host = this.byId.get(m.id)
      const r = host?.replica
      if (r == null || host?.busy === true) return `member ${m.id} not running; ${this.describeNodes()}`
      if (r.appliedIndex() !== st.commit) return `member ${m.id} applied ${r.appliedIndex()} of ${st.commit}; ${this.describeNodes()}`
      if (m.role === 'learner') return `member ${m.id} still a learner; ${this.describeNodes()}`
    }
    return null
  }

  private describeNodes(): string {
    return this.hosts
      .filter((h) => h.everStarted || h.process !== null)
      .map((h) => {
        const r = h.replica
        if (r === null) return `${h.id} down`
        const st = r.status()
        return `${h.id} ${st.role} t${st.term} commit ${st.commit} applied ${r.appliedIndex()} last ${st.lastIndex} members ${st.config.members.map((m) => `${m.id}${m.role === 'learner' ? '(l)' : ''}`).join(',')}`
      })
      .join('; ')
  }

  /** Every member holds the same keyspace at the same applied index. */
  private checkKeyspaces(): void {
    const leader = this.leaderHost()
    if (leader?.replica == null) return
    const st = leader.replica.status()
    let reference: { id: NodeId; digest: string } | null = null
    for (const m of st.config.members) {
      const r = this.byId.get(m.id)?.replica
      if (r == null || r.appliedIndex() !== st.commit) continue
      const digest = keyspaceDigest(r)
      if (reference === null) reference = { id: m.id, digest }
      else if (reference.digest !== digest) {
        throw new SimViolation('keyspace agreement', `at applied index ${st.commit}, ${reference.id} holds ${reference.digest} but ${m.id} holds ${digest}`)
      }
    }
  }

  // ---- Checks after every step -------------------------------------------------------------------

  /** Every tick: election safety, and a new leader noted in the trace. */
  private checkStep(): void {
    this.checkReplacements()
    const leader = this.leaderHost()
    for (const m of leader?.replica?.configuration().members ?? []) {
      const host = this.byId.get(m.id)
      if (host !== undefined && host.everStarted) host.memberSeen = true
    }
    for (const host of this.hosts) {
      const r = host.replica
      if (r === null || r.leaderId() !== host.id) continue
      try {
        this.observeLeadership(host, r)
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  /** The core's checks on this node (runtime-safety.ts): what it stores, applies, leads and reads. */
  private observe(host: SimHost, replica: Replica): void {
    const checked = (check: () => void): void => {
      try {
        check()
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)))
      }
    }
    replica.storedObserver = (entries, prevTerm) => checked(() => this.safety.observeStored(host.id, entries, prevTerm))
    replica.applyObserver = (e) => checked(() => this.safety.observeApply(host.id, replica.status().term, e))
    replica.on('leaderChange', (leader) => {
      if (leader === host.id) checked(() => this.observeLeadership(host, replica))
    })
    // Every ReadIndex the node starts (its ReplicaBackend's reads and
    // barriers), seen as it passes: the answer must reach the read floor.
    const readIndex = replica.readIndex.bind(replica)
    replica.readIndex = () => {
      const floor = this.safety.appliedMax
      const read = readIndex()
      void read.index.then((index) => checked(() => this.safety.checkReadIndex(host.id, index, floor)))
      return read
    }
  }

  /** Election safety, and leader completeness the first time this node is seen leading its term. */
  private observeLeadership(host: SimHost, r: Replica): void {
    const term = r.status().term
    if (!this.safety.observeLeader(term, host.id)) return
    this.stats.leadersElected++
    this.note(`${host.id} leads in term ${term}`)
    this.safety.checkLeaderLog(host.id, term, r)
  }

  // ---- Helpers -----------------------------------------------------------------------------------

  /** The running node that leads in the highest term. */
  leaderHost(): SimHost | null {
    let best: SimHost | null = null
    let bestTerm = -1
    for (const host of this.hosts) {
      const r = host.replica
      if (r === null || host.busy || r.leaderId() !== host.id) continue
      const term = r.status().term
      if (term > bestTerm) {
        best = host
        bestTerm = term
      }
    }
    return best
  }

  pickRunning(): SimHost | null {
    const running = this.hosts.filter((h) => h.running())
    return running.length === 0 ? null : this.prng.pick(running)
  }

  /** Was a member, and the leader's configuration no longer lists it. */
  private removed(host: SimHost): boolean {
    const leader = this.leaderHost()
    if (host.replacing !== null || !host.memberSeen || leader?.replica == null) return false
    return !leader.replica.configuration().members.some((m) => m.id === host.id)
  }

  private every(intervalMs: number, fn: () => void): void {
    const arm = (): void => {
      this.scheduler.at(intervalMs, null, () => {
        if (this.phase === 'done') return
        arm()
        fn()
      })
    }
    arm()
  }

  /** Resolves after `delayMs` of simulated time. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.at(delayMs, null, resolve))
  }

  isDone(): boolean {
    return this.phase === 'done'
  }

  inFaults(): boolean {
    return this.phase === 'faults'
  }

  note(text: string): void {
    this.trace.note(text)
  }
}

/** The seed of the stream drawAddedWeather and the added operator choices use: apart from the seed's own stream. */
function addedStreamSeed(seed: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995) >>> 0
}

/** The seed of the stream drawClockWeather and the TTL clients use (issue 18): apart from the others. */
function clockStreamSeed(seed: number): number {
  return (Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0
}

/** The seed of the stream drawLogCacheWeather uses: apart from the others. */
function cacheStreamSeed(seed: number): number {
  return (Math.imul(seed, 0xcc9e2d51) ^ 0x1b873593) >>> 0
}

/** The workload's keys and the key count, as one comparable string. */
function keyspaceDigest(r: Replica): string {
  const nowMs = r.clock.nowMs()
  const parts = keyspaceKeys.map((k) => {
    const [res] = r.readLocal([{ t: 'get', key: Buffer.from(k) }], nowMs)
    return `${k}=${res?.t === 'bulk' ? res.value.toString('latin1') : res?.t}`
  })
  // Every key held, expired or not: nodes at one applied index hold the same
  // ones, while which of them count as expired depends on each node's clock.
  parts.push(`dbsize=${r.keyCount()}`)
  return parts.join(' ')
}

export { describeRuntimeWeather }
