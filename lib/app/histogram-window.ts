// Rates and quantiles over an interval from two readings of a cumulative
// Prometheus histogram, computed as Prometheus' histogram_quantile() does
// (linear within the bucket that holds the rank). The status page and
// GET /status use it so that no request pays for a second recording: the
// /metrics histograms already count every request.

/** One reading of a histogram: cumulative count per bucket, upper bounds ascending, the last +Infinity. */
export interface HistogramReading {
  readonly upperBounds: readonly number[]
  readonly cumulativeCounts: readonly number[]
}

/** prom-client's get() values (`le` labels, `_bucket` rows) as a reading; other rows are ignored. */
export function readingFrom(values: readonly { readonly metricName?: string; readonly value: number; readonly labels: Readonly<Record<string, string | number | undefined>> }[]): HistogramReading {
  const rows: { bound: number; count: number }[] = []
  for (const v of values) {
    if (v.metricName === undefined || !v.metricName.endsWith('_bucket')) continue
    const le = v.labels['le']
    rows.push({ bound: le === '+Inf' ? Infinity : Number(le), count: v.value })
  }
  rows.sort((a, b) => a.bound - b.bound)
  return { upperBounds: rows.map((r) => r.bound), cumulativeCounts: rows.map((r) => r.count) }
}

/** Observations between two readings of the same histogram (`later` taken after `earlier`). */
export function countBetween(earlier: HistogramReading, later: HistogramReading): number {
  return (later.cumulativeCounts.at(-1) ?? 0) - (earlier.cumulativeCounts.at(-1) ?? 0)
}

/**
 * The q-quantile (0 < q < 1) of the observations between two readings, in
 * the histogram's unit; null when there were none. A rank in the +Inf
 * bucket gives the highest finite bound, as histogram_quantile() does.
 */
export function quantileBetween(earlier: HistogramReading, later: HistogramReading, q: number): number | null {
  const bounds = later.upperBounds
  const total = countBetween(earlier, later)
  if (total <= 0) return null
  const rank = q * total
  let below = 0
  for (let i = 0; i < bounds.length; i++) {
    const cumulative = (later.cumulativeCounts[i] ?? 0) - (earlier.cumulativeCounts[i] ?? 0)
    if (cumulative >= rank && cumulative > below) {
      const upper = bounds[i] as number
      const lower = i === 0 ? 0 : (bounds[i - 1] as number)
      if (upper === Infinity) return lower
      return lower + (upper - lower) * ((rank - below) / (cumulative - below))
    }
    below = cumulative
  }
  return null
}
