// Runtime seed 402492 found it: four voters, one wiped (it can vote for no
// one until it rejoins) and one back from a long outage with a log that
// lists the previous incarnation of a member replaced meanwhile, and not a
// member added meanwhile. The stale voter dropped both members' vote
// requests, the only quorum left needed its vote, and it could catch up
// only from a leader: no leader, for good. A voter now answers a vote
// request stamped for exactly its own incarnation whichever incarnation of
// the candidate its log lists (Raft.asksVoteOfThisIncarnation), and one from
// outside its configuration when the candidate's log is at least as up to
// date as its own (Raft.strangerMayKnowMore).
// These seeds must pass with the real core and fail the liveness check with
// the core from before the fix (the 'refuse-unlisted-candidates' variant), or
// this test no longer reaches what it is about. Found by searches with that
// variant and replacementWeather: 12015 (an unlisted incarnation of the
// candidate) over seeds 1-100,000, 59058 (a candidate outside the voter's
// configuration). Most other seeds the variant fails there (10575, 20224,
// 36492) fail the same way with the real core: two voters left, one of them
// wiped, a quorum no core can make.
import t from 'tap'
import { runSeed, seedOptions } from './run-seeds.js'
import { ciProfile } from './sim-ci.js'
import { replacementWeather } from './sim-variants.js'

const cases: readonly { seed: number; candidate: string }[] = [
  { seed: 12015, candidate: "under an incarnation the voter's log does not list" },
  { seed: 59058, candidate: "outside the voter's configuration" },
]

for (const { seed, candidate } of cases) {
  t.test(`seed ${seed}: a voter with a stale log still helps elect a candidate ${candidate}`, async (t) => {
    const r = runSeed(seedOptions(seed, { ...ciProfile, patch: replacementWeather }))
    t.equal(r.error?.message ?? null, null, 'every safety and liveness property holds')
    t.ok(r.stats.wipes > 0, `the run wipes members (${r.stats.wipes})`)
  })

  t.test(`seed ${seed} with the core from before the fix elects no leader once the weather calms`, async (t) => {
    const r = runSeed(seedOptions(seed, { ...ciProfile, variant: 'refuse-unlisted-candidates' }))
    t.match(r.error?.message ?? '', /^liveness: no proposal committed/, 'the simulator reports it')
  })
}
