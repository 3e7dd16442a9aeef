// An operator's snapshot (`cluster snapshot`) that fails on the disk stops
// the node at once, as a snapshot the node takes by itself does: storage
// refuses every write after a failed one, so a node that ran on would only
// stop at its next write, and a leader would lead meanwhile without being
// able to commit.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startNode } from '../../lib/app/start-node.js'
import { systemIo } from '../../lib/app/system-io.js'
import { parseNodeConfig } from '../../lib/config/node-config.js'
import type { RuntimeIo } from '../../lib/replica/runtime-io.js'
import type { DiskFile, FileSystem } from '../../lib/storage/file-system.js'
import { silentLogger } from '../../lib/util/logger.js'
import { freePort } from '../cluster/process-cluster.js'

/** A file system whose writes fail with ENOSPC once `full` is set. */
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
  return { ...base, open: async (path, mode, options) => file(await base.open(path, mode, options)) }
}

t.test("a disk error in an operator's snapshot stops the node, with no write after it", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-operator-snapshot-'))
  let full = false
  const config = parseNodeConfig({
    NODE_ID: 'n1',
    RAFT_ADDR: `127.0.0.1:${await freePort()}`,
    RESP_ADDR: `127.0.0.1:${await freePort()}`,
    HTTP_ADDR: `127.0.0.1:${await freePort()}`,
    DATA_DIR: join(root, 'n1'),
    CLUSTER_SECRET: 'operator-snapshot-test-secret',
  })
  const io: RuntimeIo = { ...systemIo, fs: fillableFs(systemIo.fs, () => full) }
  const node = await startNode(config, silentLogger(), { processMetrics: false, io })
  t.teardown(async () => {
    full = false
    await node.stop().catch(() => undefined)
    rmSync(root, { recursive: true, force: true })
  })
  const deadline = Date.now() + 20_000
  while (node.replica.status().role !== 'leader') {
    if (Date.now() > deadline) throw new Error('n1 did not lead')
    await new Promise((r) => setTimeout(r, 20))
  }
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
