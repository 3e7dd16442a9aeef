// The numbers GET /status derives for the status page: rates and quantiles
// between two readings of a Prometheus histogram (as histogram_quantile()
// computes them), load samples in ms, and the bounded log of leader changes.
import { Histogram } from 'prom-client'
import t, { type Test } from 'tap'
import { countBetween, quantileBetween, readingFrom, type HistogramReading } from '../../lib/app/histogram-window.js'
import { loadSampleBetween, recordLeaderChange } from '../../lib/app/status-recorder.js'
import type { LeaderChange } from '../../lib/server/http/status-body.js'

const bounds = [0.001, 0.01, 0.1, Infinity]
const reading = (...cumulativeCounts: number[]): HistogramReading => ({ upperBounds: bounds, cumulativeCounts })

/** Equal up to floating-point rounding. */
function near(t: Test, actual: number | null, expected: number, what: string): void {
  t.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what}: ${String(actual)} ≈ ${expected}`)
}

t.test('a reading from prom-client lists the buckets in order with +Inf last', async (t) => {
  const h = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.01, 0.001, 0.1], registers: [] })
  h.observe(0.0005)
  h.observe(0.05)
  h.observe(3)
  t.same(readingFrom((await h.get()).values), { upperBounds: [0.001, 0.01, 0.1, Infinity], cumulativeCounts: [1, 1, 2, 3] })
})

t.test('only the observations between the readings count', async (t) => {
  const earlier = reading(10, 20, 30, 30)
  const later = reading(10, 20, 130, 130)
  t.equal(countBetween(earlier, later), 100)
  // All 100 new ones fell in (0.01, 0.1]: the median is halfway through that bucket.
  near(t, quantileBetween(earlier, later, 0.5), 0.055, 'median')
})

t.test('a quantile is interpolated linearly inside the bucket holding its rank', async (t) => {
  const zero = reading(0, 0, 0, 0)
  // 50 in (0, 1 ms], 40 in (1, 10 ms], 10 in (10, 100 ms].
  const later = reading(50, 90, 100, 100)
  near(t, quantileBetween(zero, later, 0.25), 0.0005, 'p25')
  near(t, quantileBetween(zero, later, 0.7), 0.001 + 0.009 * (20 / 40), 'p70')
  near(t, quantileBetween(zero, later, 0.99), 0.01 + 0.09 * 0.9, 'p99')
})

t.test('a rank in the +Inf bucket gives the highest finite bound; no observations give null', async (t) => {
  const zero = reading(0, 0, 0, 0)
  t.equal(quantileBetween(zero, reading(0, 0, 1, 100), 0.99), 0.1)
  t.equal(quantileBetween(zero, zero, 0.99), null)
  t.equal(countBetween(zero, zero), 0)
})

t.test('a load sample gives per-second rates and quantiles in milliseconds', async (t) => {
  const zero = reading(0, 0, 0, 0)
  const earlier = { atMs: 10_000, writes: zero, reads: zero, fsyncs: zero }
  const later = { atMs: 12_000, writes: reading(0, 100, 100, 100), reads: zero, fsyncs: reading(40, 40, 40, 40) }
  const sample = loadSampleBetween(earlier, later)
  t.match(sample, { atMs: 12_000, intervalMs: 2000, writesPerSec: 50, readsPerSec: 0, fsyncsPerSec: 20, readP99Ms: null, readP50Ms: null })
  t.equal(sample.writeP50Ms, 5.5)
  t.equal(sample.writeP99Ms, 9.91)
  t.equal(sample.fsyncP50Ms, 0.5)
})

t.test('leader changes are recorded once per (term, leader) and bounded, oldest dropped first', async (t) => {
  const changes: LeaderChange[] = []
  recordLeaderChange(changes, { atMs: 1, term: 1, leader: null }, 3)
  recordLeaderChange(changes, { atMs: 2, term: 1, leader: null }, 3)
  recordLeaderChange(changes, { atMs: 3, term: 2, leader: 'n1' }, 3)
  recordLeaderChange(changes, { atMs: 4, term: 2, leader: 'n1' }, 3)
  t.same(changes.map((c) => c.atMs), [1, 3], 'repeats of the newest are not recorded')
  recordLeaderChange(changes, { atMs: 5, term: 3, leader: null }, 3)
  recordLeaderChange(changes, { atMs: 6, term: 4, leader: null }, 3)
  t.same(changes, [
    { atMs: 3, term: 2, leader: 'n1' },
    { atMs: 5, term: 3, leader: null },
    { atMs: 6, term: 4, leader: null },
  ], 'a term bump without a leader is a change; beyond the bound the oldest goes')
})
