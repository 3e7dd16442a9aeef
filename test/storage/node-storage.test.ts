import t from 'tap'
import { readdir } from 'node:fs/promises'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { describe, makeEntries } from './fixtures/entries.js'

const open = (dir: string, segmentBytesMax?: number) =>
  NodeStorage.open({ dir, fsync: 'always', ...(segmentBytesMax === undefined ? {} : { segmentBytesMax }) })

t.test('a fresh directory recovers as fresh with the zero hard state', async (t) => {
  const dir = t.testdir()
  const { storage, state } = await open(dir)
  t.same(state, { hardState: { term: 0, vote: '', commit: 0 }, snapshot: null, released: null, entries: [], fresh: true })
  await storage.close()
  const again = await open(dir)
  t.equal(again.state.fresh, true, 'opening alone writes no state')
  await again.storage.close()
})

t.test('persisted entries and hard state come back after reopen', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  await storage.persist({ term: 1, vote: 'n1', commit: 0 }, makeEntries(1, 10, 1))
  await storage.persist({ term: 2, vote: 'n2', commit: 5 }, makeEntries(11, 5, 2))
  await storage.persist(null, makeEntries(16, 1, 2))
  await storage.close()
  const { storage: again, state } = await open(dir)
  t.same(state.hardState, { term: 2, vote: 'n2', commit: 5 })
  t.same(describe(state.entries), describe([...makeEntries(1, 10, 1), ...makeEntries(11, 5, 2), ...makeEntries(16, 1, 2)]))
  t.equal(state.fresh, false)
  await again.close()
})

t.test('a hard state alone is durable', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  await storage.persist({ term: 7, vote: 'n3', commit: 0 }, [])
  await storage.close()
  const { storage: again, state } = await open(dir)
  t.same(state.hardState, { term: 7, vote: 'n3', commit: 0 })
  t.equal(state.fresh, false)
  await again.close()
})

t.test('a batch starting inside the log replaces the conflicting suffix', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  await storage.persist(null, makeEntries(1, 20, 1))
  await storage.persist({ term: 3, vote: '', commit: 4 }, makeEntries(8, 3, 3))
  await storage.persist(null, makeEntries(11, 2, 3))
  await storage.close()
  const { storage: again, state } = await open(dir)
  t.same(describe(state.entries), describe([...makeEntries(1, 7, 1), ...makeEntries(8, 5, 3)]))
  await again.close()
})

t.test('segments roll at the size limit and replay in order across them', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir, 2048)
  for (let i = 0; i < 100; i++) await storage.persist({ term: 1, vote: 'a', commit: i }, makeEntries(i * 5 + 1, 5, 1))
  // A truncation that reaches back across segment boundaries.
  await storage.persist({ term: 2, vote: 'b', commit: 40 }, makeEntries(50, 4, 2))
  await storage.close()
  const segments = (await readdir(dir)).filter((n) => n.startsWith('segment-'))
  t.ok(segments.length > 5, `rolled into ${segments.length} segments`)
  const { storage: again, state } = await open(dir, 2048)
  t.same(describe(state.entries), describe([...makeEntries(1, 49, 1), ...makeEntries(50, 4, 2)]))
  t.same(state.hardState, { term: 2, vote: 'b', commit: 40 })
  await again.close()
})

t.test('calls made without waiting run one at a time in call order', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  const writes = []
  for (let i = 0; i < 50; i++) writes.push(storage.persist({ term: 1, vote: '', commit: i }, makeEntries(i + 1, 1, 1)))
  writes.push(storage.setMeta('cluster', 'c1'))
  await Promise.all(writes)
  await storage.close()
  const { storage: again, state } = await open(dir)
  t.equal(state.entries.length, 50)
  t.equal(state.hardState.commit, 49)
  t.equal(again.getMeta('cluster'), 'c1')
  await again.close()
})

t.test('metadata survives a restart and makes the directory non-fresh', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  t.equal(storage.getMeta('cluster'), undefined)
  await storage.setMeta('cluster', 'abc')
  await storage.setMeta('node', 'n1')
  await storage.close()
  const { storage: again, state } = await open(dir)
  t.equal(state.fresh, false)
  t.equal(again.getMeta('cluster'), 'abc')
  t.equal(again.getMeta('node'), 'n1')
  await again.close()
})

t.test('a gap in persisted entries is a programmer error', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  await storage.persist(null, makeEntries(1, 3, 1))
  await t.rejects(storage.persist(null, makeEntries(5, 1, 1)), { code: 'ERR_ASSERTION' })
  await storage.close()
})

t.test('calls after close reject with ERR_STORAGE_CLOSED', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  await storage.close()
  await t.rejects(storage.persist(null, makeEntries(1, 1, 1)), { code: 'ERR_STORAGE_CLOSED' })
})

t.test('a write queued right after close rejects instead of touching the closed file', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  const closing = storage.close()
  const late = storage.persist(null, makeEntries(1, 1, 1))
  await closing
  await t.rejects(late, { code: 'ERR_STORAGE_CLOSED' })
})
