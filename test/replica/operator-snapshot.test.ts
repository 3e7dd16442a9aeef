// An operator's snapshot (`cluster snapshot`, Replica.snapshotNow) is taken
// under writes as at rest, and one that fails on the disk stops the node at
// once, as a snapshot the node takes by itself does: storage refuses every
// write after a failed one, so a node that ran on would only stop at its next
// write, and a leader would lead meanwhile without being able to commit.
import { basename } from 'node:path'
import t from 'tap'
import { systemIo } from '../../lib/app/system-io.js'
import type { KvWrite } from '../../lib/kv/command.js'
import type { DiskFile, FileSystem } from '../../lib/storage/file-system.js'
import { startSingleNode } from './fixtures/single-node.js'

/**
 * A file system whose writes to snapshot files fail with ENOSPC once `full`
 * is set: the log and the other files still write, so the only failure the
 * node meets is the snapshot's.
 */
function fillableFs(base: FileSystem, isFull: () => boolean): FileSystem {
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  const file = (f: DiskFile): DiskFile => ({
    ...f,
    write: (data, offset, length, position) => (isFull() ? Promise.reject(enospc()) : f.write(data, offset, length, position)),
    read: (buffer, offset, length, position) => f.read(buffer, offset, length, position),
    datasync: () => f.datasync(),
    sync: () => f.sync(),
    close: () => f.close(),
  })
  return { ...base, open: async (path, mode, options) => (basename(path).startsWith('snapshot-') ? file(await base.open(path, mode, options)) : base.open(path, mode, options)) }
}

t.test("a disk error in an operator's snapshot stops the node, with no write after it", async (t) => {
  let full = false
  const node = await startSingleNode(t, {}, { ...systemIo, fs: fillableFs(systemIo.fs, () => full) })
  await node.backend.write({ ops: [{ t: 'set', key: Buffer.from('k'), value: Buffer.from('v'), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] })
  let stopped = false
  void node.fatal.then(() => (stopped = true))
  full = true
  await t.rejects(node.replica.snapshotNow(), { code: 'ERR_STORAGE_IO' }, "the operator hears the disk's error")
  let timer: NodeJS.Timeout | undefined
  const fatal = await Promise.race([node.fatal, new Promise<null>((r) => (timer = setTimeout(() => r(null), 10_000)))])
  clearTimeout(timer)
  t.ok(stopped && fatal !== null, 'the node stopped without waiting for another write')
  await t.resolves(node.stop(), 'stopping it afterwards, the disk still full, closes what it holds (the bin does, then exits)')
})

const setWrite = (i: number): KvWrite => ({ ops: [{ t: 'set', key: Buffer.from(`k${i % 1000}`), value: Buffer.alloc(100, 120), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] })

t.test("an operator's snapshots on a single node under writes are all taken", async (t) => {
  // Its applied entries reach the core only after each batch's log write,
  // and every batch has some: half of these failed on the core's assertion.
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '1000000' })
  let writing = true
  let written = 0
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = w; writing; i += 16) {
      await node.backend.write(setWrite(i))
      written++
    }
  })
  const failures: string[] = []
  for (let i = 0; i < 20; i++) {
    // Asked as a write is answered: applied, while its batch's log write
    // (which carries the other writers' entries) may still be in flight.
    await node.backend.write(setWrite(1000 + i))
    await node.replica.snapshotNow().catch((err: Error) => failures.push(err.message))
  }
  writing = false
  await Promise.all(writers)
  t.same(failures, [], 'every request was answered with a snapshot')
  t.ok(node.replica.snapshotIndexNow() > 0, `snapshot at ${node.replica.snapshotIndexNow()} after ${written} writes`)
})

t.test("an operator's snapshot asked while another is taken covers what was applied when it was asked", async (t) => {
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '1000000' })
  // Enough keys that a snapshot takes several event-loop turns to encode.
  for (let i = 0; i < 20_000; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => node.backend.write(setWrite(i + j))))
  const first = node.replica.snapshotNow()
  await node.backend.write(setWrite(30_000))
  const appliedWhenAsked = node.replica.appliedIndex()
  const second = node.replica.snapshotNow()
  const [firstIndex, secondIndex] = await Promise.all([first, second])
  t.ok(firstIndex < appliedWhenAsked, `the first snapshot (at ${firstIndex}) was asked before the last write`)
  t.ok(secondIndex >= appliedWhenAsked, `the second (at ${secondIndex}) holds everything applied when it was asked (${appliedWhenAsked}), not the first's index`)
})
