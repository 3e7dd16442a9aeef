import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { Prng } from '../../lib/util/prng.js'
import { makeEntries } from '../storage/fixtures/entries.js'
import { damageTail, losePower } from './disk-faults.js'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'jepsen-disk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Ten one-entry batches, then closed. */
async function writeLog(dir: string, trackSyncedLengths = false): Promise<void> {
  const { storage } = await NodeStorage.open({ dir, fsync: 'always', trackSyncedLengths })
  for (let i = 1; i <= 10; i++) await storage.persist({ term: 1, vote: 'n1', commit: i - 1 }, makeEntries(i, 1, 1))
  await storage.close()
}

async function recoveredLastIndex(dir: string): Promise<number> {
  const { storage, state } = await NodeStorage.open({ dir, fsync: 'never' })
  await storage.close()
  return state.entries[state.entries.length - 1]?.index ?? 0
}

t.test('damaging the tail costs the node exactly its last record, never more', async (t) => {
  for (let seed = 1; seed <= 12; seed++) {
    const dir = tempDir(t)
    await writeLog(dir)
    const what = await damageTail(dir, new Prng(seed))
    t.equal(await recoveredLastIndex(dir), 9, `seed ${seed}: ${what}`)
  }
})

t.test('power loss keeps every fsynced batch', async (t) => {
  const dir = tempDir(t)
  await writeLog(dir, true)
  t.match(await losePower(dir), /cut to their synced length/)
  t.equal(await recoveredLastIndex(dir), 10)
})

t.test('power loss without synced-length tracking says so and changes nothing', async (t) => {
  const dir = tempDir(t)
  await writeLog(dir)
  t.match(await losePower(dir), /does not track/)
  t.equal(await recoveredLastIndex(dir), 10)
})
