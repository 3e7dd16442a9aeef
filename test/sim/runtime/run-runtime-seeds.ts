// Runs the runtime simulator seed by seed and reports what it simulated; on
// a violation prints the seed, the command that replays it and the trace of
// the events before it. Also a CLI:
//   node --enable-source-maps dist/test/sim/runtime/run-runtime-seeds.js --seeds N [--start S] [--nodes 1|3|5]
//   node --enable-source-maps dist/test/sim/runtime/run-runtime-seeds.js --seed N [--trace] [--patch JSON]
// Exits 1 when any seed failed.
import { pathToFileURL } from 'node:url'
import { addCounters, formatFailureReport, parseSeedArgs, printBatch, replayCommand as sharedReplayCommand, profileFlags, type CounterTree } from '../seed-cli.js'
import { emptyRuntimeStats, RuntimeCluster, type RuntimeSimOptions, type RuntimeStats } from './runtime-cluster.js'
import { describeRuntimeWeather, type RuntimeClusterSize, type RuntimeWeather } from './runtime-weather.js'

export interface RuntimeSeedResult {
  readonly seed: number
  readonly ok: boolean
  readonly error: Error | null
  readonly weather: RuntimeWeather | null
  readonly stats: RuntimeStats
  readonly trace: readonly string[]
}

export async function runRuntimeSeed(options: RuntimeSimOptions): Promise<RuntimeSeedResult> {
  let cluster: RuntimeCluster | null = null
  try {
    cluster = new RuntimeCluster(options)
    await cluster.run()
    return { seed: options.seed, ok: true, error: null, weather: cluster.weather, stats: cluster.stats, trace: [] }
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err))
    return { seed: options.seed, ok: false, error, weather: cluster?.weather ?? null, stats: cluster?.stats ?? emptyRuntimeStats(), trace: cluster?.trace.lines() ?? [] }
  }
}

export interface RuntimeProfile {
  readonly nodeCount?: RuntimeClusterSize
  readonly patch?: Partial<RuntimeWeather>
}

export interface RuntimeBatchResult {
  readonly seeds: number
  readonly bySize: Record<RuntimeClusterSize, number>
  readonly failures: RuntimeSeedResult[]
  readonly totals: RuntimeStats
  readonly elapsedMs: number
}

export async function runRuntimeBatch(start: number, count: number, profile: RuntimeProfile = {}): Promise<RuntimeBatchResult> {
  const started = performance.now()
  const totals = emptyRuntimeStats()
  const failures: RuntimeSeedResult[] = []
  const bySize: Record<RuntimeClusterSize, number> = { 1: 0, 3: 0, 5: 0 }
  for (let seed = start; seed < start + count; seed++) {
    const r = await runRuntimeSeed(seedOptions(seed, profile))
    if (r.weather !== null) bySize[r.weather.nodeCount]++
    addCounters(totals as unknown as CounterTree, r.stats as unknown as CounterTree, maxCounters)
    if (!r.ok) failures.push(r)
  }
  return { seeds: count, bySize, failures, totals, elapsedMs: performance.now() - started }
}

export function seedOptions(seed: number, p: RuntimeProfile): RuntimeSimOptions {
  return { seed, ...(p.nodeCount === undefined ? {} : { nodeCount: p.nodeCount }), ...(p.patch === undefined ? {} : { patch: p.patch }) }
}

export function replayCommand(seed: number, p: RuntimeProfile): string {
  return sharedReplayCommand('runtime/run-runtime-seeds.js', seed, profileFlags(p))
}

export function formatRuntimeFailure(r: RuntimeSeedResult, p: RuntimeProfile): string {
  return formatFailureReport({
    headline: `RUNTIME SIMULATION FAILED: seed ${r.seed} after ${r.stats.steps} steps, ${r.stats.simulatedMs.toFixed(0)} simulated ms`,
    error: r.error,
    replay: replayCommand(r.seed, p),
    weather: r.weather === null ? null : describeRuntimeWeather(r.weather),
    trace: r.trace,
  })
}

export function formatRuntimeSummary(b: RuntimeBatchResult): string {
  const t = b.totals
  const c = t.clients
  return [
    `runtime seeds run: ${b.seeds} (1-node ${b.bySize[1]}, 3-node ${b.bySize[3]}, 5-node ${b.bySize[5]}); steps: ${t.steps}; simulated: ${(t.simulatedMs / 1000).toFixed(1)}s; time: ${(b.elapsedMs / 1000).toFixed(1)}s; failures: ${b.failures.length}`,
    `  nodes started ${t.starts} (joins ${t.joins}), killed ${t.kills} (power losses ${t.powerLosses}), SIGTERM ${t.sigterms}, stopped by disk faults ${t.diskFaultStops}; removes ${t.removes}, wipes ${t.wipes}, members wiped in place ${t.memberWipes} (replaced ${t.memberReplacements}), transfers ${t.transfers}, partitions ${t.partitions}, leaders ${t.leadersElected}`,
    `  snapshots saved ${t.snapshotsSaved}, installed ${t.snapshotsInstalled}; net ${JSON.stringify(t.net)}; disk ${JSON.stringify(t.disk)}`,
    `  client ops ${c.invoked} (ok ${c.ok}, failed ${c.failed}, unknown ${c.unknown}); writes acked ${c.writesAcked}, reads ${c.readsOk}, stale reads ${c.staleReads}, MULTI/EXEC ${c.multiExecs}, WATCH+EXEC applied ${c.watchedApplied} aborted ${c.watchAborted}, SCAN ${c.scans}, via a follower ${c.forwardedOps}; TTL sets ${t.ttl.sets}, TTL reads ${t.ttl.reads} (gone ${t.ttl.readsGone}); inconclusive key searches ${t.searchesInconclusive}; slowest calm ${t.calmMs.toFixed(0)}ms`,
    `  core checks on the real nodes: new leaders' logs complete ${t.leaderLogsChecked}, ReadIndex answers at or above the read floor ${t.readFloorsChecked}`,
  ].join('\n')
}

// ---- CLI --------------------------------------------------------------------------------

/** The slowest calm is the worst seed's, not a sum. */
const maxCounters: ReadonlySet<string> = new Set(['calmMs'])

async function main(): Promise<void> {
  const args = parseSeedArgs(process.argv.slice(2), { program: 'run-runtime-seeds', extraUsage: '' })
  const profile: RuntimeProfile = {
    ...(args.nodeCount === undefined ? {} : { nodeCount: args.nodeCount }),
    ...(args.patch === undefined ? {} : { patch: args.patch as Partial<RuntimeWeather> }),
  }
  if (args.trace && args.count === 1) {
    const r = await runRuntimeSeed({ ...seedOptions(args.start, profile), live: (line) => console.log(line) })
    console.log(r.ok ? `seed ${r.seed} passed: ${r.stats.steps} steps, ${r.stats.simulatedMs.toFixed(0)} simulated ms` : formatRuntimeFailure(r, profile))
    process.exit(r.ok ? 0 : 1)
  }
  const b = await runRuntimeBatch(args.start, args.count, profile)
  process.exit(printBatch(b.failures, (f) => formatRuntimeFailure(f, profile), formatRuntimeSummary(b)))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main()
