// What a fuzz target reports: how many cases ran and the first few that
// broke a rule, each with the seed and case number that replay it.

export interface FuzzFailure {
  readonly target: string
  readonly seed: number
  readonly caseIndex: number
  readonly rule: string
  /** The input, hex, cut to 512 bytes. */
  readonly inputHex: string
}

export interface FuzzResult {
  readonly target: string
  readonly cases: number
  readonly failures: FuzzFailure[]
  /** Largest heap growth seen over the run, in bytes. */
  heapGrowthBytesMax: number
}

export const FAILURES_KEPT_MAX = 20

export function newResult(target: string, cases: number): FuzzResult {
  return { target, cases, failures: [], heapGrowthBytesMax: 0 }
}

export function fail(result: FuzzResult, seed: number, caseIndex: number, rule: string, input: Buffer): void {
  if (result.failures.length >= FAILURES_KEPT_MAX) return
  result.failures.push({ target: result.target, seed, caseIndex, rule, inputHex: input.subarray(0, 512).toString('hex') })
}

/** Samples heap growth against a baseline; the fuzz tests bound it. */
export function sampleHeap(result: FuzzResult, baselineBytes: number): void {
  const growth = process.memoryUsage().heapUsed - baselineBytes
  if (growth > result.heapGrowthBytesMax) result.heapGrowthBytesMax = growth
}

/** A per-case seed derived from the run seed, so one case replays alone. */
export function caseSeed(seed: number, caseIndex: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + caseIndex) >>> 0
}
