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
    addStats(totals, r.stats)
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

function addStats(into: SimStats, s: SimStats): void {
  const target = into as unknown as Record<string, number | Record<string, number>>
  for (const [k, v] of Object.entries(s) as [string, number | Record<string, number>][]) {
    if (typeof v === 'number') {
      target[k] = k === 'livenessTicks' ? Math.max(target[k] as number, v) : (target[k] as number) + v
    } else {
      const sub = target[k] as Record<string, number>
      for (const [kk, vv] of Object.entries(v)) sub[kk] = (sub[kk] ?? 0) + vv
    }
  }
}

export function replayCommand(seed: number, p: SeedProfile): string {
  const extra = `${p.nodeCount === undefined ? '' : ` --nodes ${p.nodeCount}`}${p.variant === undefined ? '' : ` --variant ${p.variant}`}${p.tcp === true ? ' --tcp' : ''}${p.careful === true ? ' --careful' : ''}${p.patch === undefined ? '' : ` --patch '${JSON.stringify(p.patch)}'`}`
  return `node --enable-source-maps dist/test/sim/run-seeds.js --seed ${seed}${extra} --trace`
}

export function formatFailure(r: SeedResult, p: SeedProfile): string {
  const lines = [
    `SIMULATION FAILED: seed ${r.seed}${p.variant === undefined ? '' : ` (variant ${p.variant})`} after ${r.stats.steps} steps, tick ${r.stats.ticks}`,
    `  ${r.error?.message ?? 'unknown error'}`,
    `  replay: ${replayCommand(r.seed, p)}`,
  ]
  if (r.weather !== null) lines.push(`  weather: ${describeWeather(r.weather)}`)
  if (r.error !== null && r.error.name !== 'SimViolation' && r.error.stack !== undefined) lines.push(r.error.stack)
  lines.push(`  last ${r.trace.length} events:`)
  for (const t of r.trace) lines.push(`    ${t}`)
  return lines.join('\n')
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

interface CliArgs {
  start: number
  count: number
  nodeCount?: ClusterSize
  variant?: VariantName
  tcp: boolean
  careful: boolean
  patch?: Partial<Weather>
  trace: boolean
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { start: 1, count: 100, tcp: false, careful: false, trace: false }
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
    } else if (flag === '--variant') {
      const v = value()
      if (!(variantNames as readonly string[]).includes(v)) usage(`--variant must be one of ${variantNames.join(', ')}`)
      args.variant = v as VariantName
    } else if (flag === '--trace') args.trace = true
    else if (flag === '--tcp') args.tcp = true
    else if (flag === '--careful') args.careful = true
    else if (flag === '--patch') args.patch = parsePatch(value())
    else if (flag === '--help' || flag === '-h') usage('')
    else usage(`unknown argument ${flag}`)
  }
  return args
}

function parsePatch(text: string): Partial<Weather> {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Partial<Weather>
  } catch {
    // Reported below.
  }
  return usage(`--patch needs a JSON object of weather fields, got ${text}`)
}

function int(s: string, flag: string | undefined): number {
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < 0) usage(`${flag} needs a non-negative integer, got ${s}`)
  return n
}

function usage(problem: string): never {
  if (problem !== '') console.error(`run-seeds: ${problem}`)
  console.error('usage: run-seeds.js [--seeds N] [--start S] [--seed N] [--nodes 1|3|5] [--variant NAME] [--tcp] [--careful] [--patch JSON] [--trace]')
  process.exit(problem === '' ? 0 : 2)
}

function main(): void {
  const args = parseArgs(process.argv.slice(2))
  const profile: SeedProfile = {
    ...(args.nodeCount === undefined ? {} : { nodeCount: args.nodeCount }),
    ...(args.variant === undefined ? {} : { variant: args.variant }),
    tcp: args.tcp,
    careful: args.careful,
    ...(args.patch === undefined ? {} : { patch: args.patch }),
  }
  if (args.trace && args.count === 1) {
    // Replay one seed, printing every event as it happens.
    const r = runSeed({ ...seedOptions(args.start, profile), live: (line) => console.log(line) })
    console.log(r.ok ? `seed ${r.seed} passed: ${r.stats.steps} steps, ${r.stats.ticks} ticks` : formatFailure(r, profile))
    process.exit(r.ok ? 0 : 1)
  }
  const b = runBatch({ start: args.start, count: args.count, ...profile })
  for (const f of b.failures.slice(0, 3)) console.log(formatFailure(f, profile) + '\n')
  if (b.failures.length > 0) console.log(`failing seeds: ${b.failures.map((f) => f.seed).join(' ')}`)
  console.log(formatSummary(b))
  process.exit(b.failures.length > 0 ? 1 : 0)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
