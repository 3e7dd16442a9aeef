// Start-up replay keeps in memory only the newest entries' data, up to the
// node's LOG_CACHE_BYTES (replayHeldBytesMax): the older entries since the
// snapshot come back as columns (term, kind, size, configs), and their data
// is read back from the log through the entry source when needed.
import t from 'tap'
import type { Entry, ReleasedEntries } from '../../lib/raft/types.js'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { describe, makeEntries } from './fixtures/entries.js'

// Each test closes its storage itself, not in a teardown: tap removes the test's dir
// before teardowns run, while a spare segment may still be being preallocated there.
const open = (dir: string, replayHeldBytesMax?: number) =>
  NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: 2048, ...(replayHeldBytesMax === undefined ? {} : { replayHeldBytesMax }) })

/** Every entry a recovered state describes, the released ones read back through the storage's source. */
function wholeLog(storage: NodeStorage, released: ReleasedEntries | null, held: readonly Entry[]): Entry[] {
  const count = released?.terms.length ?? 0
  const back = count === 0 ? [] : storage.entrySource().entries(1, count + 1, Infinity) ?? []
  return [...back, ...held]
}

/** What the columns say about each released entry, to compare with the entries themselves. */
function columns(released: ReleasedEntries | null): string[] {
  if (released === null) return []
  const configs = new Map(released.configs.map((c) => [c.index, JSON.stringify(c.config)]))
  return Array.from({ length: released.terms.length }, (_, i) => `${i + 1}/${released.terms[i]}/${released.kinds[i]}/${released.dataBytes[i]}/${configs.get(i + 1) ?? ''}`)
}

function columnsOf(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.index}/${e.term}/${e.kind === 'normal' ? 0 : e.kind === 'noop' ? 1 : 2}/${e.kind === 'normal' ? e.data.length : 0}/${e.kind === 'config' ? JSON.stringify(e.config) : ''}`)
}

const heldBytes = (entries: readonly Entry[]): number => entries.reduce((n, e) => n + (e.kind === 'normal' ? e.data.length : 0), 0)

/** 300 entries in batches of 10 over many segments, then a truncation back to 295 in term 2. */
async function fill(dir: string): Promise<Entry[]> {
  const { storage } = await open(dir)
  for (let i = 0; i < 30; i++) await storage.persist({ term: 1, vote: 'n1', commit: i * 10 }, makeEntries(i * 10 + 1, 10, 1))
  await storage.persist({ term: 2, vote: 'n2', commit: 290 }, makeEntries(295, 3, 2))
  await storage.close()
  return [...makeEntries(1, 294, 1), ...makeEntries(295, 3, 2)]
}

t.test('recovery holds only the newest entries up to its byte bound; the older ones come back as columns', async (t) => {
  const dir = t.testdir()
  const expected = await fill(dir)
  const { storage, state } = await open(dir, 24 * 20)
  t.ok(heldBytes(state.entries) <= 24 * 20, `held data within the bound (${heldBytes(state.entries)} bytes)`)
  // A truncation cuts the held run and replay does not refill it backwards: fewer than 20 may be held.
  t.ok(state.entries.length > 0 && (state.released?.terms.length ?? 0) > 250, `the newest entries are held (${state.entries.length}), the rest released`)
  t.equal(state.entries[state.entries.length - 1]?.index, 297, 'held entries end at the log\'s end')
  t.equal((state.released?.terms.length ?? 0) + state.entries.length, 297, 'released and held entries make the whole log')
  t.same(columns(state.released), columnsOf(expected.slice(0, state.released?.terms.length ?? 0)), 'the columns describe the released entries: terms, kinds, sizes, configs')
  t.same(describe(wholeLog(storage, state.released, state.entries)), describe(expected), 'released entries read back as they were stored')
  t.equal(state.hardState.commit, 290)
  await storage.close()
})

t.test('a truncation inside the held entries keeps the held run contiguous', async (t) => {
  const dir = t.testdir()
  const first = await open(dir)
  await first.storage.persist({ term: 1, vote: 'n1', commit: 0 }, makeEntries(1, 100, 1))
  await first.storage.persist({ term: 2, vote: 'n2', commit: 0 }, makeEntries(95, 3, 2))
  await first.storage.close()
  const { storage, state } = await open(dir, 24 * 20)
  t.equal(state.entries[0]?.index, (state.released?.terms.length ?? 0) + 1, 'held entries follow the released ones')
  t.same(describe(wholeLog(storage, state.released, state.entries)), describe([...makeEntries(1, 94, 1), ...makeEntries(95, 3, 2)]))
  await storage.close()
})

t.test('without a bound recovery holds every entry, as before', async (t) => {
  const dir = t.testdir()
  const expected = await fill(dir)
  const { storage, state } = await open(dir)
  t.equal(state.released, null)
  t.same(describe(state.entries), describe(expected))
  await storage.close()
})

t.test('a bound of zero releases every entry with data', async (t) => {
  const dir = t.testdir()
  const expected = await fill(dir)
  const { storage, state } = await open(dir, 0)
  t.equal(heldBytes(state.entries), 0)
  t.same(describe(wholeLog(storage, state.released, state.entries)), describe(expected))
  await storage.close()
})
