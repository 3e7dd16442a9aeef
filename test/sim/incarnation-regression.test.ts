// Seed 4471: a node removed, wiped and re-added under its old id, while only
// partly caught up, voted for a stale member whose log still listed its
// previous incarnation as a voter; that member then led without committed
// entries. Incarnation stamps fix it. The seed must pass with the real core
// and fail the same way with the stamp check switched off, or this test no
// longer reaches the interleaving it is about.
import t from 'tap'
import { runBatch } from './run-seeds.js'
import { ciProfile } from './sim-ci.js'

const seed = 4471

t.test('seed 4471: a wiped node back under its old id gives a stale member no vote', async (t) => {
  const b = runBatch({ start: seed, count: 1, ...ciProfile })
  t.equal(b.failures.length, 0, b.failures[0]?.error?.message ?? 'every safety and liveness property holds')
  t.ok(b.totals.wipes > 0, 'the run wipes a node')
})

t.test('seed 4471 without the incarnation check elects a leader missing committed entries', async (t) => {
  const b = runBatch({ start: seed, count: 1, ...ciProfile, variant: 'ignore-incarnation' })
  const message = b.failures[0]?.error?.message ?? ''
  t.match(message, /^leader completeness: /, 'the simulator reports the violation')
})
