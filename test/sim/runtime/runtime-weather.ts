// The weather of one runtime-simulator run, drawn from its seed: cluster
// size, the runtime's tuning, the network's and the disk's faults, and how
// often operators and clients act. Each fault is sometimes off entirely and
// otherwise drawn from a wide range (TigerBeetle's VOPR does the same), so
// seeds visit calm runs, single-fault runs and storms.
import type { Prng } from '../../../lib/util/prng.js'
import type { DiskWeather } from './sim-disk.js'
import type { NetWeather } from './sim-peer-network.js'

export type RuntimeClusterSize = 1 | 3 | 5

export interface RuntimeWeather {
  readonly nodeCount: RuntimeClusterSize
  /** Nodes beyond nodeCount that operators may add later. */
  readonly spareCount: number
  readonly tickMs: number
  readonly electionTimeoutTicks: number
  readonly heartbeatIntervalTicks: number
  readonly snapshotEntries: number
  /** SNAPSHOT_LOG_PERCENT: 0 (the default) in a third of the seeds, 50 or 100 in the rest. */
  readonly snapshotLogPercent: number
  /** LOG_CACHE_BYTES: at most a few KiB in half the seeds, so followers catch up from the log files under crashes. */
  readonly logCacheBytes: number
  /** The chunk a node's own snapshot is written in: small in most seeds, so that snapshots take many chunks and keys larger than one. */
  readonly snapshotChunkBytes: number
  readonly segmentBytesMax: number
  readonly preallocateSegments: boolean
  readonly requestTimeoutMs: number
  readonly net: NetWeather
  readonly disk: DiskWeather
  /** Simulated ms of faults before the calm. */
  readonly faultMs: number
  /** Operators act every operatorIntervalMs; each probability is per action slot. */
  readonly operatorIntervalMs: number
  readonly killProbability: number
  /** Of the kills, the share that are power losses (unsynced writes lost or torn), not just the process. */
  readonly powerLossProbability: number
  readonly sigtermProbability: number
  readonly restartProbability: number
  readonly partitionProbability: number
  readonly healProbability: number
  readonly addProbability: number
  readonly removeProbability: number
  readonly wipeRemovedProbability: number
  /**
   * A member's data directory lost in place, the node restarted with JOIN:
   * the cluster replaces its old incarnation (the incarnation path). Drawn
   * from its own stream (drawAddedWeather), so seeds that leave it off run
   * as they did before it existed.
   */
  readonly wipeMemberProbability: number
  /** Of the client operations, the share that are WATCH + MULTI/EXEC or a SCAN (drawn with wipeMemberProbability). */
  readonly watchScanShare: number
  readonly transferProbability: number
  readonly snapshotProbability: number
  readonly clientCount: number
  readonly thinkMsMax: number
  /** Of the reads, the share sent with `stale` (not linearizable, only checked for plausibility). */
  readonly staleReadProbability: number
  /** Each host's wall clock runs this far ahead (negative: behind), in host order; TTL expiry must not follow it. */
  readonly clockOffsetsMs: readonly number[]
  /** Clients that SET keys with PX and read them back (ttl-workload.ts). */
  readonly ttlClientCount: number
}

/** Some seeds turn a fault off entirely; the rest draw it from [lo, hi). */
function maybe(prng: Prng, offProbability: number, lo: number, hi: number): number {
  return prng.chance(offProbability) ? 0 : lo + prng.next() * (hi - lo)
}

/** Weather added after the first seeds were kept as regressions: drawn from a stream of its own. */
export function drawAddedWeather(prng: Prng): Pick<RuntimeWeather, 'wipeMemberProbability' | 'watchScanShare'> {
  return { wipeMemberProbability: maybe(prng, 0.5, 0.002, 0.02), watchScanShare: maybe(prng, 0.4, 0.05, 0.3) }
}

/**
 * The log's memory bound (LOG_CACHE_BYTES), from a stream of its own so that
 * the other streams keep their draws. Half the seeds go below the variable's
 * 4 KiB floor (0: every applied, durable entry's data is released at once),
 * so that followers catch up from the log files most of the time. Then, on
 * the same stream (each drawn after the last, so the earlier ones keep their
 * draws), the snapshot's chunk size and SNAPSHOT_LOG_PERCENT.
 */
export function drawLogCacheWeather(prng: Prng): Pick<RuntimeWeather, 'logCacheBytes' | 'snapshotChunkBytes' | 'snapshotLogPercent'> {
  const logCacheBytes = prng.chance(0.5) ? 64 * 1024 * 1024 : prng.pick([0, 512, 4096])
  const snapshotChunkBytes = prng.pick([64, 200, 4096, 1024 * 1024])
  return { logCacheBytes, snapshotChunkBytes, snapshotLogPercent: prng.pick([0, 50, 100]) }
}

/** Clock skew of up to this much either way: several seconds, beyond any TTL the clients set. */
const clockOffsetMsMax = 8000

/** Per-host clock offsets and TTL clients (issue 18), from a stream of their own so that the other streams keep their draws. */
export function drawClockWeather(prng: Prng, hostCount: number): Pick<RuntimeWeather, 'clockOffsetsMs' | 'ttlClientCount'> {
  const skewed = prng.chance(0.7)
  const clockOffsetsMs = Array.from({ length: hostCount }, () => (skewed ? prng.int(2 * clockOffsetMsMax + 1) - clockOffsetMsMax : 0))
  return { clockOffsetsMs, ttlClientCount: prng.chance(0.6) ? 1 : 0 }
}

export function drawRuntimeWeather(prng: Prng, added: Prng, clock: Prng, cache: Prng, patch: Partial<RuntimeWeather> = {}): RuntimeWeather {
  const nodeCount = prng.pick<RuntimeClusterSize>([1, 3, 3, 3, 5])
  const latencyMsMin = 0.1 + prng.next() * 2
  const syncLatencyMsMin = 0.05 + prng.next() * 1
  const drawn: RuntimeWeather = {
    nodeCount,
    spareCount: prng.int(3),
    tickMs: 10,
    electionTimeoutTicks: 8 + prng.int(8),
    heartbeatIntervalTicks: 1 + prng.int(2),
    snapshotEntries: prng.pick([10, 30, 100, 100_000]),
    segmentBytesMax: prng.pick([1024, 4096, 65536]),
    preallocateSegments: prng.chance(0.5),
    requestTimeoutMs: 300 + prng.int(1200),
    net: {
      dropProbability: maybe(prng, 0.3, 0, 0.1),
      duplicateProbability: maybe(prng, 0.6, 0, 0.03),
      latencyMsMin,
      latencyMsMax: latencyMsMin + prng.pick([0, 1, 3, 10, 30]),
    },
    disk: {
      metaLatencyMsMax: prng.next() * 0.5,
      syncLatencyMsMin,
      syncLatencyMsMax: syncLatencyMsMin + prng.pick([0.1, 1, 5]),
      stallProbability: maybe(prng, 0.6, 0.001, 0.02),
      stallMsMax: prng.pick([50, 300, 1000]),
      faultProbability: maybe(prng, 0.6, 0.0002, 0.003),
      loseAllUnsyncedProbability: prng.next(),
    },
    faultMs: 1000 + prng.int(2000),
    operatorIntervalMs: 50,
    killProbability: maybe(prng, 0.3, 0.005, 0.05),
    powerLossProbability: prng.next(),
    sigtermProbability: maybe(prng, 0.5, 0.002, 0.02),
    restartProbability: 0.05 + prng.next() * 0.3,
    partitionProbability: maybe(prng, 0.4, 0.005, 0.05),
    healProbability: 0.02 + prng.next() * 0.2,
    addProbability: maybe(prng, 0.4, 0.005, 0.05),
    removeProbability: maybe(prng, 0.5, 0.002, 0.02),
    wipeRemovedProbability: prng.next() * 0.2,
    transferProbability: maybe(prng, 0.5, 0.002, 0.03),
    snapshotProbability: maybe(prng, 0.4, 0.005, 0.05),
    clientCount: 1 + prng.int(4),
    thinkMsMax: prng.pick([2, 10, 30]),
    staleReadProbability: prng.next() * 0.3,
    ...drawAddedWeather(added),
    ...drawLogCacheWeather(cache),
    clockOffsetsMs: [],
    ttlClientCount: 0,
  }
  return { ...drawn, ...drawClockWeather(clock, drawn.nodeCount + drawn.spareCount), ...patch }
}

export function describeRuntimeWeather(w: RuntimeWeather): string {
  const pct = (p: number): string => `${(p * 100).toFixed(1)}%`
  return [
    `${w.nodeCount} nodes + ${w.spareCount} spare, election ${w.electionTimeoutTicks}x${w.tickMs}ms, snapshot every ${w.snapshotEntries} (log ${w.snapshotLogPercent}% of the keys) in ${w.snapshotChunkBytes}B chunks, log cache ${w.logCacheBytes}B, segments ${w.segmentBytesMax}B${w.preallocateSegments ? ' preallocated' : ''}`,
    `net drop ${pct(w.net.dropProbability)} dup ${pct(w.net.duplicateProbability)} latency ${w.net.latencyMsMin.toFixed(1)}-${w.net.latencyMsMax.toFixed(1)}ms`,
    `disk fsync ${w.disk.syncLatencyMsMin.toFixed(2)}-${w.disk.syncLatencyMsMax.toFixed(2)}ms stall ${pct(w.disk.stallProbability)}/${w.disk.stallMsMax}ms faults ${pct(w.disk.faultProbability)}`,
    `kill ${pct(w.killProbability)} (power ${pct(w.powerLossProbability)}) sigterm ${pct(w.sigtermProbability)} partition ${pct(w.partitionProbability)} add ${pct(w.addProbability)} remove ${pct(w.removeProbability)} wipe member ${pct(w.wipeMemberProbability)} transfer ${pct(w.transferProbability)} snapshot ${pct(w.snapshotProbability)}`,
    `${w.clientCount} clients (WATCH/SCAN ${pct(w.watchScanShare)}) + ${w.ttlClientCount} with TTLs, clocks ${w.clockOffsetsMs.some((o) => o !== 0) ? `offset ${w.clockOffsetsMs.map((o) => `${o}ms`).join('/')}` : 'in step'}, ${w.faultMs}ms of faults`,
  ].join('; ')
}
