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
  w.add(10, 0)
  w.add(20, 0)
  w.add(30, 0)
  t.ok(w.full())
  w.freeTo(15)
  w.add(40, 0) // wraps into the freed first slot
  t.equal(w.count(), 3)
  w.freeTo(35)
  t.equal(w.count(), 1, 'only 40 left')
  w.add(50, 0)
  w.add(60, 0)
  w.freeTo(50)
  t.equal(w.count(), 1, 'only 60 left')
  w.freeTo(60)
  t.equal(w.count(), 0)
})

t.test('freeing the oldest append drops exactly one, and none when empty', async (t) => {
  const w = new Inflights(2)
  w.freeFirstOne()
  t.equal(w.count(), 0)
  w.add(5, 0)
  w.add(6, 0)
  w.freeFirstOne()
  t.equal(w.count(), 1)
  w.freeTo(5)
  t.equal(w.count(), 1, '6 is still in flight')
  w.add(7, 0)
  t.ok(w.full())
})

t.test('the in-flight window is full once its bytes reach the bound, and reopens as acks free them', async (t) => {
  const w = new Inflights(8, 100)
  w.add(1, 60)
  t.notOk(w.full(), '60 of 100 bytes')
  w.add(2, 60)
  t.ok(w.full(), '120 bytes: nothing more goes')
  t.equal(w.bytes(), 120)
  w.freeTo(1)
  t.notOk(w.full(), 'the ack of the first frees its 60 bytes')
  t.equal(w.bytes(), 60)
  w.freeFirstOne()
  t.equal(w.bytes(), 0)
  w.add(3, 500)
  t.ok(w.full(), 'an append above the bound goes alone into an empty window')
  w.reset()
  t.equal(w.bytes(), 0)
  t.notOk(w.full())
})
