// Issue 18, TTLs under clock skew: runtime seeds whose nodes' wall clocks are
// seconds apart, with clients that SET keys with PX and read them back. With
// the runtime as it ships, a read decides expiry on the cluster clock and no
// key reads as gone and then present; with reads on the serving node's own
// clock (the runtime before the fix) the TTL check fails these seeds, or this
// test no longer reaches what it is about. Found by running seeds 1-40 with
// that variant: 1, 13, 20 and 29 failed it. Since the simulator settles a
// killed process's writes (session 8), the trajectories moved: 1, 13 and 29
// of seeds 1-60 failed it. Since a joining node records its pending join in
// its metadata (one more write on the simulated disk, session 25) they moved
// again: 13 and 35 of seeds 1-60, and 89 of 61-100; re-scan when the variant
// stops showing.
import t from 'tap'
import { runRuntimeSeed, seedOptions } from './runtime/run-runtime-seeds.js'

const seeds = [13, 35, 89]

for (const seed of seeds) {
  t.test(`runtime seed ${seed}: no key with a TTL reads as gone and then present, on clocks seconds apart`, async (t) => {
    const r = await runRuntimeSeed(seedOptions(seed, {}))
    t.equal(r.error?.message ?? null, null, 'every property holds')
    t.ok(r.stats.ttl.readsGone > 0, `keys were read as expired (${r.stats.ttl.readsGone})`)
    t.ok(r.weather?.clockOffsetsMs.some((o) => Math.abs(o) >= 1000), 'the clocks were skewed by seconds')
  })

  t.test(`runtime seed ${seed} with reads on the serving node's own clock brings an expired key back`, async (t) => {
    const r = await runRuntimeSeed({ ...seedOptions(seed, {}), readsOnOwnClock: true })
    t.match(r.error?.message ?? '', /ttl under clock skew/, 'the simulator reports it')
  })
}

// Runtime seed 1270039 (found in a 10,000-seed run, session 36): the leader,
// its clock 5.4 s ahead, dies after both followers restarted (one killed by a
// power loss, one by SIGTERM); they elect one of themselves, 2 s behind it,
// and neither has heard a time since it started. The key the old leader's
// time had expired was present again on the new leader's for 800 ms. The
// cluster clock now never falls below the latest time stamped on an entry a
// node applied (leader-clock.ts); with that floor removed, the seed fails.
const restartSeed = 1270039

t.test(`runtime seed ${restartSeed}: a leader elected by restarted nodes goes on from the stamps they replayed, not its own clock behind them`, async (t) => {
  const r = await runRuntimeSeed(seedOptions(restartSeed, {}))
  t.equal(r.error?.message ?? null, null, 'every property holds')
  t.ok(r.stats.ttl.readsGone > 0, `keys were read as expired (${r.stats.ttl.readsGone})`)
  t.ok(r.stats.powerLosses > 0 && r.stats.sigterms > 0, 'nodes restarted')
})

t.test(`runtime seed ${restartSeed} with a clock that forgets the stamps a node applied brings an expired key back`, async (t) => {
  const r = await runRuntimeSeed({ ...seedOptions(restartSeed, {}), clockForgetsAppliedStamps: true })
  t.match(r.error?.message ?? '', /ttl under clock skew/, 'the simulator reports it')
})
