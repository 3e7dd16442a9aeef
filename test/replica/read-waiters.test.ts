import t from 'tap'
import { ReadWaiters } from '../../lib/replica/read-waiters.js'

const pending = Symbol('pending')
async function settled(p: Promise<number>): Promise<number | typeof pending> {
  return Promise.race([p, new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending)))])
}

t.test('a read is released with the index confirmed for its own context', async (t) => {
  const reads = new ReadWaiters('n1', 'a')
  const first = reads.add()
  const second = reads.add()
  reads.release([{ ctx: second.ctx, index: 9 }])
  t.equal(await settled(second.index), 9)
  t.equal(await settled(first.index), pending)
})

t.test("an answer to a read from the node's previous boot does not release a read of this boot", async (t) => {
  const before = new ReadWaiters('n3', 'boot1')
  const stale = before.add()
  const after = new ReadWaiters('n3', 'boot2')
  const fresh = after.add()
  t.not(fresh.ctx, stale.ctx)
  // The leader held the old read until n3 came back, and answers it now.
  after.release([{ ctx: stale.ctx, index: 50 }])
  t.equal(await settled(fresh.index), pending)
  after.release([{ ctx: fresh.ctx, index: 51 }])
  t.equal(await settled(fresh.index), 51)
})

t.test('a cancelled read is never released, and failAll answers the rest with -1', async (t) => {
  const reads = new ReadWaiters('n1', 'a')
  const cancelled = reads.add()
  const open = reads.add()
  reads.cancel(cancelled.ctx)
  reads.release([{ ctx: cancelled.ctx, index: 3 }])
  t.equal(await settled(cancelled.index), pending)
  reads.failAll()
  t.equal(await settled(open.index), -1)
})
