// The checks can fail: each deliberately broken variant (of the runtime or of
// the core) must be caught within a bounded number of seeds, by a safety
// checker rather than by some unrelated error.
import t from 'tap'
import { formatFailure, runBatch } from './run-seeds.js'
import { ciProfile } from './sim-ci.js'
import type { VariantName } from './sim-variants.js'

/** Detection rates are 2-5% per seed, so missing all of these is below 1 in 10,000. */
const seedsMax = 400

const cases: readonly { variant: VariantName; what: string; rules: readonly string[] }[] = [
  { variant: 'forget-vote', what: 'a store that forgets its vote on restart', rules: ['election safety'] },
  {
    variant: 'send-before-persist',
    what: 'a runtime that acknowledges before persisting',
    rules: ['durability', 'state-machine safety', 'leader completeness', 'log matching', 'linearizable reads'],
  },
  {
    variant: 'commit-previous-term',
    what: 'a leader that commits a previous-term entry by counting replicas (Figure 8)',
    rules: ['leader completeness', 'state-machine safety', 'durability', 'linearizable reads'],
  },
]

for (const c of cases) {
  t.test(`the simulator catches ${c.what}`, async (t) => {
    const profile = { ...ciProfile, variant: c.variant }
    const b = runBatch({ start: 1, count: seedsMax, stopOnFailure: true, ...profile })
    const first = b.failures[0]
    t.ok(first !== undefined, `a violation within ${seedsMax} seeds (found after ${b.seeds})`)
    if (first === undefined) return
    t.comment(formatFailure({ ...first, trace: first.trace.slice(-20) }, profile))
    const message = first.error?.message ?? ''
    t.ok(c.rules.some((r) => message.startsWith(`${r}:`)), `reported as a safety violation: ${message}`)
  })
}
