// Bad input to `raftkv backup` and `raftkv restore` ends with one line on
// stderr that says what to do, and a non-zero exit: 2 for a wrong command
// line, 1 for a file or directory that cannot be used. Nothing is written.
// So does `raftkv start` on a data directory copied back from an older state.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { encodeBackup } from '../../lib/backup/backup-file.js'
import { incarnationKey } from '../../lib/replica/bootstrap.js'
import { NodeStorage } from '../../lib/storage/index.js'
import { runCli } from '../cluster/process-cluster.js'
import { Driver, set } from '../kv/fixtures/driver.js'

const root = mkdtempSync(join(tmpdir(), 'raftkv-backup-cli-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))

const d = new Driver()
d.one(set('k', 'v'))
const good = Buffer.concat(encodeBackup({ index: d.index, term: 1, config: { members: [] } }, d.sm.snapshot()))
const goodFile = join(root, 'good.backup')
writeFileSync(goodFile, good)
const damaged = Buffer.from(good)
damaged[good.length - 3] = (damaged[good.length - 3] as number) ^ 0xff
writeFileSync(join(root, 'damaged.backup'), damaged)
writeFileSync(join(root, 'truncated.backup'), good.subarray(0, good.length - 5))
const usedDir = join(root, 'used')
mkdirSync(usedDir)
writeFileSync(join(usedDir, 'metadata.json'), '{}')
const env = (dataDir: string): string => {
  const file = join(root, `${dataDir.replace(/\W/g, '_')}.env`)
  writeFileSync(file, `NODE_ID=r1\nRAFT_ADDR=127.0.0.1:7101\nRESP_ADDR=127.0.0.1:6101\nHTTP_ADDR=127.0.0.1:8101\nDATA_DIR=${dataDir}\nCLUSTER_SECRET=cli-test-secret\nLOG_LEVEL=silent\n`)
  return file
}

// A node's directory as it was (copied aside), then as it became; then the old copy put back.
const nodeDir = join(root, 'node')
async function writeAs(entriesFrom: number, count: number): Promise<void> {
  const { storage, state } = await NodeStorage.open({ dir: nodeDir, fsync: 'always', preallocateSegments: false, highWaterFile: `${nodeDir}.high-water` })
  await storage.adoptHighWater('0123456789abcdef', state.fresh)
  await storage.setMeta(incarnationKey, '0123456789abcdef')
  await storage.setMeta('clusterId', 'fedcba9876543210')
  const entries = Array.from({ length: count }, (_, i) => ({ index: entriesFrom + i, term: 1, kind: 'normal' as const, data: Buffer.from('x') }))
  await storage.persist({ term: 1, vote: 'r1', commit: 0 }, entries)
  await storage.close()
}
await writeAs(1, 2)
cpSync(nodeDir, join(root, 'node-copy'), { recursive: true })
await writeAs(3, 2)
rmSync(nodeDir, { recursive: true })
cpSync(join(root, 'node-copy'), nodeDir, { recursive: true })
rmSync(join(root, 'node-copy'), { recursive: true })

const cases: { args: string[]; code: number; line: RegExp }[] = [
  { args: ['backup'], code: 2, line: /^raftkv: backup takes one file to write: raftkv backup OUT --env FILE/ },
  { args: ['backup', join(root, 'out.backup')], code: 2, line: /^raftkv: backup needs --env FILE or --http HOST:PORT$/ },
  { args: ['backup', join(root, 'out.backup'), '--env', join(root, 'absent.env')], code: 2, line: /^raftkv: config: cannot read env file .*absent\.env: ENOENT$/ },
  { args: ['backup', 'verify'], code: 2, line: /^raftkv: backup verify takes one file: raftkv backup verify FILE$/ },
  { args: ['backup', 'verify', join(root, 'damaged.backup')], code: 1, line: /^raftkv: backup .*damaged\.backup is unusable: checksum mismatch/ },
  { args: ['backup', 'verify', join(root, 'truncated.backup')], code: 1, line: /^raftkv: backup .*truncated\.backup is unusable: truncated: \d+ bytes of the \d+ its header announces/ },
  { args: ['restore', goodFile], code: 2, line: /^raftkv: restore needs --env FILE/ },
  { args: ['restore', '--env', env(join(root, 'fresh'))], code: 2, line: /^raftkv: restore takes one backup file: raftkv restore FILE --env FILE$/ },
  { args: ['restore', join(root, 'damaged.backup'), '--env', env(join(root, 'fresh'))], code: 1, line: /^raftkv: backup .*damaged\.backup is unusable: checksum mismatch/ },
  { args: ['restore', goodFile, '--env', env(usedDir)], code: 1, line: /^raftkv: DATA_DIR .*used is not empty: a restore seeds a new node/ },
  { args: ['start', '--env', env(nodeDir)], code: 1, line: /^raftkv: cannot start: DATA_DIR .*node holds an older state than this node had: it has its log up to segment 1 byte \d+, but the node had written up to segment 1 byte \d+/ },
]

t.test('each bad command line fails in one line with its exit code', async (t) => {
  // Run together: each is a whole Node.js start-up, and none depends on another.
  const results = await Promise.all(cases.map((c) => runCli(c.args)))
  for (const [i, c] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof runCli>>
    const name = `raftkv ${c.args.map((a) => a.replace(root, '…')).join(' ')}`
    t.equal(r.code, c.code, `${name}: exit ${c.code}`)
    t.equal(r.stderr.trimEnd().split('\n').length, 1, `${name}: one line (${r.stderr.trimEnd()})`)
    t.match(r.stderr.trimEnd(), c.line, `${name}: says what is wrong`)
    t.equal(r.stdout, '', `${name}: prints nothing else`)
  }
})

t.test('nothing was written by the refused commands', async (t) => {
  t.same(readdirSync(root).filter((n) => !n.endsWith('.env')).sort(), ['damaged.backup', 'good.backup', 'node', 'node.high-water', 'truncated.backup', 'used'])
  t.same(readdirSync(usedDir), ['metadata.json'])
})
