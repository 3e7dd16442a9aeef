// The idle collector's rule: one collection once the applied index has moved
// enough and then stood still long enough; none under a steady load, none at
// rest without work, one per rest.
import t from 'tap'
import { IdleCollector, collectGarbage } from '../../lib/app/idle-collector.js'

const options = { checkMs: 1000, idleMs: 2000, entriesMin: 100 }

function collectorOver(indexes: { value: number }): { collector: IdleCollector; calls: () => number } {
  let calls = 0
  const collector = new IdleCollector(
    () => indexes.value,
    async () => {
      calls++
    },
    0,
    options,
  )
  return { collector, calls: () => calls }
}

t.test('collects once the index has moved enough and stood still for idleMs', async (t) => {
  const index = { value: 0 }
  const { collector, calls } = collectorOver(index)
  index.value = 500
  collector.check(1000)
  collector.check(2000)
  t.equal(calls(), 0, 'still within idleMs of the last move')
  collector.check(3000)
  t.equal(calls(), 1)
})

t.test('never collects while the index keeps moving', async (t) => {
  const index = { value: 0 }
  const { collector, calls } = collectorOver(index)
  for (let ms = 1000; ms <= 60_000; ms += 1000) {
    index.value += 1000
    collector.check(ms)
  }
  t.equal(calls(), 0)
})

t.test('does not collect at rest without enough entries applied', async (t) => {
  const index = { value: 0 }
  const { collector, calls } = collectorOver(index)
  index.value = 99
  collector.check(1000)
  collector.check(10_000)
  t.equal(calls(), 0)
})

t.test('collects once per rest, not again until more work', async (t) => {
  const index = { value: 0 }
  const { collector, calls } = collectorOver(index)
  index.value = 500
  collector.check(1000)
  collector.check(5000)
  await Promise.resolve()
  collector.check(6000)
  collector.check(30_000)
  t.equal(calls(), 1, 'one collection for the rest')
  index.value = 1000
  collector.check(31_000)
  collector.check(40_000)
  t.equal(calls(), 2, 'another after another burst')
})

t.test('a snapshot makes the next rest worth a collection even after few entries', async (t) => {
  const index = { value: 0 }
  const { collector, calls } = collectorOver(index)
  index.value = 10
  collector.check(1000)
  collector.noteSnapshot()
  collector.check(5000)
  t.equal(calls(), 1)
})

t.test('collectGarbage resolves and frees an unreachable buffer', async (t) => {
  let buffer: Buffer | null = Buffer.alloc(1024)
  const ref = new WeakRef(buffer)
  buffer = null
  await collectGarbage()
  // Weak references are cleared at the end of the turn that ran the GC.
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(ref.deref(), undefined)
})
