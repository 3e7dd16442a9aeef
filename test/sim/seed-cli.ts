// What both simulator drivers share (run-seeds.ts runs the core-only
// profile, runtime/run-runtime-seeds.ts the real runtime): the command line
// (--seeds, --start, --seed, --nodes, --patch, --trace, plus a driver's own
// flags), the failure report with the command that replays the seed, the
// batch report, and summing per-seed counters.

export type SeedClusterSize = 1 | 3 | 5

export interface SeedCliArgs {
  start: number
  count: number
  nodeCount?: SeedClusterSize
  /** Weather fields over the seed's own draw, as given to --patch (the driver checks nothing more). */
  patch?: Record<string, unknown>
  trace: boolean
}

export interface SeedCli {
  /** The script's name, for messages. */
  readonly program: string
  /** The usage line's flags beyond the shared ones, e.g. "[--tcp]". */
  readonly extraUsage: string
  /** Takes a flag of the driver's own; false when it is not one. */
  readonly extraFlag?: (flag: string, value: () => string) => boolean
}

export function parseSeedArgs(argv: readonly string[], cli: SeedCli): SeedCliArgs {
  const args: SeedCliArgs = { start: 1, count: 100, trace: false }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) cliUsage(cli, `${flag} needs a value`)
      return v
    }
    if (flag === '--seeds') args.count = cliInt(cli, value(), flag)
    else if (flag === '--start') args.start = cliInt(cli, value(), flag)
    else if (flag === '--seed') {
      args.start = cliInt(cli, value(), flag)
      args.count = 1
    } else if (flag === '--nodes') {
      const n = cliInt(cli, value(), flag)
      if (n !== 1 && n !== 3 && n !== 5) cliUsage(cli, '--nodes must be 1, 3 or 5')
      args.nodeCount = n
    } else if (flag === '--patch') args.patch = parsePatch(cli, value())
    else if (flag === '--trace') args.trace = true
    else if (flag === '--help' || flag === '-h') cliUsage(cli, '')
    else if (cli.extraFlag === undefined || !cli.extraFlag(flag, value)) cliUsage(cli, `unknown argument ${flag}`)
  }
  return args
}

export function cliUsage(cli: SeedCli, problem: string): never {
  if (problem !== '') console.error(`${cli.program}: ${problem}`)
  console.error(`usage: ${cli.program}.js [--seeds N] [--start S] [--seed N] [--nodes 1|3|5]${cli.extraUsage === '' ? '' : ` ${cli.extraUsage}`} [--patch JSON] [--trace]`)
  process.exit(problem === '' ? 0 : 2)
}

function cliInt(cli: SeedCli, s: string, flag: string): number {
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < 0) cliUsage(cli, `${flag} needs a non-negative integer, got ${s}`)
  return n
}

function parsePatch(cli: SeedCli, text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // Reported below.
  }
  return cliUsage(cli, `--patch needs a JSON object of weather fields, got ${text}`)
}

/** The command that replays one seed with its trace: `flags` are the profile's, each with its leading space. */
export function replayCommand(script: string, seed: number, flags: string): string {
  return `node --enable-source-maps dist/test/sim/${script} --seed ${seed}${flags} --trace`
}

/** The replay flags of a profile: the shared fields around the driver's own flags (`own`, each with its leading space). */
export function profileFlags(p: { readonly nodeCount?: SeedClusterSize; readonly patch?: object }, own = ''): string {
  return `${p.nodeCount === undefined ? '' : ` --nodes ${p.nodeCount}`}${own}${p.patch === undefined ? '' : ` --patch '${JSON.stringify(p.patch)}'`}`
}

export interface FailureReport {
  /** First line: what failed, where, after how much. */
  readonly headline: string
  readonly error: Error | null
  readonly replay: string
  /** The seed's weather in one line, when it was drawn before the failure. */
  readonly weather: string | null
  readonly trace: readonly string[]
}

/** A failed seed: what failed, the command that replays it, its weather, a stack unless it was a checker's violation, and the last events. */
export function formatFailureReport(r: FailureReport): string {
  const lines = [r.headline, `  ${r.error?.message ?? 'unknown error'}`, `  replay: ${r.replay}`]
  if (r.weather !== null) lines.push(`  weather: ${r.weather}`)
  if (r.error !== null && r.error.name !== 'SimViolation' && r.error.stack !== undefined) lines.push(r.error.stack)
  lines.push(`  last ${r.trace.length} events:`)
  for (const t of r.trace) lines.push(`    ${t}`)
  return lines.join('\n')
}

/** Prints a batch's first failures in full, the failing seeds and the summary; the process's exit code. */
export function printBatch<F extends { readonly seed: number }>(failures: readonly F[], format: (f: F) => string, summary: string): number {
  for (const f of failures.slice(0, 3)) console.log(format(f) + '\n')
  if (failures.length > 0) console.log(`failing seeds: ${failures.map((f) => f.seed).join(' ')}`)
  console.log(summary)
  return failures.length > 0 ? 1 : 0
}

export interface CounterTree {
  [k: string]: number | CounterTree
}

/** Adds one seed's counters into the batch's; the counters named in `maxKeys` keep the largest value instead. */
export function addCounters(into: CounterTree, s: CounterTree, maxKeys: ReadonlySet<string>): void {
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number') {
      const was = (into[k] as number | undefined) ?? 0
      into[k] = maxKeys.has(k) ? Math.max(was, v) : was + v
    } else {
      into[k] ??= {}
      addCounters(into[k] as CounterTree, v, maxKeys)
    }
  }
}
