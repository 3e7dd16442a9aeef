// The entry source storage gives the Raft core (log-reader.ts): entries read
// back from the segment files, synchronously, exactly as persisted.
import t from 'tap'
import { readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Entry } from '../../lib/raft/types.js'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { describe, makeEntries } from './fixtures/entries.js'

// Each test closes its storage itself, not in a teardown: tap removes the test's dir
// before teardowns run, while a spare segment may still be being preallocated there.
const open = (dir: string) => NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: 2048 })
const config = { members: [{ id: 'n1', addr: '127.0.0.1:7001', role: 'voter' as const }] }

/** 200 entries in batches of 5 over many 2 KiB segments, then a truncation back to 120 in term 2. */
async function fill(dir: string): Promise<NodeStorage> {
  const { storage } = await open(dir)
  for (let i = 0; i < 40; i++) await storage.persist({ term: 1, vote: 'n1', commit: 0 }, makeEntries(i * 5 + 1, 5, 1))
  await storage.persist({ term: 2, vote: 'n2', commit: 0 }, makeEntries(120, 3, 2))
  return storage
}

const expected = (lo: number, hi: number): Entry[] => [...makeEntries(1, 119, 1), ...makeEntries(120, 3, 2)].slice(lo - 1, hi - 1)

t.test('the source returns exactly what was persisted, across segment rolls and a truncation', async (t) => {
  const storage = await fill(t.testdir())
  const source = storage.entrySource()
  t.same(describe(source.entries(1, 123, Infinity) ?? []), describe(expected(1, 123)))
  t.same(describe(source.entries(37, 121, Infinity) ?? []), describe(expected(37, 121)), 'a range starting and ending inside records')
  t.same(describe(source.entries(118, 200, Infinity) ?? []), describe(expected(118, 123)), 'stops at the last entry, the truncated ones replaced')
  await storage.close()
})

t.test('the source builds the same index from the files at start-up', async (t) => {
  const dir = t.testdir()
  await (await fill(dir)).close()
  const { storage } = await open(dir)
  t.same(describe(storage.entrySource().entries(1, 123, Infinity) ?? []), describe(expected(1, 123)))
  await storage.close()
})

t.test('the source stops at bytesMax but returns at least one entry', async (t) => {
  const storage = await fill(t.testdir())
  const source = storage.entrySource()
  t.equal(source.entries(10, 100, 1)?.length, 1)
  const some = source.entries(10, 100, 200) ?? []
  t.ok(some.length > 1 && some.length < 90, `a few entries (${some.length})`)
  t.same(describe(some), describe(expected(10, 10 + some.length)))
  await storage.close()
})

t.test('entries whose segment is gone cannot be read: the source says so', async (t) => {
  const dir = t.testdir()
  const storage = await fill(dir)
  const first = (await readdir(dir)).filter((n) => n.startsWith('segment-')).sort()[0] as string
  await unlink(join(dir, first))
  t.equal(storage.entrySource().entries(1, 10, Infinity), null)
  await storage.close()
})

t.test('entries a snapshot covers are no longer read back', async (t) => {
  const storage = await fill(t.testdir())
  await storage.saveSnapshot({ index: 100, term: 1, config }, Buffer.from('state at 100'))
  const source = storage.entrySource()
  t.equal(source.entries(50, 60, Infinity), null)
  t.same(describe(source.entries(101, 123, Infinity) ?? []), describe(expected(101, 123)))
  await storage.close()
})

t.test('after a snapshot from the leader the source holds nothing before the new entries', async (t) => {
  const storage = await fill(t.testdir())
  await storage.installSnapshot({ index: 500, term: 3, config }, Buffer.from('leader state'))
  await storage.persist(null, makeEntries(501, 4, 3))
  const source = storage.entrySource()
  t.equal(source.entries(110, 115, Infinity), null)
  t.same(describe(source.entries(501, 505, Infinity) ?? []), describe(makeEntries(501, 4, 3)))
  await storage.close()
})
