// One measured run and how runs are summarized: every load generator (our
// ioredis driver, redis-benchmark, wrk) is reduced to this shape, so the
// report can put raftkv, Redis and etcd side by side.

export interface RunResult {
  /** Which system and setup: 'raftkv-3', 'redis-always', 'etcd-3', ... */
  readonly target: string
  /** Which workload: 'set-c50', 'set-c50-p16', ... */
  readonly workload: string
  /** 'driver' (bench/driver.ts), 'redis-benchmark' or 'wrk'. */
  readonly tool: string
  readonly requests: number
  readonly errors: number
  readonly seconds: number
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
}

/** The median of the runs by throughput, with each latency percentile's own median. */
export function medianRun(runs: readonly RunResult[]): RunResult {
  const first = runs[0]
  if (first === undefined) throw new Error('medianRun: no runs')
  const med = (pick: (r: RunResult) => number): number => median(runs.map(pick))
  return {
    target: first.target,
    workload: first.workload,
    tool: first.tool,
    requests: med((r) => r.requests),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    seconds: med((r) => r.seconds),
    opsPerSec: med((r) => r.opsPerSec),
    p50Ms: med((r) => r.p50Ms),
    p99Ms: med((r) => r.p99Ms),
    p999Ms: med((r) => r.p999Ms),
    maxMs: med((r) => r.maxMs),
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  if (sorted.length === 0) return NaN
  if (sorted.length % 2 === 1) return sorted[mid] as number
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function fmtOps(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return '–'
  return n < 10 ? n.toFixed(2) : n.toFixed(1)
}

export function fmtRatio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–'
  return `${(a / b).toFixed(2)}×`
}
