// GET /status on a real node in this process: the runtime's detail reaches
// the JSON the status page draws (member progress, load from the /metrics
// histograms, fsync, leader changes, snapshot counts), and the numbers
// follow what was done to the node.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startNode } from '../../lib/app/start-node.js'
import { parseNodeConfig } from '../../lib/config/node-config.js'
import { silentLogger } from '../../lib/util/logger.js'
import { freePort } from '../cluster/process-cluster.js'

interface Status {
  id: string
  term: number
  lastIndex: number
  nowMs: number
  startedAtMs: number
  members: { id: string; match: number | null; lag: number | null; state: string | null; connection: string }[]
  load: { writesPerSec: number; readsPerSec: number; writeP99Ms: number | null; readP99Ms: number | null; fsyncsPerSec: number; fsyncP99Ms: number | null } | null
  loadHistory: { atMs: number; writesPerSec: number }[]
  leaderChanges: { atMs: number; term: number; leader: string | null }[]
  snapshots: Record<'saved' | 'installed' | 'sent', { count: number; lastAtMs: number | null }>
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

t.test("a single node's /status shows its leadership, its requests, its fsyncs and its snapshot", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-status-'))
  const httpPort = await freePort()
  const config = parseNodeConfig({
    NODE_ID: 'n1',
    RAFT_ADDR: `127.0.0.1:${await freePort()}`,
    RESP_ADDR: `127.0.0.1:${await freePort()}`,
    HTTP_ADDR: `127.0.0.1:${httpPort}`,
    DATA_DIR: join(root, 'n1'),
    JOIN: '',
    CLUSTER_SECRET: 'status-recorder-secret',
  })
  const node = await startNode(config, silentLogger(), { processMetrics: false })
  t.teardown(async () => {
    await node.stop()
    rmSync(root, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${httpPort}`
  const status = async (): Promise<Status> => (await (await fetch(`${base}/status`)).json()) as Status
  await until(status, (s) => s.leaderChanges.at(-1)?.leader === 'n1', 'n1 to lead')

  for (let i = 0; i < 20; i++) {
    const posted = await fetch(`${base}/key`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key: `k${i}`, value: 'v' }) })
    t.equal(posted.status, 201)
    t.equal((await fetch(`${base}/key/k${i}`)).status, 200)
  }
  const loaded = await until(status, (s) => (s.load?.writesPerSec ?? 0) > 0 && (s.load?.readsPerSec ?? 0) > 0, 'the writes and reads in the load window')
  t.ok((loaded.load?.fsyncsPerSec ?? 0) > 0, 'the writes were fsynced')
  t.ok(loaded.load?.writeP99Ms !== null && loaded.load?.readP99Ms !== null && loaded.load?.fsyncP99Ms !== null, 'with latencies')
  t.ok(loaded.loadHistory.some((sample) => sample.writesPerSec > 0), 'the per-second history holds them too')
  t.ok(loaded.startedAtMs <= loaded.nowMs)
  const self = loaded.members.find((m) => m.id === 'n1')
  t.match(self, { connection: 'self', state: 'replicate', match: loaded.lastIndex, lag: 0 }, 'the leader knows its own progress')
  t.same(loaded.leaderChanges.at(-1), { atMs: loaded.leaderChanges.at(-1)?.atMs, term: loaded.term, leader: 'n1' })

  t.equal(loaded.snapshots.saved.count, 0)
  t.equal((await fetch(`${base}/cluster/snapshot`, { method: 'POST' })).status, 200)
  const snapped = await until(status, (s) => s.snapshots.saved.count === 1, 'the snapshot to be counted')
  t.ok((snapped.snapshots.saved.lastAtMs ?? 0) >= loaded.startedAtMs, 'with its time')
  t.same([snapped.snapshots.installed.count, snapped.snapshots.sent.count], [0, 0], 'a lone node neither installs nor sends one')
})
