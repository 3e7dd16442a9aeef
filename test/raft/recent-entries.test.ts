// The log's not-yet-durable tail (lib/raft/recent-entries.ts): it hands back
// the very Entry objects appended, for exactly the indexes of its run, across
// the ring's wrap-around and growth, and forgets what was dropped, truncated
// or reset; checked against a plain array kept the way RaftLog kept it before.
import t from 'tap'
import { RecentEntries } from '../../lib/raft/recent-entries.js'
import type { Entry } from '../../lib/raft/types.js'
import { Prng } from '../../lib/util/prng.js'

function entry(index: number): Entry {
  return { index, term: 1, kind: 'noop' }
}

t.test('an entry appended is handed back as the same object, by its index', async (t) => {
  const recent = new RecentEntries(5)
  const e = entry(5)
  recent.push(e)
  t.equal(recent.at(5), e)
  t.equal(recent.at(4), undefined)
  t.equal(recent.at(6), undefined)
})

t.test('an entry that does not continue the run is not held', async (t) => {
  const recent = new RecentEntries(5)
  recent.push(entry(7))
  t.equal(recent.length, 0)
  t.equal(recent.at(7), undefined)
})

t.test('the run survives wrap-around and growth of the ring', async (t) => {
  const recent = new RecentEntries(1)
  const all: Entry[] = []
  for (let i = 1; i <= 50; i++) recent.push((all[i] = entry(i)))
  recent.dropTo(40) // the head moves past the middle, so growth has to unwrap the ring
  for (let i = 51; i <= 500; i++) recent.push((all[i] = entry(i)))
  t.equal(recent.first, 41)
  t.equal(recent.length, 460)
  let wrong = 0
  for (let i = 41; i <= 500; i++) if (recent.at(i) !== all[i]) wrong++
  t.equal(wrong, 0)
  t.equal(recent.at(40), undefined)
})

t.test('truncating below the run empties it and moves its start', async (t) => {
  const recent = new RecentEntries(10)
  for (let i = 10; i < 20; i++) recent.push(entry(i))
  recent.truncateFrom(8)
  t.equal(recent.length, 0)
  t.equal(recent.first, 8)
  recent.push(entry(8))
  t.equal(recent.at(8)?.index, 8)
})

t.test('random appends, drops, truncations and resets agree with an array model', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Prng(seed)
    const recent = new RecentEntries(1)
    let model: Entry[] = []
    let modelFirst = 1
    let lastIndex = 0
    let mismatches = 0
    for (let step = 0; step < 3000; step++) {
      const r = rng.int(100)
      if (r < 70) {
        const e = entry(++lastIndex)
        recent.push(e)
        if (modelFirst + model.length === e.index) model.push(e)
      } else if (r < 85) {
        const index = modelFirst + rng.int(model.length + 3) - 1
        recent.dropTo(index)
        if (index >= modelFirst) {
          const n = Math.min(index - modelFirst + 1, model.length)
          model.splice(0, n)
          modelFirst += n
        }
      } else if (r < 97) {
        const index = Math.max(1, lastIndex - rng.int(10))
        recent.truncateFrom(index)
        if (index >= modelFirst) model.length = Math.min(model.length, index - modelFirst)
        else {
          model = []
          modelFirst = index
        }
        lastIndex = index - 1
      } else {
        recent.reset(lastIndex + 1)
        model = []
        modelFirst = lastIndex + 1
      }
      if (recent.first !== modelFirst || recent.length !== model.length) mismatches++
      for (let i = modelFirst - 2; i < modelFirst + model.length + 2; i++) {
        if (recent.at(i) !== model[i - modelFirst]) mismatches++
      }
    }
    t.equal(mismatches, 0, `seed ${seed}`)
  }
})
