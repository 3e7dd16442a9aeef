// Runtime seed 402492 found it: four voters, one wiped (it can vote for no
// one until it rejoins) and one back from a long outage with a log that
// lists the previous incarnation of a member replaced meanwhile. The stale
// voter dropped that member's vote requests, the only quorum left needed its
// vote, and it could catch up only from a leader: no leader, for good. A
// voter now answers a vote request stamped for exactly its own incarnation
// whichever incarnation of the candidate its log lists (Raft.asksVoteOfThisIncarnation).
// These seeds must pass with the real core and fail the liveness check with
// the core from before the fix (the 'refuse-unlisted-candidates' variant), or
// this test no longer reaches what it is about. Found by a search with that
// variant over seeds 1-100,000: most of what it fails (10575, 15504, 20224,
// 36492) fails the same way with the real core, two voters left with one of
// them wiped, a quorum no core can make; 12015 is the one it alone fails.
import t from 'tap'
import { runSeed, seedOptions } from './run-seeds.js'
import { ciProfile } from './sim-ci.js'
import { replacementWeather } from './sim-variants.js'

const seeds = [12015]

for (const seed of seeds) {
  t.test(`seed ${seed}: a voter whose log lists a replaced candidate's previous incarnation still helps elect it`, async (t) => {
    const r = runSeed(seedOptions(seed, { ...ciProfile, patch: replacementWeather }))
    t.equal(r.error?.message ?? null, null, 'every safety and liveness property holds')
    t.ok(r.stats.wipes > 0, `the run wipes members (${r.stats.wipes})`)
  })

  t.test(`seed ${seed} with the core from before the fix elects no leader once the weather calms`, async (t) => {
    const r = runSeed(seedOptions(seed, { ...ciProfile, variant: 'refuse-unlisted-candidates' }))
    t.match(r.error?.message ?? '', /^liveness: no proposal committed/, 'the simulator reports it')
  })
}
