// restoreDataDir writes a data directory that a node opens as a one-member
// cluster holding the backup: the backup's index and term, this node alone
// as a voter under a new incarnation, a new cluster id. It never writes
// into a directory that holds anything.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { encodeBackup, verifyBackup } from '../../lib/backup/backup-file.js'
import { RestoreError, restoreDataDir } from '../../lib/backup/restore.js'
import { parseNodeConfig, type NodeConfig } from '../../lib/config/node-config.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { clusterIdKey, incarnationKey } from '../../lib/replica/bootstrap.js'
import { decodeHighWater } from '../../lib/storage/high-water-file.js'
import { NodeStorage } from '../../lib/storage/index.js'
import { systemRandom } from '../../lib/util/random-source.js'
import { Driver, T0, get, plain, set } from '../kv/fixtures/driver.js'

function configFor(dataDir: string): NodeConfig {
  return parseNodeConfig({
    NODE_ID: 'r1', RAFT_ADDR: '127.0.0.1:7101', RESP_ADDR: '127.0.0.1:6101', HTTP_ADDR: '127.0.0.1:8101',
    DATA_DIR: dataDir, CLUSTER_SECRET: 'restore-test-secret',
  })
}

function backupOf(keys: number): ReturnType<typeof verifyBackup> {
  const d = new Driver()
  for (let i = 0; i < keys; i++) d.one(set(`k${i}`, `v${i}`))
  const meta = { index: d.index, term: 7, config: { members: [{ id: 'old1', addr: '10.0.0.1:7001', role: 'voter' as const, incarnation: 'old' }] } }
  return verifyBackup('b.snap', Buffer.concat(encodeBackup(meta, d.sm.snapshot())))
}

t.test('a restored directory opens as this node alone, at the backup index, under a new cluster id and incarnation', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-restore-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const config = configFor(join(root, 'r1'))
  const backup = backupOf(6)
  const restored = await restoreDataDir(config, backup, systemRandom)
  t.match(restored.clusterId, /^[0-9a-f]{16}$/)
  t.match(restored.incarnation, /^[0-9a-f]{16}$/)
  t.not(restored.incarnation, 'old')
  t.same(readdirSync(root).sort(), ['r1', 'r1.high-water'], 'the staging directory was renamed into place')
  const record = decodeHighWater(readFileSync(join(root, 'r1.high-water')))
  t.equal(typeof record !== 'string' && record.incarnation, restored.incarnation, "the node's high-water record names the new incarnation")

  const { storage, state } = await NodeStorage.open({ dir: config.dataDir, fsync: 'always', preallocateSegments: false })
  t.teardown(() => storage.close())
  t.equal(state.snapshot?.meta.index, backup.meta.index)
  t.equal(state.snapshot?.meta.term, backup.meta.term)
  t.same(state.snapshot?.meta.config.members, [{ id: 'r1', addr: '127.0.0.1:7101,resp=127.0.0.1:6101,http=127.0.0.1:8101', role: 'voter', incarnation: restored.incarnation }])
  t.same(state.hardState, { term: backup.meta.term, vote: '', commit: backup.meta.index })
  t.same(state.entries, [])
  t.equal(storage.getMeta(clusterIdKey), restored.clusterId)
  t.equal(storage.getMeta(incarnationKey), restored.incarnation)
  const reader = await storage.openSnapshot()
  if (reader === null) throw new Error('the restored directory holds no snapshot')
  const kv = await KvStateMachine.restoreFrom(reader, 64).finally(() => reader.close())
  t.equal(kv.size(T0), 6)
  t.same(plain(kv.read(get('k5'), T0)), { bulk: 'v5' })
})

t.test('a restore into an empty existing directory works; into one holding anything it refuses and writes nothing', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-restore-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const empty = join(root, 'empty')
  mkdirSync(empty)
  await restoreDataDir(configFor(empty), backupOf(1), systemRandom)
  t.ok(existsSync(join(empty, 'metadata.json')))

  const used = join(root, 'used')
  mkdirSync(used)
  writeFileSync(join(used, 'segment-0000000000000001.log'), 'x')
  await t.rejects(restoreDataDir(configFor(used), backupOf(1), systemRandom), RestoreError)
  await t.rejects(restoreDataDir(configFor(used), backupOf(1), systemRandom), { message: `DATA_DIR ${used} is not empty: a restore seeds a new node; point DATA_DIR at a new directory (or empty this one)` })
  t.same(readdirSync(used), ['segment-0000000000000001.log'])
  t.same(readdirSync(root).sort(), ['empty', 'empty.high-water', 'used'], 'no staging directory left behind')
})
