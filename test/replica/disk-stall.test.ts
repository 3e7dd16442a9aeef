// A leader whose disk stops completing writes hands leadership over instead
// of keeping a cluster that cannot commit through it. Three nodes run in
// this process; the leader's storage is made to hang.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startNode, type RunningNode } from '../../lib/app/start-node.js'
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

t.test('a leader whose disk stalls hands leadership over', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-stall-'))
  const nodes: RunningNode[] = []
  t.teardown(async () => {
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
    nodes.push(await startNode(config, silentLogger(), { processMetrics: false }))
    if (id === 'n1') await waitFor(() => nodes[0]?.replica.raft.status().role === 'leader', 'n1 to lead')
  }
  const voters = (): number => (nodes[0] as RunningNode).replica.raft.status().config.members.filter((m) => m.role === 'voter').length
  await waitFor(() => voters() === 3, 'three voters')
  const leader = nodes.find((n) => n.replica.raft.status().role === 'leader') as RunningNode
  // The disk stops answering: every write from now on hangs (until teardown
  // lets them through, so the node can stop).
  const stalled: (() => void)[] = []
  const persist = leader.replica.storage.persist.bind(leader.replica.storage)
  leader.replica.storage.persist = (hs, entries) => new Promise<void>((resolve, reject) => stalled.push(() => persist(hs, entries).then(resolve, reject)))
  const write = leader.backend.write({ ops: [{ t: 'set', key: Buffer.from('k'), value: Buffer.from('v'), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] })
  write.catch(() => {})
  await waitFor(() => nodes.some((n) => n !== leader && n.replica.raft.status().role === 'leader'), 'another node to lead', 30_000)
  t.not(leader.replica.raft.status().role, 'leader', 'the stalled node no longer leads')
  // The disk recovers, so the node can be stopped.
  leader.replica.storage.persist = persist
  for (const go of stalled) go()
})
