// A leader whose disk stops completing writes hands leadership over instead
// of keeping a cluster that cannot commit through it. Three nodes run in
// this process, each on a disk that can be made to hang; the leader's is.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startNode, type RunningNode } from '../../lib/app/start-node.js'
import { systemIo } from '../../lib/app/system-io.js'
import type { RuntimeIo } from '../../lib/replica/runtime-io.js'
import type { DiskFile, FileSystem } from '../../lib/storage/file-system.js'
import { parseNodeConfig } from '../../lib/config/node-config.js'
import { silentLogger } from '../../lib/util/logger.js'
import { freePort } from '../cluster/process-cluster.js'

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A disk whose writes and syncs hang while `stalled` is set, and complete once `recover()` runs. */
class StallableDisk {
  stalled = false
  private readonly waiting: (() => void)[] = []
  readonly fs: FileSystem

  constructor(base: FileSystem) {
    const gate = <T>(op: () => Promise<T>): Promise<T> => (this.stalled ? new Promise<void>((go) => this.waiting.push(go)).then(op) : op())
    const file = (f: DiskFile): DiskFile => ({
      write: (data, offset, length, position) => gate(() => f.write(data, offset, length, position)),
      read: (buffer, offset, length, position) => f.read(buffer, offset, length, position),
      datasync: () => gate(() => f.datasync()),
      sync: () => gate(() => f.sync()),
      close: () => f.close(),
    })
    this.fs = { ...base, open: async (path, mode, options) => file(await base.open(path, mode, options)), syncDir: (path) => gate(() => base.syncDir(path)) }
  }

  recover(): void {
    this.stalled = false
    for (const go of this.waiting.splice(0)) go()
  }
}

t.test('a leader whose disk stalls hands leadership over', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-stall-'))
  const nodes: RunningNode[] = []
  const disks = new Map<RunningNode, StallableDisk>()
  t.teardown(async () => {
    // The disks recover, so the nodes can be stopped.
    for (const disk of disks.values()) disk.recover()
    await Promise.allSettled(nodes.map((n) => n.stop()))
    rmSync(root, { recursive: true, force: true })
  })
  let firstRaft = ''
  for (const id of ['n1', 'n2', 'n3']) {
    const raft = `127.0.0.1:${await freePort()}`
    if (firstRaft === '') firstRaft = raft
    const config = parseNodeConfig({
      NODE_ID: id,
      RAFT_ADDR: raft,
      RESP_ADDR: `127.0.0.1:${await freePort()}`,
      HTTP_ADDR: `127.0.0.1:${await freePort()}`,
      DATA_DIR: join(root, id),
      JOIN: id === 'n1' ? '' : firstRaft,
      CLUSTER_SECRET: 'stall-test-secret',
    })
    const disk = new StallableDisk(systemIo.fs)
    const io: RuntimeIo = { ...systemIo, fs: disk.fs }
    const node = await startNode(config, silentLogger(), { processMetrics: false, io })
    nodes.push(node)
    disks.set(node, disk)
    if (id === 'n1') await waitFor(() => nodes[0]?.replica.status().role === 'leader', 'n1 to lead')
  }
  const voters = (): number => (nodes[0] as RunningNode).replica.status().config.members.filter((m) => m.role === 'voter').length
  await waitFor(() => voters() === 3, 'three voters')
  const leader = nodes.find((n) => n.replica.status().role === 'leader') as RunningNode
  // The disk stops answering: every write from now on hangs (until teardown
  // lets them through, so the node can stop).
  ;(disks.get(leader) as StallableDisk).stalled = true
  const write = leader.backend.write({ ops: [{ t: 'set', key: Buffer.from('k'), value: Buffer.from('v'), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] })
  write.catch(() => {})
  await waitFor(() => nodes.some((n) => n !== leader && n.replica.status().role === 'leader'), 'another node to lead', 30_000)
  t.not(leader.replica.status().role, 'leader', 'the stalled node no longer leads')
})
