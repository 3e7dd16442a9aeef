// Runs simulated clusters seed by seed and reports what it simulated; on a
// violation prints the seed, the command that replays it and the trace of the
// events before it. Also a CLI:
//   node --enable-source-maps dist/test/sim/run-seeds.js --seeds N [--start S] [--nodes 1|3|5]
//   node --enable-source-maps dist/test/sim/run-seeds.js --seed N [--trace] [--nodes 1|3|5] [--variant NAME]
// --tcp makes every lost packet known to its sender (a TCP transport) and
// --careful makes the operator never wipe a node to re-add it, and keep a
// two-voter leader from removing itself, instead of drawing both per seed;
// --patch sets any weather field over the seed's draw.
// Exits 1 when any seed failed.
import { pathToFileURL } from 'node:url'
import { emptyStats, SimCluster, describeWeather, type SimOptions, type SimStats } from './sim-cluster.js'
import type { ClusterSize, Weather } from './sim-scenario.js'
import { addCounters, cliUsage, formatFailureReport, parseSeedArgs, printBatch, replayCommand as sharedReplayCommand, profileFlags, type CounterTree, type SeedCli } from './seed-cli.js'
import { variantNames, variantOptions, type VariantName } from './sim-variants.js'

export interface SeedResult {
  readonly seed: number
  readonly ok: boolean
  readonly error: Error | null
  readonly weather: Weather | null
  readonly stats: SimStats
  /** The last events before the failure, oldest first (empty on success). */
  readonly trace: readonly string[]
}

export function runSeed(options: SimOptions): SeedResult {
  let cluster: SimCluster | null = null
  try {
    cluster = new SimCluster(options)
    cluster.run()
    return { seed: options.seed, ok: true, error: null, weather: cluster.weather, stats: cluster.stats, trace: [] }
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err))
    return {
      seed: options.seed,
      ok: false,
      error,
      weather: cluster?.weather ?? null,
      stats: cluster?.stats ?? emptyStats(),
      trace: cluster?.trace.lines() ?? [],
    }
  }
}

export interface BatchOptions extends SeedProfile {
  readonly start: number
  readonly count: number
  /** Stop at the first failure (the broken-variant tests want the first one only). */
  readonly stopOnFailure?: boolean
}

export interface BatchResult {
  readonly seeds: number
  readonly bySize: Record<ClusterSize, number>
  readonly failures: SeedResult[]
  /** Every counter summed over the seeds. */
  readonly totals: SimStats
  readonly elapsedMs: number
}

export function runBatch(b: BatchOptions): BatchResult {
  const started = performance.now()
  const totals = emptyStats()
  const failures: SeedResult[] = []
  const bySize: Record<ClusterSize, number> = { 1: 0, 3: 0, 5: 0 }
  let seeds = 0
  for (let seed = b.start; seed < b.start + b.count; seed++) {
    const r = runSeed(seedOptions(seed, b))
    seeds++
    if (r.weather !== null) bySize[r.weather.nodeCount]++
    addCounters(totals as unknown as CounterTree, r.stats as unknown as CounterTree, maxCounters)
    if (!r.ok) {
      failures.push(r)
      if (b.stopOnFailure === true) break
    }
  }
  return { seeds, bySize, failures, totals, elapsedMs: performance.now() - started }
}

/** How a batch's seeds differ from the plain seed: what the replay command must repeat. */
export interface SeedProfile {
  readonly nodeCount?: ClusterSize
  readonly variant?: VariantName
  readonly tcp?: boolean
  readonly careful?: boolean
  /** Any other weather, over what the seed drew (--patch '{"crashProbability":0.2}'). */
  readonly patch?: Partial<Weather>
}

export function seedOptions(seed: number, p: SeedProfile): SimOptions {
  const variant = p.variant === undefined ? {} : variantOptions(p.variant)
  const tcpPatch = p.tcp === true ? { reportEveryLoss: true } : {}
  const carefulPatch = p.careful === true ? { carefulOperator: true } : {}
  return {
    ...variant,
    seed,
    ...(p.nodeCount === undefined ? {} : { nodeCount: p.nodeCount }),
    weatherPatch: { ...variant.weatherPatch, ...tcpPatch, ...carefulPatch, ...p.patch },
  }
}

export function replayCommand(seed: number, p: SeedProfile): string {
  const own = `${p.variant === undefined ? '' : ` --variant ${p.variant}`}${p.tcp === true ? ' --tcp' : ''}${p.careful === true ? ' --careful' : ''}`
  return sharedReplayCommand('run-seeds.js', seed, profileFlags(p, own))
}

export function formatFailure(r: SeedResult, p: SeedProfile): string {
  return formatFailureReport({
    headline: `SIMULATION FAILED: seed ${r.seed}${p.variant === undefined ? '' : ` (variant ${p.variant})`} after ${r.stats.steps} steps, tick ${r.stats.ticks}`,
    error: r.error,
    replay: replayCommand(r.seed, p),
    weather: r.weather === null ? null : describeWeather(r.weather),
    trace: r.trace,
  })
}

export function formatSummary(b: BatchResult): string {
  const t = b.totals
  return [
    `seeds run: ${b.seeds} (1-node ${b.bySize[1]}, 3-node ${b.bySize[3]}, 5-node ${b.bySize[5]}); steps: ${t.steps}; ticks: ${t.ticks}; time: ${(b.elapsedMs / 1000).toFixed(1)}s; failures: ${b.failures.length}`,
    `  messages ${t.messages} (dropped ${t.dropped}, duplicated ${t.duplicated}, lost in flight ${t.lostInFlight}); partitions ${JSON.stringify(t.partitions)}`,
    `  crashes ${t.crashes} (inside a Ready ${t.crashesInReady}), restarts ${t.restarts}, wipes ${t.wipes} (members wiped in place ${t.memberWipes}, rejoined ${t.rejoins}, promoted again ${t.replacedPromoted}, wiped while a replaced node led ${t.chainWipes}); conf changes ${JSON.stringify(t.confChanges)} (leader removed itself ${t.removedLeader})`,
    `  snapshots sent ${t.snapshotsSent}, installed ${t.snapshotsInstalled}, compactions ${t.compactions}; transfers ${t.transfers}; campaigns ${t.campaigns}; leaders ${t.leadersElected}`,
    `  writes accepted ${t.proposalsAccepted}, acknowledged ${t.writesAcked}; reads served ${t.readsServed}, failed ${t.readsFailed}; slowest recovery after calm ${t.livenessTicks} ticks`,
  ].join('\n')
}

// ---- CLI --------------------------------------------------------------------------------

/** The slowest recovery is the worst seed's, not a sum. */
const maxCounters: ReadonlySet<string> = new Set(['livenessTicks'])

function main(): void {
  const own: { variant?: VariantName; tcp: boolean; careful: boolean } = { tcp: false, careful: false }
  const cli: SeedCli = {
    program: 'run-seeds',
    extraUsage: '[--variant NAME] [--tcp] [--careful]',
    extraFlag: (flag, value) => {
      if (flag === '--variant') {
        const v = value()
        if (!(variantNames as readonly string[]).includes(v)) cliUsage(cli, `--variant must be one of ${variantNames.join(', ')}`)
        own.variant = v as VariantName
      } else if (flag === '--tcp') own.tcp = true
      else if (flag === '--careful') own.careful = true
      else return false
      return true
    },
  }
  const args = parseSeedArgs(process.argv.slice(2), cli)
  const profile: SeedProfile = {
    ...(args.nodeCount === undefined ? {} : { nodeCount: args.nodeCount }),
    ...(own.variant === undefined ? {} : { variant: own.variant }),
    tcp: own.tcp,
    careful: own.careful,
    ...(args.patch === undefined ? {} : { patch: args.patch as Partial<Weather> }),
  }
  if (args.trace && args.count === 1) {
    // Replay one seed, printing every event as it happens.
    const r = runSeed({ ...seedOptions(args.start, profile), live: (line) => console.log(line) })
    console.log(r.ok ? `seed ${r.seed} passed: ${r.stats.steps} steps, ${r.stats.ticks} ticks` : formatFailure(r, profile))
    process.exit(r.ok ? 0 : 1)
  }
  const b = runBatch({ start: args.start, count: args.count, ...profile })
  process.exit(printBatch(b.failures, (f) => formatFailure(f, profile), formatSummary(b)))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
