// A failing seed is only useful if it replays: the same seed must produce the
// same run, event for event.
import t from 'tap'
import { SimCluster } from './sim-cluster.js'
import { seedOptions } from './run-seeds.js'
import { ciProfile } from './sim-ci.js'

function record(seed: number): { lines: string[]; steps: number } {
  const lines: string[] = []
  const c = new SimCluster({ ...seedOptions(seed, ciProfile), live: (line) => lines.push(line) })
  c.run()
  return { lines, steps: c.stats.steps }
}

t.test('a seed replays event for event', async (t) => {
  for (const seed of [3, 17, 42]) {
    const a = record(seed)
    const b = record(seed)
    t.ok(a.steps > 0, `seed ${seed} simulated ${a.steps} steps`)
    t.equal(b.steps, a.steps, `seed ${seed}: same step count`)
    t.same(b.lines, a.lines, `seed ${seed}: same ${a.lines.length} trace lines`)
  }
})

t.test('different seeds explore different weather', async (t) => {
  const a = record(5).lines[0]
  const b = record(6).lines[0]
  t.not(a, b, 'the weather lines differ')
})
