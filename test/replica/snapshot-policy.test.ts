// When a node snapshots: after SNAPSHOT_ENTRIES applied entries, or earlier
// once the entries applied since the last snapshot hold SNAPSHOT_LOG_BYTES —
// so large values cannot grow the in-memory log and the restart replay
// without bound. One node runs in this process.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startNode, type RunningNode } from '../../lib/app/start-node.js'
import { parseNodeConfig } from '../../lib/config/node-config.js'
import type { KvWrite } from '../../lib/kv/command.js'
import { silentLogger } from '../../lib/util/logger.js'
import { freePort } from '../cluster/process-cluster.js'

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function startSingle(t: Test, env: Record<string, string>): Promise<RunningNode> {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-snappolicy-'))
  const config = parseNodeConfig({
    NODE_ID: 'n1',
    RAFT_ADDR: `127.0.0.1:${await freePort()}`,
    RESP_ADDR: `127.0.0.1:${await freePort()}`,
    HTTP_ADDR: `127.0.0.1:${await freePort()}`,
    DATA_DIR: join(root, 'n1'),
    JOIN: '',
    CLUSTER_SECRET: 'snapshot-policy-secret',
    ...env,
  })
  const node = await startNode(config, silentLogger(), { processMetrics: false })
  t.teardown(async () => {
    await node.stop()
    rmSync(root, { recursive: true, force: true })
  })
  await waitFor(() => node.replica.status().role === 'leader', 'n1 to lead')
  return node
}

function setWrite(i: number, valueBytes: number): KvWrite {
  return { ops: [{ t: 'set', key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, 120), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] }
}

t.test('entries holding SNAPSHOT_LOG_BYTES trigger a snapshot before SNAPSHOT_ENTRIES is reached', async (t) => {
  const node = await startSingle(t, { SNAPSHOT_ENTRIES: '1000000', SNAPSHOT_LOG_BYTES: '65536' })
  for (let i = 0; i < 40; i++) await node.backend.write(setWrite(i, 4096))
  await waitFor(() => node.replica.snapshotIndexNow() > 0, 'a snapshot')
  t.ok(node.replica.status().firstIndex > 1, 'the log was compacted')
})

t.test('no snapshot is taken while both thresholds are unmet', async (t) => {
  const node = await startSingle(t, { SNAPSHOT_ENTRIES: '1000000', SNAPSHOT_LOG_BYTES: '1048576' })
  for (let i = 0; i < 40; i++) await node.backend.write(setWrite(i, 4096))
  // 40 writes of 4 KiB are 160 KiB, far below 1 MiB: applied, but not snapshotted.
  await waitFor(() => node.replica.appliedIndex() >= 40, 'the writes to apply')
  t.equal(node.replica.snapshotIndexNow(), 0, 'no snapshot')
  t.equal(node.replica.status().firstIndex, 1, 'the log is whole')
})
