// A failing runtime seed is only useful if it replays: the same seed must
// produce the same run — every step, every client answer, every fault.
import t from 'tap'
import { runRuntimeSeed } from './runtime/run-runtime-seeds.js'

t.test('a runtime seed replays step for step', async (t) => {
  for (const seed of [3, 8]) {
    const a = await runRuntimeSeed({ seed })
    const b = await runRuntimeSeed({ seed })
    t.ok(a.ok, `seed ${seed} passes${a.error === null ? '' : `: ${a.error.message}`}`)
    t.ok(a.stats.steps > 1000, `seed ${seed} simulated ${a.stats.steps} steps`)
    t.same(b.stats, a.stats, `seed ${seed}: the same ${a.stats.steps} steps, ${a.stats.clients.invoked} client operations and faults`)
  }
})

t.test('different seeds draw different runs', async (t) => {
  const a = await runRuntimeSeed({ seed: 5 })
  const b = await runRuntimeSeed({ seed: 6 })
  t.not(a.stats.steps, b.stats.steps, 'the step counts differ')
})
