// A child process appends and reports each batch once persist() resolved;
// the test SIGKILLs it at random moments, and every other round also throws
// away everything not fsynced (power loss, via synced-lengths.json). After
// each crash every reported batch must be there, in order, and nothing else
// may differ except the one batch or snapshot that was in flight. The child's
// segments are small and preallocated, so crashes also land during
// preallocation and right after segment switches.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { Prng } from '../../lib/util/prng.js'
import { dataFor, describe, makeEntry } from './fixtures/entries.js'
import { readLatest } from './fixtures/latest-snapshot.js'
import { transpileForChild } from './fixtures/transpile.js'

interface Batch { first: number; count: number; term: number; commit: number }

/** What the child reported: the log as terms by index (from 1), and the in-flight work. */
interface Expected {
  terms: number[]
  commit: number
  term: number
  pending: Batch | null
  snapshotDone: number
  snapshotPending: number | null
}

function applyBatch(terms: readonly number[], batch: Batch): number[] {
  return [...terms.slice(0, batch.first - 1), ...Array<number>(batch.count).fill(batch.term)]
}

function onLine(expected: Expected, line: string): void {
  const [kind, ...args] = line.split(' ')
  const n = args.map(Number)
  if (kind === 'W') expected.pending = { first: n[0] ?? 0, count: n[1] ?? 0, term: n[2] ?? 0, commit: n[3] ?? 0 }
  if (kind === 'D' && expected.pending !== null) {
    expected.terms = applyBatch(expected.terms, expected.pending)
    expected.term = expected.pending.term
    expected.commit = expected.pending.commit
    expected.pending = null
  }
  if (kind === 'S') expected.snapshotPending = n[0] ?? 0
  if (kind === 'SD') {
    expected.snapshotDone = expected.snapshotPending ?? 0
    expected.snapshotPending = null
  }
}

/** Runs the child until it has reported `batches` fsynced batches, then SIGKILLs it. */
async function runAndKill(script: string, dir: string, seed: number, batches: number, expected: Expected): Promise<number> {
  const child = spawn(process.execPath, [script, dir, String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  let buffered = ''
  let done = 0
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        onLine(expected, line)
        if (line === 'D') done++
        if (done >= batches) child.kill('SIGKILL')
      }
      if (done >= batches) resolve()
    })
    child.on('exit', () => resolve())
  })
  child.kill('SIGKILL')
  await exited
  return done
}

/**
 * Power loss: what was not fsynced is gone, and never-synced files vanish.
 * 'truncate': every file goes back to its length at its last fsync. 'zero':
 * segment files keep their length (a preallocated file's size was durable
 * long before) and their unsynced bytes read back as the zeros that were
 * there; other files are truncated.
 */
async function losePower(dir: string, mode: 'truncate' | 'zero'): Promise<void> {
  const lengths = JSON.parse(await readFile(join(dir, 'synced-lengths.json'), 'utf8')) as Record<string, number>
  for (const name of await readdir(dir)) {
    if (name.startsWith('synced-lengths.json')) continue
    const length = lengths[name]
    const path = join(dir, name)
    if (length === undefined) {
      await rm(path)
    } else if (mode === 'zero' && /^segment-\d+\.log$/.test(name)) {
      const sizeBytes = (await stat(path)).size
      if (sizeBytes <= length) continue
      const handle = await open(path, 'r+')
      await handle.write(Buffer.alloc(sizeBytes - length), 0, sizeBytes - length, length)
      await handle.close()
    } else {
      await truncate(path, length)
    }
  }
}

/**
 * One lane: `rounds` crashes of a child on its own data directory. Returns
 * the number of batches reported, or throws describing the first mismatch.
 */
async function crashLane(t: Test, script: string, dir: string, seed: number, rounds: number): Promise<number> {
  const prng = new Prng(seed)
  const expected: Expected = { terms: [], commit: 0, term: 0, pending: null, snapshotDone: 0, snapshotPending: null }
  let reported = 0
  for (let round = 0; round < rounds; round++) {
    const powerLoss = round % 2 === 1
    const lossMode = round % 4 === 1 ? 'truncate' : 'zero'
    const what = `seed ${seed} round ${round} (${powerLoss ? `power loss, ${lossMode}` : 'SIGKILL'})`
    reported += await runAndKill(script, dir, seed * 1000 + round, prng.int(60), expected)
    if (powerLoss) await losePower(dir, lossMode)
    const { storage, state } = await NodeStorage.open({ dir, fsync: 'always' })
    const latest = await readLatest(storage)
    await storage.close()
    const snapshotIndex = state.snapshot?.meta.index ?? 0
    const snapshotOk = snapshotIndex === expected.snapshotDone || snapshotIndex === expected.snapshotPending
    t.ok(snapshotOk, `${what}: snapshot ${snapshotIndex} (done ${expected.snapshotDone})`)
    t.ok(state.snapshot === null || latest?.data.equals(dataFor(snapshotIndex, 0, 4096)), `${what}: snapshot data`)
    // Either the reported log, or it plus the one batch in flight.
    const candidates = [{ terms: expected.terms, term: expected.term, commit: expected.commit }]
    const pending = expected.pending
    if (pending !== null) candidates.push({ terms: applyBatch(expected.terms, pending), term: pending.term, commit: pending.commit })
    const got = describe(state.entries).join()
    const match = candidates.find((c) =>
      describe(c.terms.slice(snapshotIndex).map((term, i) => makeEntry(snapshotIndex + i + 1, term))).join() === got &&
      c.term === state.hardState.term && c.commit === state.hardState.commit)
    if (match === undefined) {
      throw new Error(`${what}: recovered ${state.entries.length} entries after snapshot ${snapshotIndex}, ` +
        `hard state ${JSON.stringify(state.hardState)}; expected ${expected.terms.length} entries`)
    }
    expected.terms = match.terms
    expected.term = match.term
    expected.commit = match.commit
    expected.pending = null
    expected.snapshotDone = snapshotIndex
    expected.snapshotPending = null
  }
  return reported
}

t.test('every batch reported fsynced survives SIGKILL and power loss, in order', async (t) => {
  const root = t.testdir({ a: {}, b: {} })
  const script = join(await transpileForChild(join(root, 'js')), 'test/storage/fixtures/crash-child.js')
  // Two independent lanes at once: child start-up dominates, and it overlaps well.
  const roundsPerLane = 12
  const reported = await Promise.all([
    crashLane(t, script, join(root, 'a'), 1, roundsPerLane),
    crashLane(t, script, join(root, 'b'), 2, roundsPerLane),
  ])
  const total = reported.reduce((a, b) => a + b, 0)
  t.ok(total > 2 * roundsPerLane, `${2 * roundsPerLane} crashes, ${total} batches reported fsynced`)
})
