// The composition root: one raftkv node = the replica (raft core, storage,
// peer transport, state machine) + the RESP and HTTP listeners + metrics.
// bin/raftkv calls startNode(); tests call it too, in-process or through
// the CLI in a child process.
import { encodeBackup } from '../backup/backup-file.js'
import { formatHostPort, type NodeConfig } from '../config/node-config.js'
import { fetchBlockedPortWarning } from '../config/fetch-bad-ports.js'
import { FeedHub } from '../feeds/feed-hub.js'
import { parseNotifyFlags } from '../feeds/notify-flags.js'
import { AdminCommands } from '../replica/admin-commands.js'
import { ReplicaBackend } from '../replica/replica-backend.js'
import { Replica } from '../replica/replica.js'
import type { RuntimeIo } from '../replica/runtime-io.js'
import type { TakeBackup } from '../server/http/backup-route.js'
import { startHttpServer } from '../server/http/http-server.js'
import { startRespServer } from '../server/resp/resp-server.js'
import { offsetClock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import { HeapHeadroom } from './heap-headroom.js'
import { IdleCollector, collectGarbage } from './idle-collector.js'
import { instrumentBackend } from './instrumented-backend.js'
import { NodeMetrics } from './node-metrics.js'
import { StatusRecorder } from './status-recorder.js'
import { systemIo } from './system-io.js'

export interface RunningNode {
  readonly replica: Replica
  readonly backend: ReplicaBackend
  readonly feeds: FeedHub
  readonly respAddr: { host: string; port: number }
  readonly httpAddr: { host: string; port: number }
  /** Stops listeners, then the replica; resolves when everything is closed. */
  stop(): Promise<void>
  /** Resolves with the error that stopped the node from inside (disk failure). */
  readonly fatal: Promise<Error>
}

export interface StartOptions {
  readonly processMetrics?: boolean
  /** The clock, randomness, disk and peer network the node uses: the system's unless a test passes others (a disk that stalls). */
  readonly io?: RuntimeIo
}

export async function startNode(config: NodeConfig, logger: Logger, options: StartOptions = {}): Promise<RunningNode> {
  const io = options.io ?? systemIo
  // RAFTKV_TEST_CLOCK_OFFSET_MS (test mode only): the replica runs on a skewed wall clock.
  const replica = await Replica.start(config, logger, config.testClockOffsetMs === 0 ? io : { ...io, clock: offsetClock(io.clock, config.testClockOffsetMs) })
  const fatal = new Promise<Error>((resolve) => replica.once('fatal', resolve))
  const backend = new ReplicaBackend(replica, config.followerWrites === 'moved')
  const admin = new AdminCommands(replica)
  backend.useAdmin(admin)
  const feeds = startFeeds(replica, config, logger)
  const metrics = new NodeMetrics(replica, options.processMetrics ?? true)
  metrics.countFeeds(feeds)
  const served = instrumentBackend(backend, metrics)
  const recorder = new StatusRecorder(replica, metrics)
  let resp: Awaited<ReturnType<typeof startRespServer>> | null = null
  let http: Awaited<ReturnType<typeof startHttpServer>> | null = null
  try {
    resp = await startRespServer({
      addr: formatHostPort(config.respAddr),
      backend: served,
      requirePass: config.requirePass,
      limits: { clientsMax: config.maxClients },
      logger,
      movedMode: config.followerWrites === 'moved',
      tls: config.clientTls,
      feeds,
    })
    http = await startHttpServer({
      addr: formatHostPort(config.httpAddr),
      backend: served,
      requirePass: config.requirePass,
      metricsText: () => metrics.text(),
      logger,
      feeds,
      tls: config.clientTls,
      statusDetail: () => recorder.detail(),
      takeBackup: backupTaker(replica, backend),
    })
  } catch (err) {
    await resp?.close()
    await replica.stop()
    throw err
  }
  recorder.start()
  // At rest after writes, one full GC gives back what the burst left (idle-collector.ts),
  // the Raft log's spare slabs included (up to 16 MiB kept for reuse under load).
  const collectAtRest = (): Promise<void> => {
    replica.dropSpareLogSlabs()
    return collectGarbage()
  }
  const collector = new IdleCollector(() => replica.appliedIndex(), collectAtRest, Date.now())
  const onSnapshot = (): void => collector.noteSnapshot()
  replica.on('snapshot', onSnapshot)
  collector.start()
  // Room for the old generation between mark-compacts while the heap is small (heap-headroom.ts).
  const headroom = new HeapHeadroom(undefined, undefined, (err) => logger.warn({ err }, 'could not set --heap-growing-percent; V8 keeps its own heap growth'))
  headroom.start()
  const blockedPort = fetchBlockedPortWarning('HTTP_ADDR', config.httpAddr.port)
  if (blockedPort !== null) logger.warn(blockedPort)
  if (config.unsafeStaleReads) logger.warn('RAFTKV_UNSAFE_STALE_READS=yes: linearizable reads are served from local state WITHOUT ReadIndex (testing only)')
  logger.info({ raft: formatHostPort(config.raftAddr), resp: formatHostPort(config.respAddr), http: formatHostPort(config.httpAddr) }, 'node started')
  let stopping: Promise<void> | null = null
  const respServer = resp
  metrics.countClientsWith(() => respServer.clientCount())
  const httpServer = http
  return {
    replica,
    backend,
    feeds,
    respAddr: respServer.address,
    httpAddr: httpServer.address,
    fatal,
    stop: () => {
      stopping ??= (async () => {
        await handOverLeadership(replica, admin, logger)
        await Promise.allSettled([respServer.close(), httpServer.close()])
        recorder.stop()
        collector.stop()
        headroom.stop()
        replica.off('snapshot', onSnapshot)
        await replica.stop()
      })()
      return stopping
    },
  }
}

/**
 * GET /cluster/backup: a linearizable backup waits for a ReadIndex barrier
 * (an empty linearizable read), so it holds every write acknowledged before
 * it was asked for; then the state machine is captured at the applied index.
 */
function backupTaker(replica: Replica, backend: ReplicaBackend): TakeBackup {
  return async (consistency) => {
    if (consistency === 'linearizable') await backend.read([], 'linearizable')
    const snapshot = await replica.captureSnapshot()
    if (snapshot === null) return null
    return { meta: snapshot.meta, clusterId: replica.getClusterId(), parts: encodeBackup(snapshot.meta, snapshot.data) }
  }
}

/** The change feeds, attached to the state machine from its current applied index on. */
function startFeeds(replica: Replica, config: NodeConfig, logger: Logger): FeedHub {
  const notifyFlags = parseNotifyFlags(config.notifyKeyspaceEvents)
  // node-config.ts checked the letters already.
  if (notifyFlags === null) throw new Error(`NOTIFY_KEYSPACE_EVENTS: invalid letters ${JSON.stringify(config.notifyKeyspaceEvents)}`)
  const feeds = new FeedHub(replica.appliedIndex(), logger, {
    notifyFlags,
    limits: config.feedLimits,
    // A SET's event is kept as its entry's index: the log keeps what the history still holds.
    readEntry: (index) => replica.appliedEntryData(index),
  })
  replica.keepLogAfter((snapshotIndex) => feeds.logNeededAfter(snapshotIndex))
  replica.attachEventSink(feeds)
  return feeds
}

/**
 * A leader that stops on purpose first moves leadership to the most
 * caught-up voter, so clients see no election gap. Bounded: if the transfer
 * does not complete, the node stops anyway and the cluster elects normally.
 */
export async function handOverLeadership(replica: Replica, admin: AdminCommands, logger: Logger): Promise<void> {
  const st = replica.status()
  if (replica.isStopped() || st.role !== 'leader') return
  if (!st.config.members.some((m) => m.role === 'voter' && m.id !== st.id)) return
  try {
    const result = await admin.run('transfer-leader', [])
    logger.info({ result: JSON.parse(result) as unknown }, 'handed leadership over before stopping')
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not hand leadership over before stopping')
  }
}
