// A data directory copied back from an older state is refused: the node
// records, outside DATA_DIR, the furthest log position it stored (and the
// directory's incarnation), and a directory holding an earlier position, or
// another incarnation, does not open. A wiped directory, a first start, and
// an unreadable record are not refusals.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Entry } from '../../lib/raft/types.js'
import { decodeHighWater, HighWaterFile, type HighWater } from '../../lib/storage/high-water-file.js'
import { nodeFileSystem, type DiskFile, type FileSystem } from '../../lib/storage/file-system.js'
import { NodeStorage, StorageRolledBackError } from '../../lib/storage/index.js'
import { silentLogger } from '../../lib/util/logger.js'
import { manualClock } from '../util/manual-clock.js'

function entries(from: number, count: number, term = 1): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: from + i, term, kind: 'normal' as const, data: Buffer.from(`e${from + i}`) }))
}

function setup(t: { teardown(fn: () => void): void }): { dir: string; record: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-high-water-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  return { root, dir: join(root, 'n1'), record: join(root, 'n1.high-water') }
}

async function run(dir: string, record: string, incarnation: string, write: (s: NodeStorage) => Promise<void>): Promise<void> {
  const { storage, state } = await NodeStorage.open({ dir, fsync: 'always', preallocateSegments: false, highWaterFile: record })
  try {
    await storage.adoptHighWater(incarnation, state.fresh)
    await write(storage)
  } finally {
    await storage.close()
  }
}

t.test('a directory copied back after the node went on writing is refused, naming both positions', async (t) => {
  const { root, dir, record } = setup(t)
  await run(dir, record, 'inc-a', (s) => s.persist({ term: 1, vote: 'n1', commit: 0 }, entries(1, 3)))
  cpSync(dir, join(root, 'copy'), { recursive: true })
  await run(dir, record, 'inc-a', (s) => s.persist({ term: 2, vote: 'n2', commit: 3 }, entries(4, 2, 2)))
  rmSync(dir, { recursive: true })
  cpSync(join(root, 'copy'), dir, { recursive: true })
  const err = await run(dir, record, 'inc-a', async () => { t.fail('must not open') }).catch((e: unknown) => e)
  t.type(err, StorageRolledBackError)
  t.equal((err as StorageRolledBackError).code, 'ERR_STORAGE_ROLLED_BACK')
  t.match((err as Error).message, new RegExp(`^DATA_DIR ${dir} holds an older state than this node had: it has its log up to segment 1 byte \\d+, but the node had written up to segment 1 byte \\d+ \\(${record}\\)\\. .*refuses to start: empty DATA_DIR and start the node with JOIN set`))
  t.notMatch((err as Error).message, /\n/, 'one line')
})

t.test('restarts, a first start and a wiped directory are accepted; the record follows every write', async (t) => {
  const { dir, record } = setup(t)
  await run(dir, record, 'inc-a', (s) => s.persist({ term: 1, vote: '', commit: 0 }, entries(1, 2)))
  const first = decodeHighWater(readFileSync(record))
  await run(dir, record, 'inc-a', (s) => s.persist(null, entries(3, 2)))
  const second = decodeHighWater(readFileSync(record))
  t.ok(typeof first !== 'string' && typeof second !== 'string' && second.segmentBytes > first.segmentBytes, 'the recorded position grew with the write')
  rmSync(dir, { recursive: true })
  await run(dir, record, 'inc-b', (s) => s.persist({ term: 5, vote: '', commit: 0 }, []))
  const third = decodeHighWater(readFileSync(record))
  t.equal(typeof third !== 'string' && third.incarnation, 'inc-b', 'a wiped directory starts a new record under its new incarnation')
  await run(dir, record, 'inc-b', async () => {})
})

t.test("a directory of another incarnation (an earlier life of this node) is refused", async (t) => {
  const { root, dir, record } = setup(t)
  await run(dir, record, 'inc-a', (s) => s.persist({ term: 1, vote: '', commit: 0 }, entries(1, 50)))
  cpSync(dir, join(root, 'old-life'), { recursive: true })
  rmSync(dir, { recursive: true })
  await run(dir, record, 'inc-b', (s) => s.persist({ term: 2, vote: '', commit: 0 }, entries(1, 1)))
  rmSync(dir, { recursive: true })
  cpSync(join(root, 'old-life'), dir, { recursive: true })
  await t.rejects(run(dir, record, 'inc-a', async () => {}), { code: 'ERR_STORAGE_ROLLED_BACK', message: /it has incarnation inc-a, but the node had written incarnation inc-b since/ })
})

t.test('an unreadable record is replaced rather than refused, with a warning', async (t) => {
  const { dir, record } = setup(t)
  await run(dir, record, 'inc-a', (s) => s.persist({ term: 1, vote: '', commit: 0 }, entries(1, 2)))
  writeFileSync(record, 'torn')
  await run(dir, record, 'inc-a', async () => {})
  const now = decodeHighWater(readFileSync(record))
  t.equal(typeof now !== 'string' && now.incarnation, 'inc-a')
})

/** Waits (bounded) until the file records `h`: its write runs in the background. */
async function recorded(record: string, h: HighWater): Promise<unknown> {
  const deadlineMs = Date.now() + 10_000
  for (;;) {
    const found = decodeHighWater(readFileSync(record))
    if (JSON.stringify(found) === JSON.stringify(h) || Date.now() > deadlineMs) return found
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

t.test('positions noted within one interval are written once, the newest, when the interval has passed', async (t) => {
  const { record } = setup(t)
  const clock = manualClock()
  const at = (segmentBytes: number): HighWater => ({ incarnation: 'inc-a', segmentSeq: 1, segmentBytes })
  let writes = 0
  const counting: FileSystem = {
    ...nodeFileSystem,
    open: async (path, mode, options) => {
      const f = await nodeFileSystem.open(path, mode, options)
      const counted: DiskFile = {
        write: (buf, offset, length, position) => { writes++; return f.write(buf, offset, length, position) },
        read: (buf, offset, length, position) => f.read(buf, offset, length, position),
        datasync: () => f.datasync(),
        sync: () => f.sync(),
        close: () => f.close(),
      }
      return counted
    },
  }
  const { file } = await HighWaterFile.open(counting, record, silentLogger(), clock, 1000)
  await file.writeDurably(at(0))
  writes = 0
  file.note(at(100))
  t.same(await recorded(record, at(100)), at(100), 'the first position is written at once')
  file.note(at(200))
  file.note(at(300))
  t.equal(writes, 1, 'later ones wait for the interval')
  clock.advance(999)
  t.equal(writes, 1, 'the whole interval')
  clock.advance(1)
  t.same(await recorded(record, at(300)), at(300), 'then only the newest is written')
  t.equal(writes, 2, 'two writes for three positions')
  file.note(at(400))
  await file.close()
  t.same(decodeHighWater(readFileSync(record)), at(400), 'a clean stop writes the newest position without waiting for the interval')
})
