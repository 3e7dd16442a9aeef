// Preallocated segments: the spare is zero-filled in the background and
// adopted on a roll; every state a crash can leave around that — a partial
// spare, a spare renamed into the log before its first record, a torn record
// followed by zeros, damage followed by valid data — recovers to a prefix
// that holds everything acknowledged, or stops naming file and offset.
import t from 'tap'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import type { FaultPoint } from '../../lib/storage/durable-dir.js'
import { spareSegmentFileName } from '../../lib/storage/log-segment.js'
import { NodeStorage, type StorageOptions } from '../../lib/storage/node-storage.js'
import { StorageCorruptionError } from '../../lib/storage/errors.js'
import { decodeBatch, type LogBatch } from '../../lib/storage/entry-codec.js'
import { endOfNonZero, scanRecords } from '../../lib/storage/record-codec.js'
import { describe, makeEntries } from './fixtures/entries.js'

const segmentBytes = 16 * 1024
const segmentsIn = async (dir: string) => (await readdir(dir)).filter((n) => /^segment-\d+\.log$/.test(n)).sort()

/** A logger that keeps its lines, to check what start-up reported. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  return { logger: pino({ level: 'info' }, { write: (line: string) => { lines.push(line) } }), lines }
}

function open(dir: string, extra: Partial<StorageOptions> = {}) {
  return NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: segmentBytes, ...extra })
}

/** Persists `count` 4-entry batches from index `first`; returns the next index. */
async function fill(storage: NodeStorage, first: number, count: number, term = 1): Promise<number> {
  let next = first
  for (let i = 0; i < count; i++) {
    await storage.persist({ term, vote: 'n1', commit: next - 1 }, makeEntries(next, 4, term))
    next += 4
  }
  return next
}

async function reopenEntries(dir: string): Promise<{ entries: string[]; lines: string[]; term: number }> {
  const { logger, lines } = capture()
  const { storage, state } = await open(dir, { logger })
  await storage.close()
  return { entries: describe(state.entries), lines: lines.filter((l) => !l.includes('storage recovered')), term: state.hardState.term }
}

t.test('segments after the first are preallocated to segmentBytesMax and replay with a clean end', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  let next = await fill(storage, 1, 1)
  await storage.awaitPreallocation()
  next = await fill(storage, next, 250)
  await storage.awaitPreallocation()
  await storage.close()
  const names = await segmentsIn(dir)
  t.ok(names.length >= 3, `rolled into ${names.length} segments`)
  for (const name of names.slice(1)) {
    const bytes = await readFile(join(dir, name))
    t.equal(bytes.length, segmentBytes, `${name} is preallocated`)
    const firsts: LogBatch[] = []
    const scan = scanRecords(bytes, (payload) => { if (firsts.length === 0) firsts.push(decodeBatch(payload)) })
    t.equal(endOfNonZero(bytes, scan.validBytes), scan.validBytes, `${name}: only zeros after the last record`)
    // The batch that caused the roll is a record of its own, so a torn one is cut without touching the hard state.
    t.ok(firsts[0]?.hardState !== null && firsts[0]?.entries.length === 0, `${name} opens with a hard-state-only record`)
  }
  const after = await reopenEntries(dir)
  t.same(after.entries, describe(makeEntries(1, next - 1, 1)))
  t.same(after.lines, [], 'zero tails are not reported as torn or damaged')
})

t.test('the next spare is made once the current segment is half full, not before', async (t) => {
  const dir = t.testdir()
  const spareExists = () => stat(join(dir, spareSegmentFileName)).then(() => true, () => false)
  const { storage } = await open(dir)
  let next = await fill(storage, 1, 1)
  await storage.awaitPreallocation()
  t.ok(await spareExists(), 'a fresh log (its first segment grows) gets a spare at once')
  next = await fill(storage, next, 1)
  await storage.awaitPreallocation()
  t.notOk(await spareExists(), 'adopted by the next append; the new segment is empty, so no new spare yet')
  const newest = async () => readFile(join(dir, (await segmentsIn(dir)).pop() ?? ''))
  while (endOfNonZero(await newest(), 0) <= segmentBytes / 2) next = await fill(storage, next, 1)
  await storage.awaitPreallocation()
  t.ok(await spareExists(), 'past half of the segment, the next spare is ready')
  await storage.close()
  t.same((await reopenEntries(dir)).entries, describe(makeEntries(1, next - 1, 1)))
})

t.test('a crash during preallocation: the partial spare is removed on open and a new one is made', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  const next = await fill(storage, 1, 5)
  await storage.close()
  await rm(join(dir, spareSegmentFileName), { force: true })
  // What a kill in the middle of zero-filling leaves: a short tmp file, some of it zeros.
  await writeFile(join(dir, `${spareSegmentFileName}.tmp`), Buffer.alloc(5000))
  const { logger, lines } = capture()
  const { storage: again, state } = await open(dir, { logger })
  t.same(describe(state.entries), describe(makeEntries(1, next - 1, 1)))
  t.ok(lines.some((l) => l.includes(`removing ${spareSegmentFileName}.tmp`)), 'the leftover is logged and removed')
  await again.awaitPreallocation()
  t.notOk((await readdir(dir)).some((n) => n.endsWith('.tmp')), 'no partial spare is left')
  // Enough to need the next segment: a new spare is made and adopted.
  await fill(again, next, 250)
  await again.close()
  t.ok((await segmentsIn(dir)).length >= 4, 'rolled on through new spares')
  t.same((await reopenEntries(dir)).entries, describe(makeEntries(1, next + 1000 - 1, 1)))
})

// Whether the reopened node wants a spare at all depends on its newest
// segment: a growing one does, a preallocated one with more than half its
// room left does not (an idle node holds one unused segment, not two). The
// first run used to leave either, depending on whether its background
// preallocation finished before its first append (it then adopted the spare):
// under load the reopened node sometimes wanted no spare, so none was made and
// the test's stat failed with ENOENT. Each case is now set up deterministically.
t.test('a spare of another size (SEGMENT_BYTES changed) is replaced by one of the right size when the newest segment grows', async (t) => {
  const dir = t.testdir()
  // Without preallocation the newest segment is a growing one: a spare is due at once after reopening.
  const { storage } = await open(dir, { preallocateSegments: false })
  await fill(storage, 1, 2)
  await storage.close()
  await writeFile(join(dir, spareSegmentFileName), Buffer.alloc(4096))
  const { storage: again } = await open(dir)
  await again.awaitPreallocation()
  t.equal((await stat(join(dir, spareSegmentFileName))).size, segmentBytes)
  await again.close()
})

t.test('a spare of another size is removed, and none made, while the newest segment is preallocated with room left', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  await storage.awaitPreallocation()
  // The spare is ready: this append moves to it rather than grow the first segment.
  await fill(storage, 1, 2)
  await storage.close()
  t.equal((await segmentsIn(dir)).length, 2, 'the first append moved to the spare')
  await writeFile(join(dir, spareSegmentFileName), Buffer.alloc(4096))
  const { storage: again } = await open(dir)
  await again.awaitPreallocation()
  await t.rejects(stat(join(dir, spareSegmentFileName)), { code: 'ENOENT' }, 'the wrong-size spare is gone and no spare is due yet')
  await again.close()
})

t.test('a failed preallocation (disk full) is logged and appends go on in a growing segment', async (t) => {
  const dir = t.testdir()
  const { logger, lines } = capture()
  const inject = (point: FaultPoint, file: string) => {
    if (point === 'write' && file.startsWith(spareSegmentFileName)) throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' })
  }
  const { storage } = await open(dir, { injectFault: inject, logger })
  await storage.awaitPreallocation()
  t.ok(lines.some((l) => l.includes('could not preallocate')), 'the failure is logged')
  const next = await fill(storage, 1, 250)
  await storage.close()
  t.ok((await segmentsIn(dir)).length >= 2, 'segments still roll')
  t.same((await reopenEntries(dir)).entries, describe(makeEntries(1, next - 1, 1)))
  t.notOk((await readdir(dir)).some((n) => n.endsWith('.tmp')), 'the next open removed the partial spare')
})

t.test('a crash right after switching segments: a newest segment of zeros only is an empty segment', async (t) => {
  const dir = t.testdir()
  const armed = { on: false }
  const inject = (point: FaultPoint, file: string) => {
    // The roll renames the spare to segment 2, then this write fails: segment 2 is all zeros.
    if (armed.on && point === 'write' && file.endsWith('segment-0000000000000002.log')) throw Object.assign(new Error('EIO'), { code: 'EIO' })
  }
  const { storage } = await open(dir, { injectFault: inject })
  const next = await fill(storage, 1, 1)
  await storage.persist({ term: 2, vote: 'n2', commit: 3 }, [])
  await storage.awaitPreallocation()
  armed.on = true
  await t.rejects(fill(storage, next, 1), { code: 'ERR_STORAGE_IO' })
  await storage.close()
  const names = await segmentsIn(dir)
  t.same(names.slice(-1), ['segment-0000000000000002.log'])
  const zeros = await readFile(join(dir, 'segment-0000000000000002.log'))
  t.equal(endOfNonZero(zeros, 0), 0, 'the new segment holds only zeros')
  const first = await reopenEntries(dir)
  t.same(first.entries, describe(makeEntries(1, next - 1, 1)), 'everything acknowledged before the switch')
  t.equal(first.term, 2, 'the hard state comes from the older segment')
  t.same(first.lines, [], 'an all-zero newest segment is not damage')
  // The reopened storage wrote its hard-state record into segment 2 and appends after it.
  const { storage: again } = await open(dir)
  const last = await fill(again, next, 3, 2)
  await again.close()
  t.same((await reopenEntries(dir)).entries, describe([...makeEntries(1, next - 1, 1), ...makeEntries(next, last - next, 2)]))
})

t.test('a torn record followed by zeros in a preallocated segment is cut, logged and zeroed', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  let next = await fill(storage, 1, 1)
  await storage.awaitPreallocation()
  next = await fill(storage, next, 5)
  await storage.close()
  const newest = (await segmentsIn(dir)).pop() ?? ''
  const path = join(dir, newest)
  const good = await readFile(path)
  t.equal(good.length, segmentBytes, 'the newest segment is a preallocated one')
  const offsets: number[] = []
  const scan = scanRecords(good, (_payload, offset) => offsets.push(offset))
  const lastStart = offsets[offsets.length - 1] ?? 0
  const expected = describe(makeEntries(1, next - 5, 1))
  // The last record as a crash may leave it: its first part only, or with a hole of unwritten (zero) sectors.
  const tears: Array<[string, (b: Buffer) => void]> = [
    ['first half written', (b) => b.fill(0, lastStart + Math.floor((scan.validBytes - lastStart) / 2), scan.validBytes)],
    ['header missing', (b) => b.fill(0, lastStart, lastStart + 8)],
    ['hole in the middle', (b) => b.fill(0, lastStart + 10, lastStart + 20)],
  ]
  for (const [what, tear] of tears) {
    const torn = Buffer.from(good)
    tear(torn)
    await writeFile(path, torn)
    const first = await reopenEntries(dir)
    t.same(first.entries, expected, `${what}: the torn record is dropped`)
    t.ok(first.lines.some((l) => l.includes('dropped torn tail') && l.includes(`"offset":${lastStart}`)), `${what}: logged with its offset`)
    const after = await readFile(path)
    t.equal(after.length, segmentBytes, `${what}: the file keeps its preallocated length`)
    t.equal(endOfNonZero(after, lastStart), lastStart, `${what}: the torn bytes were zeroed`)
    t.same((await reopenEntries(dir)).lines, [], `${what}: the next start-up is clean`)
  }
})

t.test('damage followed by valid records stops start-up naming file and offset, zero tail or not', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  let next = await fill(storage, 1, 1)
  await storage.awaitPreallocation()
  next = await fill(storage, next, 6)
  await storage.close()
  const newest = (await segmentsIn(dir)).pop() ?? ''
  const path = join(dir, newest)
  const good = await readFile(path)
  const offsets: number[] = []
  scanRecords(good, (_payload, offset) => offsets.push(offset))
  const victim = offsets[offsets.length - 3] ?? 0
  for (const damage of ['flip', 'zeroed']) {
    const bad = Buffer.from(good)
    if (damage === 'flip') bad[victim + 9] = (bad[victim + 9] ?? 0) ^ 0x10
    else bad.fill(0, victim, victim + 12)
    await writeFile(path, bad)
    const error = await open(dir).then(async ({ storage: s }) => { await s.close(); return null }, (e: unknown) => e)
    t.ok(error instanceof StorageCorruptionError, `${damage}: corruption`)
    if (error instanceof StorageCorruptionError) {
      t.equal(error.offset, victim, `${damage}: at the damaged record's offset`)
      t.ok(error.file.endsWith(newest), `${damage}: in ${newest}`)
    }
  }
})

t.test('bytes in the zero tail of an older segment are corruption, not a torn tail', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  let next = await fill(storage, 1, 1)
  await storage.awaitPreallocation()
  next = await fill(storage, next, 250)
  await storage.close()
  const older = (await segmentsIn(dir)).slice(-2)[0] ?? ''
  const path = join(dir, older)
  const bytes = await readFile(path)
  const scan = scanRecords(bytes, () => undefined)
  t.ok(scan.validBytes < bytes.length, 'the older segment has a zero tail')
  bytes[scan.validBytes + 3] = 0x7f
  await writeFile(path, bytes)
  await t.rejects(open(dir), { code: 'ERR_STORAGE_CORRUPT', message: new RegExp(`${older} at byte offset ${scan.validBytes}`) })
})

t.test('a conflicting suffix is replaced inside a preallocated segment and across a roll', async (t) => {
  const dir = t.testdir()
  const { storage } = await open(dir)
  let next = await fill(storage, 1, 1)
  await storage.awaitPreallocation()
  next = await fill(storage, next, 200)
  t.ok((await segmentsIn(dir)).length >= 3, 'the log spans several segments')
  // Raft log conflicts: a new leader replaces everything from index 30 (an older segment) on, then from 33.
  await storage.persist({ term: 2, vote: 'n2', commit: 20 }, makeEntries(30, 3, 2))
  await storage.persist({ term: 2, vote: 'n2', commit: 20 }, makeEntries(33, 2, 2))
  await storage.close()
  const after = await reopenEntries(dir)
  t.same(after.entries, describe([...makeEntries(1, 29, 1), ...makeEntries(30, 5, 2)]), `${next - 1} entries cut back to 34`)
  t.same(after.lines, [])
})
