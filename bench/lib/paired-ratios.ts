// Ratios of two targets measured back to back, repetition by repetition,
// and their median. On a shared machine the cost of everything drifts from
// one minute to the next (the replication floor's CPU per SET under -P 16
// was 9.3 µs in one run and 6.8 in another, session 33): a ratio taken
// within one repetition cancels most of that drift, where a ratio of two
// medians, each over repetitions minutes apart, keeps it.
import { median } from './result.js'

export interface PairedRatios {
  /** numerator[i] / denominator[i] for each repetition i. */
  readonly perRep: readonly number[]
  readonly median: number
}

/** Each repetition's ratio and their median; both lists must come from the same repetitions, in order. */
export function pairedRatios(numerators: readonly number[], denominators: readonly number[]): PairedRatios {
  if (numerators.length !== denominators.length) throw new Error(`pairedRatios: ${numerators.length} numerators against ${denominators.length} denominators`)
  const perRep = numerators.map((n, i) => n / (denominators[i] as number))
  return { perRep, median: median(perRep) }
}
