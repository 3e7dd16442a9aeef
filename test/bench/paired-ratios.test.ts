// Paired ratios: each repetition's two measurements divided, then the median of those ratios.
import t from 'tap'
import { pairedRatios } from '../../bench/lib/paired-ratios.js'

t.test('each repetition is divided by its own pair, not by the other repetitions', async (t) => {
  // The machine was twice as busy in the second repetition: both targets doubled.
  const r = pairedRatios([20, 40, 22], [10, 20, 10])
  t.same(r.perRep, [2, 2, 2.2])
  t.equal(r.median, 2)
})

t.test('the median of the ratios differs from the ratio of the medians when the machine drifts', async (t) => {
  const raftkv = [18.3, 20.3, 17.1]
  const floor = [9.3, 9.3, 6.8]
  const r = pairedRatios(raftkv, floor)
  t.equal(r.median.toFixed(3), (20.3 / 9.3).toFixed(3))
  t.not(r.median.toFixed(3), (18.3 / 9.3).toFixed(3), 'the ratio of the medians (18.3 / 9.3) is not what a paired ratio gives')
})

t.test('lists from different numbers of repetitions are refused', async (t) => {
  t.throws(() => pairedRatios([1, 2], [1]), /2 numerators against 1 denominators/)
})

t.test('no repetitions give no median', async (t) => {
  t.ok(Number.isNaN(pairedRatios([], []).median))
})
