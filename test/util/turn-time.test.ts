import t from 'tap'
import { turnMonotonicMs } from '../../lib/util/turn-time.js'

function spinPast(ms: number): void {
  while (performance.now() <= ms) {
    // busy: the point is that time moves while the same synchronous run goes on
  }
}

t.test('reads in one synchronous run share one reading, even as time moves', async (t) => {
  await null
  const first = turnMonotonicMs()
  spinPast(first + 2)
  t.equal(turnMonotonicMs(), first)
})

t.test('a read after the microtask queue drained is a new reading', async (t) => {
  const first = turnMonotonicMs()
  spinPast(first + 2)
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(turnMonotonicMs() > first + 2)
})

t.test('a read in a later microtask, queued after the first reading, is a new reading', async (t) => {
  await null
  const first = turnMonotonicMs()
  spinPast(first + 2)
  await null
  t.ok(turnMonotonicMs() > first + 2, 'the forgetting microtask ran before this continuation')
})
