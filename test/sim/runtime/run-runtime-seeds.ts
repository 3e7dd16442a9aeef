// Runs the runtime simulator seed by seed and reports what it simulated; on
// a violation prints the seed, the command that replays it and the trace of
// the events before it. Also a CLI:
//   node --enable-source-maps dist/test/sim/runtime/run-runtime-seeds.js --seeds N [--start S] [--nodes 1|3|5]
//   node --enable-source-maps dist/test/sim/runtime/run-runtime-seeds.js --seed N [--trace] [--patch JSON]
// Exits 1 when any seed failed.
import { pathToFileURL } from 'node:url'
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
    addStats(totals as unknown as Tree, r.stats as unknown as Tree)
    if (!r.ok) failures.push(r)
  }
  return { seeds: count, bySize, failures, totals, elapsedMs: performance.now() - started }
}

export function seedOptions(seed: number, p: RuntimeProfile): RuntimeSimOptions {
  return { seed, ...(p.nodeCount === undefined ? {} : { nodeCount: p.nodeCount }), ...(p.patch === undefined ? {} : { patch: p.patch }) }
}

interface Tree {
  [k: string]: number | Tree
}

function addStats(into: Tree, s: Tree): void {
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number') into[k] = k === 'calmMs' ? Math.max(into[k] as number, v) : (into[k] as number) + v
    else addStats(into[k] as Tree, v)
  }
}

export function replayCommand(seed: number, p: RuntimeProfile): string {
  const extra = `${p.nodeCount === undefined ? '' : ` --nodes ${p.nodeCount}`}${p.patch === undefined ? '' : ` --patch '${JSON.stringify(p.patch)}'`}`
  return `node --enable-source-maps dist/test/sim/runtime/run-runtime-seeds.js --seed ${seed}${extra} --trace`
}

export function formatRuntimeFailure(r: RuntimeSeedResult, p: RuntimeProfile): string {
  const lines = [
    `RUNTIME SIMULATION FAILED: seed ${r.seed} after ${r.stats.steps} steps, ${r.stats.simulatedMs.toFixed(0)} simulated ms`,
    `  ${r.error?.message ?? 'unknown error'}`,
    `  replay: ${replayCommand(r.seed, p)}`,
  ]
  if (r.weather !== null) lines.push(`  weather: ${describeRuntimeWeather(r.weather)}`)
  if (r.error !== null && r.error.name !== 'SimViolation' && r.error.stack !== undefined) lines.push(r.error.stack)
  lines.push(`  last ${r.trace.length} events:`)
  for (const t of r.trace) lines.push(`    ${t}`)
  return lines.join('\n')
}

export function formatRuntimeSummary(b: RuntimeBatchResult): string {
  const t = b.totals
  const c = t.clients
  return [
    `runtime seeds run: ${b.seeds} (1-node ${b.bySize[1]}, 3-node ${b.bySize[3]}, 5-node ${b.bySize[5]}); steps: ${t.steps}; simulated: ${(t.simulatedMs / 1000).toFixed(1)}s; time: ${(b.elapsedMs / 1000).toFixed(1)}s; failures: ${b.failures.length}`,
    `  nodes started ${t.starts} (joins ${t.joins}), killed ${t.kills} (power losses ${t.powerLosses}), SIGTERM ${t.sigterms}, stopped by disk faults ${t.diskFaultStops}; removes ${t.removes}, wipes ${t.wipes}, transfers ${t.transfers}, partitions ${t.partitions}, leaders ${t.leadersElected}`,
    `  snapshots saved ${t.snapshotsSaved}, installed ${t.snapshotsInstalled}; net ${JSON.stringify(t.net)}; disk ${JSON.stringify(t.disk)}`,
    `  client ops ${c.invoked} (ok ${c.ok}, failed ${c.failed}, unknown ${c.unknown}); writes acked ${c.writesAcked}, reads ${c.readsOk}, stale reads ${c.staleReads}, MULTI/EXEC ${c.multiExecs}, via a follower ${c.forwardedOps}; TTL sets ${t.ttl.sets}, TTL reads ${t.ttl.reads} (gone ${t.ttl.readsGone}); inconclusive key searches ${t.searchesInconclusive}; slowest calm ${t.calmMs.toFixed(0)}ms`,
  ].join('\n')
}

// ---- CLI --------------------------------------------------------------------------------

interface CliArgs {
  start: number
  count: number
  nodeCount?: RuntimeClusterSize
  patch?: Partial<RuntimeWeather>
  trace: boolean
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { start: 1, count: 100, trace: false }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) usage(`${flag} needs a value`)
      return v
    }
    if (flag === '--seeds') args.count = int(value(), flag)
    else if (flag === '--start') args.start = int(value(), flag)
    else if (flag === '--seed') {
      args.start = int(value(), flag)
      args.count = 1
    } else if (flag === '--nodes') {
      const n = int(value(), flag)
      if (n !== 1 && n !== 3 && n !== 5) usage('--nodes must be 1, 3 or 5')
      args.nodeCount = n
    } else if (flag === '--patch') args.patch = JSON.parse(value()) as Partial<RuntimeWeather>
    else if (flag === '--trace') args.trace = true
    else if (flag === '--help' || flag === '-h') usage('')
    else usage(`unknown argument ${flag}`)
  }
  return args
}

function int(s: string, flag: string | undefined): number {
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < 0) usage(`${flag} needs a non-negative integer, got ${s}`)
  return n
}

function usage(problem: string): never {
  if (problem !== '') console.error(`run-runtime-seeds: ${problem}`)
  console.error('usage: run-runtime-seeds.js [--seeds N] [--start S] [--seed N] [--nodes 1|3|5] [--patch JSON] [--trace]')
  process.exit(problem === '' ? 0 : 2)
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const profile: RuntimeProfile = {
    ...(args.nodeCount === undefined ? {} : { nodeCount: args.nodeCount }),
    ...(args.patch === undefined ? {} : { patch: args.patch }),
  }
  if (args.trace && args.count === 1) {
    const r = await runRuntimeSeed({ ...seedOptions(args.start, profile), live: (line) => console.log(line) })
    console.log(r.ok ? `seed ${r.seed} passed: ${r.stats.steps} steps, ${r.stats.simulatedMs.toFixed(0)} simulated ms` : formatRuntimeFailure(r, profile))
    process.exit(r.ok ? 0 : 1)
  }
  const b = await runRuntimeBatch(args.start, args.count, profile)
  for (const f of b.failures.slice(0, 3)) console.log(formatRuntimeFailure(f, profile) + '\n')
  if (b.failures.length > 0) console.log(`failing seeds: ${b.failures.map((f) => f.seed).join(' ')}`)
  console.log(formatRuntimeSummary(b))
  process.exit(b.failures.length > 0 ? 1 : 0)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main()
