// A snapshot is sent to a follower from its file, not from memory: the
// reader streams the data section, survives the file's deletion by a newer
// snapshot's compaction, refuses a damaged file, and storage keeps none of
// a snapshot's bytes once it is saved or recovered.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { open as openFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { SnapshotMeta } from '../../lib/raft/types.js'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { makeEntries } from './fixtures/entries.js'
import { readLatest } from './fixtures/latest-snapshot.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const config = { members: [{ id: 'n1', addr: '127.0.0.1:7001', role: 'voter' as const }] }
const meta = (index: number, term = 1): SnapshotMeta => ({ index, term, config })
const open = (dir: string) => NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: 4096 })
const chunkBytes = 64 * 1024

async function filled(dir: string): Promise<NodeStorage> {
  const { storage } = await open(dir)
  for (let i = 0; i < 30; i++) await storage.persist({ term: 1, vote: 'n1', commit: i * 10 }, makeEntries(i * 10 + 1, 10, 1))
  return storage
}

/** Whether `ref`'s target is collected once nothing else holds it (a few turns and full GCs). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  return ref.deref() === undefined
}

t.test('the newest snapshot is streamed from its file in chunks: exactly its data section', async (t) => {
  const storage = await filled(t.testdir())
  const data = randomBytes(5 * chunkBytes + 123)
  await storage.saveSnapshot(meta(250), data)
  const reader = await storage.openSnapshot()
  if (reader === null) throw new Error('no snapshot to open')
  t.same(reader.meta, meta(250))
  t.equal(reader.dataBytes, data.length)
  const chunks: Buffer[] = []
  for (let offset = 0; offset < reader.dataBytes; offset += chunkBytes) chunks.push(await reader.read(offset, chunkBytes))
  t.equal(chunks.length, 6)
  t.ok(Buffer.concat(chunks).equals(data), 'the chunks are the data')
  t.ok((await reader.read(2 * chunkBytes, chunkBytes)).equals(data.subarray(2 * chunkBytes, 3 * chunkBytes)), 'a chunk read again (a resend) is the same')
  await reader.close()
  await storage.close()
})

t.test('a snapshot file compaction deletes mid-send is still read whole through the open reader', async (t) => {
  const dir = t.testdir()
  const storage = await filled(dir)
  const older = randomBytes(3 * chunkBytes)
  await storage.saveSnapshot(meta(250), older)
  const reader = await storage.openSnapshot()
  if (reader === null) throw new Error('no snapshot to open')
  const first = await reader.read(0, chunkBytes)
  await storage.saveSnapshot(meta(300), randomBytes(2 * chunkBytes))
  t.same((await readdir(dir)).filter((n) => n.startsWith('snapshot-')), ['snapshot-00000000000000000300.snap'], 'the file being sent was deleted')
  const rest = [await reader.read(chunkBytes, chunkBytes), await reader.read(2 * chunkBytes, chunkBytes)]
  t.ok(Buffer.concat([first, ...rest]).equals(older), "every byte is the older snapshot's, none the newer's")
  await reader.close()
  t.equal((await storage.openSnapshot().then(async (r) => { await r?.close(); return r }))?.meta.index, 300, 'a new send opens the newer snapshot')
  await storage.close()
})

t.test("a damaged snapshot file fails the read that reaches its end: its last bytes never go out", async (t) => {
  const dir = t.testdir()
  const storage = await filled(dir)
  const data = randomBytes(3 * chunkBytes)
  await storage.saveSnapshot(meta(250), data)
  const file = await openFile(join(dir, 'snapshot-00000000000000000250.snap'), 'r+')
  const size = (await file.stat()).size
  await file.write(Buffer.from([data[10] === 0 ? 1 : 0]), 0, 1, size - data.length + 10)
  await file.close()
  const reader = await storage.openSnapshot()
  if (reader === null) throw new Error('no snapshot to open')
  await reader.read(0, chunkBytes)
  await reader.read(chunkBytes, chunkBytes)
  await t.rejects(reader.read(2 * chunkBytes, chunkBytes), /checksum mismatch/)
  await reader.close()
  await storage.close()
})

t.test("storage's close closes a reader left open", async (t) => {
  const storage = await filled(t.testdir())
  await storage.saveSnapshot(meta(250), randomBytes(100))
  const reader = await storage.openSnapshot()
  if (reader === null) throw new Error('no snapshot to open')
  await storage.close()
  await t.rejects(reader.read(0, 10), /closed/)
  t.equal(await storage.openSnapshot(), null, 'nothing opens after close')
})

t.test('storage holds no snapshot bytes once it has saved them', async (t) => {
  const storage = await filled(t.testdir())
  let data: Buffer | null = Buffer.alloc(4 * 1024 * 1024, 7)
  const bytes = new WeakRef(data.buffer)
  await storage.saveSnapshot(meta(250), data)
  data = null
  t.ok(await collected(bytes), "the saved snapshot's bytes are garbage once the caller drops them")
  t.same(storage.latestSnapshotMeta(), meta(250), 'while storage still knows the snapshot')
  await storage.close()
})

t.test('recovery checks a snapshot file by reading it through, holding none of its data', async (t) => {
  const dir = t.testdir()
  const storage = await filled(dir)
  const snapshotBytes = 64 * 1024 * 1024
  await storage.saveSnapshot(meta(250), Buffer.alloc(snapshotBytes, 7))
  await storage.close()
  gc()
  const before = process.memoryUsage().arrayBuffers
  const { storage: again, state } = await open(dir)
  const held = process.memoryUsage().arrayBuffers - before
  t.same(state.snapshot?.meta, meta(250), 'the snapshot is recovered')
  t.ok(held < snapshotBytes / 8, `recovery grew the Buffers by ${held} bytes for a ${snapshotBytes}-byte snapshot`)
  t.equal((await readLatest(again))?.data.length, snapshotBytes, 'its data is read from the file when wanted')
  await again.close()
})
