// Issue 21: a node that rejoins empty through a leader that was itself
// replaced replays entries naming that leader's previous incarnation. Before
// the fix it dropped the leader's messages from then on and was never
// promoted. These CI-profile seeds build such chains of replacements
// (sim-scenario.ts, replacementChainProbability) and must pass with the real
// core; with the core from before the fix (the 'follow-listed-leaders-only'
// variant) the replaced-members liveness check must fail them, or this test
// no longer reaches what it is about. Found by a search over seeds 1-400 with
// that core: 3, 144, 168, 372, 379 and 393 failed it. Once ReadIndex rounds
// asked only a quorum of voters, the message pattern moved: 3, 37, 53, 130,
// 350, 372 and 393 fail it, and 144 and 168 no longer do.
import t from 'tap'
import { runSeed, seedOptions } from './run-seeds.js'
import { ciProfile } from './sim-ci.js'
import { followsOnlyListedLeaders } from './sim-variants.js'

const seeds = [3, 372, 393]

for (const seed of seeds) {
  t.test(`seed ${seed}: every member replaced in a chain becomes a caught-up voter again`, async (t) => {
    const r = runSeed(seedOptions(seed, ciProfile))
    t.equal(r.error?.message ?? null, null, 'every safety and liveness property holds')
    t.ok(r.stats.chainWipes > 0, `a member is wiped while a replaced node leads (${r.stats.chainWipes})`)
    t.ok(r.stats.replacedPromoted > 0, `rejoined members are promoted (${r.stats.replacedPromoted})`)
  })

  t.test(`seed ${seed} with the core from before the fix leaves a replaced member behind for good`, async (t) => {
    const r = runSeed({ ...seedOptions(seed, ciProfile), coreFactory: followsOnlyListedLeaders })
    t.match(r.error?.message ?? '', /^liveness: replaced members not caught-up voters/, 'the simulator reports it')
  })
}
