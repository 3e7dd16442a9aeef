// Damage to segment files: a torn or damaged last record is cut off; damage
// followed by valid records, or in an older segment, stops start-up. Each
// case runs on a segment that ends at its data (grown by appends) and on one
// followed by zeros (preallocated): the zeros must read as the clean end.
import t from 'tap'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Entry, HardState } from '../../lib/raft/types.js'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { StorageCorruptionError } from '../../lib/storage/errors.js'
import { describe, makeEntries } from './fixtures/entries.js'

interface Written {
  /** Segment length after each record: records[i] ends at ends[i]. */
  ends: number[]
  /** The log and hard state as they stood after each record. */
  logs: Entry[][]
  hardStates: HardState[]
  bytes: Buffer
  name: string
}

/**
 * One segment with a header record and `batches` small batches, one of them
 * a truncation. Written without preallocation, so the file is exactly its
 * records; recoverFrom adds the zeros a preallocated segment would hold.
 */
async function writeSegment(dir: string, batches: number): Promise<Written> {
  const { storage } = await NodeStorage.open({ dir, fsync: 'never', preallocateSegments: false })
  const name = (await readdir(dir)).find((n) => n.startsWith('segment-')) ?? ''
  const path = join(dir, name)
  const ends = [(await stat(path)).size]
  const logs: Entry[][] = [[]]
  const hardStates: HardState[] = [{ term: 0, vote: '', commit: 0 }]
  let log: Entry[] = []
  for (let i = 0; i < batches; i++) {
    const term = 1 + Math.floor(i / 4)
    // Every fourth batch overwrites the last entry: truncation records must replay too.
    const first = i % 4 === 3 ? log.length : log.length + 1
    const entries = makeEntries(first, 1 + (i % 3), term)
    const hardState = { term, vote: `n${i}`, commit: Math.max(0, first - 2) }
    await storage.persist(hardState, entries)
    log = [...log.slice(0, first - 1), ...entries]
    ends.push((await stat(path)).size)
    logs.push(log)
    hardStates.push(hardState)
  }
  await storage.close()
  return { ends, logs, hardStates, bytes: await readFile(path), name }
}

/** Bytes of zeros after the data in the preallocated variant of each case. */
const paddings = [0, 16 * 1024]

/** Recovers a directory holding only `name` = `bytes` followed by `zeroBytes` zeros. */
async function recoverFrom(dir: string, name: string, bytes: Buffer, logger = pino({ level: 'silent' }), zeroBytes = 0) {
  for (const file of await readdir(dir)) await rm(join(dir, file))
  await writeFile(join(dir, name), Buffer.concat([bytes, Buffer.alloc(zeroBytes)]))
  // A small segment size keeps each open's background preallocation cheap.
  const { storage, state } = await NodeStorage.open({ dir, fsync: 'never', logger, segmentBytesMax: 64 * 1024 })
  await storage.close()
  return state
}

/** How many whole records lie before byte `offset`. */
function recordsBefore(ends: readonly number[], offset: number): number {
  return ends.filter((end) => end <= offset).length - 1
}

t.test('a cut at every byte offset in the last records keeps exactly the whole records before it', async (t) => {
  const root = t.testdir({ base: {}, work: {} })
  const written = await writeSegment(join(root, 'base'), 12)
  const dir = join(root, 'work')
  const from = written.ends[written.ends.length - 5] ?? 0
  let cases = 0
  for (const zeroBytes of paddings) {
    for (let cut = from; cut < written.bytes.length; cut++) {
      // With zeros after the cut, cut-off bytes that were zeros anyway (Avro ends a batch with
      // a 0 byte) read back unchanged: that record is whole again, and must be kept.
      let restored = cut
      while (zeroBytes > 0 && restored < written.bytes.length && written.bytes[restored] === 0) restored++
      const kept = recordsBefore(written.ends, restored)
      const state = await recoverFrom(dir, written.name, written.bytes.subarray(0, cut), undefined, zeroBytes)
      const expected = written.logs[kept] ?? []
      if (describe(state.entries).join() !== describe(expected).join()) {
        t.fail(`cut at ${cut}, ${zeroBytes} zeros after: expected ${expected.length} entries from ${kept} records`)
      }
      t.same(state.hardState, written.hardStates[kept], `cut at ${cut}, ${zeroBytes} zeros after: hard state of record ${kept}`)
      cases++
    }
  }
  t.ok(cases > 100, `${cases} cut offsets checked`)
})

t.test('a recovered cut file is cleaned, so appending after it replays cleanly and logs nothing', async (t) => {
  const root = t.testdir({ base: {}, work: {} })
  const written = await writeSegment(join(root, 'base'), 6)
  const dir = join(root, 'work')
  const cut = (written.ends[written.ends.length - 1] ?? 0) - 3
  for (const zeroBytes of paddings) {
    const state = await recoverFrom(dir, written.name, written.bytes.subarray(0, cut), undefined, zeroBytes)
    const { storage } = await NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: 64 * 1024 })
    const next = state.entries.length + 1
    // A one-entry batch: shorter than the torn record, so leftovers of it would show.
    await storage.persist(null, makeEntries(next, 1, 9))
    await storage.close()
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line) } })
    const { storage: again, state: after } = await NodeStorage.open({ dir, fsync: 'always', logger })
    t.same(describe(after.entries), describe([...state.entries, ...makeEntries(next, 1, 9)]), `${zeroBytes} zeros after`)
    t.same(lines, [], `${zeroBytes} zeros after: the second start-up finds a clean end`)
    await again.close()
  }
})

t.test('a flipped byte in the last record drops that record and logs what was dropped', async (t) => {
  const root = t.testdir({ base: {}, work: {} })
  const written = await writeSegment(join(root, 'base'), 8)
  const dir = join(root, 'work')
  const lastStart = written.ends[written.ends.length - 2] ?? 0
  const kept = written.ends.length - 2
  for (let offset = lastStart; offset < written.bytes.length; offset++) {
    const damaged = Buffer.from(written.bytes)
    damaged[offset] = (damaged[offset] ?? 0) ^ 0x40
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line) } })
    const state = await recoverFrom(dir, written.name, damaged, logger, paddings[offset % paddings.length])
    if (describe(state.entries).join() !== describe(written.logs[kept] ?? []).join()) {
      t.fail(`flip at ${offset}: wrong entries`)
    }
    const line = lines.find((l) => l.includes('dropped torn tail'))
    if (line === undefined || !line.includes(`"offset":${lastStart}`)) t.fail(`flip at ${offset}: no log line naming offset ${lastStart}`)
  }
  t.pass(`flips at offsets ${lastStart}..${written.bytes.length - 1} dropped only the last record`)
})

t.test('a flipped byte before the last record stops recovery naming file and offset', async (t) => {
  const root = t.testdir({ base: {}, work: {} })
  const written = await writeSegment(join(root, 'base'), 8)
  const dir = join(root, 'work')
  const firstRecord = written.ends.length - 4
  for (let record = firstRecord; record < written.ends.length - 1; record++) {
    const start = written.ends[record - 1] ?? 0
    const end = written.ends[record] ?? 0
    for (let offset = start; offset < end; offset++) {
      const damaged = Buffer.from(written.bytes)
      damaged[offset] = (damaged[offset] ?? 0) ^ 0x01
      const error = await recoverFrom(dir, written.name, damaged, undefined, paddings[offset % paddings.length])
        .then(() => null, (e: unknown) => e)
      if (!(error instanceof StorageCorruptionError) || error.offset !== start || !error.file.endsWith(written.name)) {
        t.fail(`flip at ${offset} in record ${record}: expected corruption at ${start}, got ${String(error)}`)
        return
      }
    }
  }
  t.pass('every flip before the last record was reported at its record start')
})

t.test('zeros or garbage after the last record are cut off', async (t) => {
  const root = t.testdir({ base: {}, work: {} })
  const written = await writeSegment(join(root, 'base'), 4)
  const dir = join(root, 'work')
  const all = written.logs[written.logs.length - 1] ?? []
  for (const tail of [Buffer.alloc(4096), Buffer.from('not a record at all, just junk')]) {
    const state = await recoverFrom(dir, written.name, Buffer.concat([written.bytes, tail]))
    t.same(describe(state.entries), describe(all))
  }
})

t.test('damage in a segment that is not the newest stops recovery even at its end', async (t) => {
  const dir = t.testdir()
  const { storage } = await NodeStorage.open({ dir, fsync: 'never', segmentBytesMax: 512 })
  for (let i = 0; i < 30; i++) await storage.persist(null, makeEntries(i + 1, 1, 1))
  await storage.close()
  const names = (await readdir(dir)).filter((n) => n.startsWith('segment-')).sort()
  t.ok(names.length >= 3)
  const victim = join(dir, names[0] ?? '')
  const bytes = await readFile(victim)
  await writeFile(victim, bytes.subarray(0, bytes.length - 2))
  await t.rejects(NodeStorage.open({ dir, fsync: 'never' }), {
    code: 'ERR_STORAGE_CORRUPT',
    message: /segment-0000000000000001\.log at byte offset \d+/,
  })
})

t.test('a segment missing from the middle of the log stops recovery with a gap error', async (t) => {
  const dir = t.testdir()
  const { storage } = await NodeStorage.open({ dir, fsync: 'never', segmentBytesMax: 512 })
  for (let i = 0; i < 30; i++) await storage.persist(null, makeEntries(i + 1, 1, 1))
  await storage.close()
  const names = (await readdir(dir)).filter((n) => n.startsWith('segment-')).sort()
  t.ok(names.length >= 3)
  await rm(join(dir, names[1] ?? ''))
  await t.rejects(NodeStorage.open({ dir, fsync: 'never' }), { code: 'ERR_STORAGE_CORRUPT', message: /a gap/ })
})
