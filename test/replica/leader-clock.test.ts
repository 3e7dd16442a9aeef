// The cluster clock TTL expiry follows (lib/replica/leader-clock.ts): a
// follower's own wall clock never enters it, a leader's never goes below what
// it heard, and time heard is carried forward by the elapsed monotonic time.
import t from 'tap'
import { LeaderClock } from '../../lib/replica/leader-clock.js'
import { manualClock } from '../util/manual-clock.js'

t.test('a follower that heard no leader stamps nothing, and reads on its own clock until it does', async (t) => {
  const clock = manualClock(1_000_000)
  const lc = new LeaderClock(clock)
  t.equal(lc.nowMs(false), 0, 'its own (possibly skewed) clock is never passed on')
  t.equal(lc.readNowMs(false), 1_000_000)
})

t.test('a follower ahead of its leader reads on the time it heard, carried forward by its own elapsed time', async (t) => {
  const clock = manualClock(9_000_000)
  const lc = new LeaderClock(clock)
  lc.hear(5_000_000)
  clock.advance(250)
  t.equal(lc.readNowMs(false), 5_000_250)
  lc.hear(4_000_000)
  t.equal(lc.readNowMs(false), 5_000_250, 'an older time heard later does not move it back')
  lc.hear(0)
  t.equal(lc.nowMs(false), 5_000_250, '0 is unknown, not a time')
})

t.test('a leader uses its own clock, but never less than the highest time it heard', async (t) => {
  const clock = manualClock(1_000_000)
  const lc = new LeaderClock(clock)
  t.equal(lc.nowMs(true), 1_000_000)
  lc.hear(3_000_000)
  t.equal(lc.nowMs(true), 3_000_000, 'a leader behind the cluster goes on from what it heard')
  clock.advance(100)
  t.equal(lc.nowMs(true), 3_000_100, 'and its time still moves')
  const ahead = new LeaderClock(manualClock(7_000_000))
  ahead.hear(3_000_000)
  t.equal(ahead.nowMs(true), 7_000_000, 'a leader ahead uses its own clock')
})

t.test('hearing a message and stamping the next ones in one step gives what hear then nowMs give, on one monotonic reading', async (t) => {
  for (const leading of [false, true]) {
    for (const heard of [0, 500_000, 2_000_000, 3_000_000]) {
      const a = manualClock(1_000_000)
      const b = manualClock(1_000_000)
      let reads = 0
      const counted = { ...b, monotonicMs: () => { reads++; return b.monotonicMs() } }
      const separate = new LeaderClock(a)
      const combined = new LeaderClock(counted)
      separate.hear(1_500_000)
      combined.hear(1_500_000)
      a.advance(40)
      b.advance(40)
      reads = 0
      separate.hear(heard)
      t.equal(combined.hearThenNowMs(heard, leading), separate.nowMs(leading), `leading ${leading}, heard ${heard}`)
      t.equal(reads, 1, 'one reading')
      t.equal(combined.readNowMs(leading), separate.readNowMs(leading), 'and the same time after')
    }
  }
})

t.test('a node that heard nothing since it started goes on from the latest time stamped on an entry it applied, carried forward', async (t) => {
  // A restarted node behind the old leader's clock, with that leader's stamps in the log it replayed.
  const clock = manualClock(4_844_000)
  let stampedMs = 6_110_000
  const lc = new LeaderClock(clock, () => stampedMs)
  t.equal(lc.nowMs(true), 6_110_000, 'as leader: not its own clock, which is behind what the cluster already passed')
  clock.advance(300)
  t.equal(lc.nowMs(true), 6_110_300, 'carried forward from when it was first seen')
  t.equal(lc.nowMs(false), 6_110_300, 'as a follower too')
  stampedMs = 6_000_000
  t.equal(lc.readNowMs(false), 6_110_300, 'an older stamp does not move it back')
  lc.hear(7_000_000)
  t.equal(lc.nowMs(false), 7_000_000, 'a later time heard still moves it on')
  const ahead = new LeaderClock(manualClock(9_000_000), () => 6_110_000)
  t.equal(ahead.nowMs(true), 9_000_000, 'a leader whose clock is ahead of every stamp uses its own')
})
