// The weather of one simulated run, drawn from its seed (TigerBeetle's VOPR
// does the same): cluster size, raft tuning, and the probability of every
// fault. Each fault is sometimes switched off entirely and otherwise drawn
// from a wide range, so that across seeds the simulator visits calm runs,
// single-fault runs and storms.
import type { Prng } from '../../lib/util/prng.js'
import type { RaftOptions } from '../../lib/raft/raw-node.js'
import type { LinkWeather } from './sim-network.js'

export type ClusterSize = 1 | 3 | 5

export interface Weather {
  readonly nodeCount: ClusterSize
  /** Nodes beyond nodeCount that start empty and may be added later. */
  readonly spareCount: number
  /** 'static': every node starts with the full configuration; 'grow': one node bootstraps and adds the rest. */
  readonly bootstrap: 'static' | 'grow'
  readonly raft: Omit<RaftOptions, 'id' | 'random'>
  readonly link: LinkWeather
  /** Ticks with faults before the weather calms down and liveness is checked. */
  readonly faultTicks: number
  readonly partitionProbability: number
  readonly partitionTicksMax: number
  /** A newly elected leader is cut off at once, with its first appends in flight (replacing any partition). */
  readonly isolateNewLeaderProbability: number
  readonly crashProbability: number
  /** Of the crashes, the share aimed at the current leader (the node whose loss hurts most). */
  readonly crashLeaderProbability: number
  /** Of the crashes, the share that strikes inside the Ready loop rather than between inputs. */
  readonly crashInReadyProbability: number
  readonly restartProbability: number
  /** A node's clock misses a tick (a slow or paused process). */
  readonly tickSkipProbability: number
  readonly membershipProbability: number
  /** Of the operator's membership moves, the share that wipes a node outside the configuration (to re-add it later). */
  readonly wipeProbability: number
  /**
   * Per tick: a member (not the leader) loses its disk and restarts empty
   * under its old id, with JOIN set — the runtime then replaces its old
   * incarnation (remove, re-add as a learner). At most one such member at a
   * time, and only in configurations of three or more voters: losing more
   * disks than that loses data (or a quorum) whatever the algorithm does.
   */
  readonly memberWipeProbability: number
  /**
   * Per tick: play the runtime's learner promotion for members that were
   * wiped in place (the leader promotes a rejoined learner once it holds the
   * committed log) and, with this probability, build a chain of
   * replacements: move leadership to a replaced voter, and once it leads,
   * wipe another member, which then rejoins through it (issue 21). 0: the
   * run predates chains (promotion is left to the random operator).
   */
  readonly replacementChainProbability: number
  readonly snapshotProbability: number
  readonly transferProbability: number
  readonly campaignProbability: number
  readonly proposalProbability: number
  readonly readProbability: number
  /**
   * true: every lost packet is reported to its sender as unreachable, as a TCP
   * transport would (a loss is a broken connection). false: losses are
   * datagram-like and reported only with unreachableReportProbability, so the
   * core must recover from silent loss on its own.
   */
  readonly reportEveryLoss: boolean
  /**
   * A careful operator never has the leader of a two-voter configuration
   * remove itself; a reckless one does whatever the seed says. (Wiping a node
   * and re-adding it under the same id is no longer a reckless move: with
   * incarnations it is safe, and every seed may do it; see sim-ci.ts.)
   */
  readonly carefulOperator: boolean
  readonly unreachableReportProbability: number
  readonly keyCount: number
}

export interface WeatherOverrides {
  readonly nodeCount?: ClusterSize
  /** Applied last, over whatever the seed drew. */
  readonly patch?: Partial<Weather>
  readonly raftPatch?: Partial<Weather['raft']>
}

/** Off with probability `offChance`, else uniform in [lo, hi). */
function maybe(prng: Prng, offChance: number, lo: number, hi: number): number {
  return prng.chance(offChance) ? 0 : lo + prng.next() * (hi - lo)
}

/**
 * `side` draws what was added after seeds were catalogued (member wipes), so
 * that `prng` draws exactly what it always did and a known seed replays the
 * same run as before when the addition is patched off; `chain` likewise for
 * what came after that (chains of replacements), so `side` is untouched too;
 * `cache` the log's memory bound (LOG_CACHE_BYTES).
 */
export function drawWeather(prng: Prng, side: Prng, chain: Prng, cache: Prng, overrides: WeatherOverrides = {}): Weather {
  // Drawn even when overridden, so that --nodes changes nothing else about the seed.
  const drawnCount = prng.pick<ClusterSize>([1, 3, 3, 5, 5])
  const nodeCount = overrides.nodeCount ?? drawnCount
  const electionTimeoutTicks = 4 + prng.int(9)
  const latencyUnitsMin = 1 + prng.int(5)
  const drawn: Weather = {
    nodeCount,
    spareCount: prng.int(3),
    bootstrap: prng.chance(0.6) ? 'static' : 'grow',
    raft: {
      electionTimeoutTicks,
      heartbeatIntervalTicks: 1 + prng.int(Math.max(1, Math.floor(electionTimeoutTicks / 4))),
      preVote: prng.chance(0.85),
      checkQuorum: prng.chance(0.85),
      appendEntriesMax: prng.pick([1, 2, 4, 16, 64]),
      appendBytesMax: prng.pick([64, 1024, 1 << 20]),
      inflightAppendsMax: prng.pick([1, 2, 4, 16]),
      uncommittedEntriesMax: prng.pick([8, 64, 1024]),
      applyEntriesMax: prng.pick([1, 4, 4096]),
      // Half the seeds hold a few entries' data in memory and read the rest
      // back from the store (LOG_CACHE_BYTES); the others never release.
      logCacheBytes: cache.chance(0.5) ? Infinity : cache.pick([0, 128, 1024]),
      // Drawn after the cache's bound, from its stream, so that older seeds keep their other draws.
      inflightBytesMax: cache.chance(0.5) ? Infinity : cache.pick([1, 64, 1024]),
    },
    link: {
      dropProbability: maybe(prng, 0.3, 0, 0.25),
      duplicateProbability: maybe(prng, 0.5, 0, 0.1),
      latencyUnitsMin,
      latencyUnitsMax: latencyUnitsMin + prng.pick([0, 2, 5, 10, 30]),
    },
    faultTicks: 80 + prng.int(nodeCount === 5 ? 120 : 220),
    partitionProbability: maybe(prng, 0.3, 0.005, 0.06),
    partitionTicksMax: 5 + prng.int(40),
    isolateNewLeaderProbability: maybe(prng, 0.7, 0.05, 0.5),
    crashProbability: maybe(prng, 0.3, 0.002, 0.04),
    crashInReadyProbability: prng.next(),
    crashLeaderProbability: prng.next() * 0.5,
    restartProbability: 0.02 + prng.next() * 0.3,
    tickSkipProbability: maybe(prng, 0.6, 0, 0.3),
    membershipProbability: maybe(prng, 0.4, 0.005, 0.08),
    wipeProbability: prng.next(),
    snapshotProbability: maybe(prng, 0.3, 0.005, 0.1),
    transferProbability: maybe(prng, 0.5, 0.002, 0.03),
    campaignProbability: maybe(prng, 0.7, 0.001, 0.02),
    proposalProbability: 0.1 + prng.next() * 0.8,
    readProbability: 0.05 + prng.next() * 0.6,
    reportEveryLoss: prng.chance(0.5),
    carefulOperator: prng.chance(0.5),
    unreachableReportProbability: prng.next(),
    keyCount: 1 + prng.int(6),
    memberWipeProbability: maybe(side, 0.5, 0.001, 0.02),
    replacementChainProbability: maybe(chain, 0.3, 0.01, 0.1),
  }
  const patched = { ...drawn, ...overrides.patch }
  return { ...patched, raft: { ...patched.raft, ...overrides.raftPatch } }
}
