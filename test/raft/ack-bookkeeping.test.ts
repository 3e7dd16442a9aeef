// The leader's per-ack bookkeeping allocates nothing: the quorum count keeps
// its values in a reused scratch, and the in-flight window is a fixed ring.
// These check that both still answer what the copy-and-sort and the array
// they replaced answered.
import t from 'tap'
import { Inflights } from '../../lib/raft/progress.js'
import { QuorumScratch, quorumSize, quorumValue } from '../../lib/raft/quorum.js'

function sortedQuorumValue(values: readonly number[]): number {
  if (values.length === 0) return 0
  return [...values].sort((a, b) => b - a)[quorumSize(values.length) - 1] as number
}

t.test('the quorum value is the quorum-th largest for 1 to 12 voters, duplicates and any order included', async (t) => {
  let state = 12345
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state % 20
  }
  for (let round = 0; round < 500; round++) {
    const values = Array.from({ length: 1 + (round % 12) }, next)
    if (quorumValue(values) !== sortedQuorumValue(values)) t.fail(`values ${values.join(',')}`)
  }
  t.equal(quorumValue([]), 0, 'no voters: 0')
})

t.test('a scratch reset between counts forgets the previous values', async (t) => {
  const q = new QuorumScratch()
  for (const v of [9, 9, 9]) q.add(v)
  q.reset()
  for (const v of [1, 2, 3]) q.add(v)
  t.equal(q.value(), 2)
})

t.test('the in-flight ring frees acknowledged appends in order across its wrap-around', async (t) => {
  const w = new Inflights(3)
  w.add(10)
  w.add(20)
  w.add(30)
  t.ok(w.full())
  w.freeTo(15)
  w.add(40) // wraps into the freed first slot
  t.equal(w.count(), 3)
  w.freeTo(35)
  t.equal(w.count(), 1, 'only 40 left')
  w.add(50)
  w.add(60)
  w.freeTo(50)
  t.equal(w.count(), 1, 'only 60 left')
  w.freeTo(60)
  t.equal(w.count(), 0)
})

t.test('freeing the oldest append drops exactly one, and none when empty', async (t) => {
  const w = new Inflights(2)
  w.freeFirstOne()
  t.equal(w.count(), 0)
  w.add(5)
  w.add(6)
  w.freeFirstOne()
  t.equal(w.count(), 1)
  w.freeTo(5)
  t.equal(w.count(), 1, '6 is still in flight')
  w.add(7)
  t.ok(w.full())
})
