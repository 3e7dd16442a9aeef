// Disk errors: a failed write or fsync rejects with a typed error, the
// storage refuses every later write, and a restart reads what was durable.
import t from 'tap'
import { readdir } from 'node:fs/promises'
import type { FaultPoint } from '../../lib/storage/durable-dir.js'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import { describe, makeEntries } from './fixtures/entries.js'

function errnoError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code })
}

/** A fault injector that fails the next `point` on a file matching `pattern` once armed. */
function faultOn(point: FaultPoint, pattern: RegExp, code: string) {
  const control = { armed: false }
  const inject = (at: FaultPoint, file: string) => {
    if (control.armed && at === point && pattern.test(file)) throw errnoError(code)
  }
  return { control, inject }
}

t.test('ENOSPC on a log write rejects persist with ERR_STORAGE_IO and later writes with ERR_STORAGE_FAILED', async (t) => {
  const dir = t.testdir()
  const fault = faultOn('write', /segment-/, 'ENOSPC')
  const { storage } = await NodeStorage.open({ dir, fsync: 'always', injectFault: fault.inject })
  await storage.persist({ term: 1, vote: 'n1', commit: 0 }, makeEntries(1, 5, 1))
  fault.control.armed = true
  await t.rejects(storage.persist(null, makeEntries(6, 1, 1)), { code: 'ERR_STORAGE_IO', errno: 'ENOSPC', message: /disk full/ })
  fault.control.armed = false
  await t.rejects(storage.persist(null, makeEntries(6, 1, 1)), { code: 'ERR_STORAGE_FAILED' })
  await t.rejects(storage.setMeta('k', 'v'), { code: 'ERR_STORAGE_FAILED' })
  await storage.close()
  const { storage: again, state } = await NodeStorage.open({ dir, fsync: 'always' })
  t.same(describe(state.entries), describe(makeEntries(1, 5, 1)))
  await again.close()
})

t.test('EIO on fsync rejects persist and a restart still reads a consistent log', async (t) => {
  const dir = t.testdir()
  const fault = faultOn('fsync', /segment-/, 'EIO')
  const { storage } = await NodeStorage.open({ dir, fsync: 'always', injectFault: fault.inject })
  await storage.persist(null, makeEntries(1, 5, 1))
  fault.control.armed = true
  await t.rejects(storage.persist(null, makeEntries(6, 3, 1)), { code: 'ERR_STORAGE_IO', errno: 'EIO' })
  await t.rejects(storage.persist(null, makeEntries(9, 1, 1)), { code: 'ERR_STORAGE_FAILED' })
  await storage.close()
  const { storage: again, state } = await NodeStorage.open({ dir, fsync: 'always' })
  // The unacknowledged batch reached the page cache, so it may or may not be there; nothing else may be.
  const possible = [describe(makeEntries(1, 5, 1)).join(), describe(makeEntries(1, 8, 1)).join()]
  t.ok(possible.includes(describe(state.entries).join()), `recovered ${state.entries.length} entries`)
  await again.close()
})

t.test('ENOSPC while writing a snapshot keeps the old state and leaves no partial snapshot in use', async (t) => {
  const dir = t.testdir()
  const fault = faultOn('write', /snapshot-/, 'ENOSPC')
  const { storage } = await NodeStorage.open({ dir, fsync: 'always', injectFault: fault.inject })
  await storage.persist(null, makeEntries(1, 20, 1))
  await storage.saveSnapshot({ index: 5, term: 1, config: { members: [] } }, Buffer.from('five'))
  fault.control.armed = true
  await t.rejects(storage.saveSnapshot({ index: 10, term: 1, config: { members: [] } }, Buffer.from('ten')), {
    code: 'ERR_STORAGE_IO',
    errno: 'ENOSPC',
  })
  t.equal(storage.latestSnapshotMeta()?.index, 5, 'the old snapshot is still the latest')
  await t.rejects(storage.persist(null, makeEntries(21, 1, 1)), { code: 'ERR_STORAGE_FAILED' })
  await storage.close()
  const { storage: again, state } = await NodeStorage.open({ dir, fsync: 'always' })
  t.equal(state.snapshot?.meta.index, 5)
  t.same(describe(state.entries), describe(makeEntries(6, 15, 1)))
  // The next segment's preallocation writes a tmp file of its own while it runs.
  await again.awaitPreallocation()
  t.notOk((await readdir(dir)).some((n) => n.endsWith('.tmp')), 'the partial tmp file was removed')
  await again.close()
})

t.test('a failed segment roll rejects persist and the old segments still recover', async (t) => {
  const dir = t.testdir()
  const fault = faultOn('write', /segment-0000000000000002/, 'ENOSPC')
  fault.control.armed = true
  const { storage } = await NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: 1024, injectFault: fault.inject })
  let persisted = 0
  const error = await (async () => {
    for (;;) {
      await storage.persist(null, makeEntries(persisted + 1, 1, 1))
      persisted++
    }
  })().catch((e: unknown) => e)
  t.match(error, { code: 'ERR_STORAGE_IO', errno: 'ENOSPC' })
  await storage.close()
  const { storage: again, state } = await NodeStorage.open({ dir, fsync: 'always' })
  t.same(describe(state.entries), describe(makeEntries(1, persisted, 1)), `${persisted} entries before the roll`)
  await again.persist(null, makeEntries(persisted + 1, 1, 1))
  await again.close()
})
