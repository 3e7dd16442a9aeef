// The backup file: a snapshot file (lib/storage format) whose checksums are
// checked, and whose key-value state is decoded, before anything uses it.
// Damage of each kind is refused with a reason an operator can act on.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { BackupFileError, encodeBackup, readBackupFile, verifyBackup, writeBackupFile } from '../../lib/backup/backup-file.js'
import type { SnapshotMeta } from '../../lib/raft/types.js'
import { Driver, set } from '../kv/fixtures/driver.js'

function sampleBackup(keys = 5): { meta: SnapshotMeta; bytes: Buffer; data: Buffer } {
  const d = new Driver()
  for (let i = 0; i < keys; i++) d.one(set(`key-${i}`, `value-${i}`))
  const data = d.sm.snapshot()
  const meta: SnapshotMeta = { index: d.index, term: 3, config: { members: [{ id: 'n1', addr: '127.0.0.1:7001', role: 'voter', incarnation: 'aaaa' }] } }
  return { meta, data, bytes: Buffer.concat(encodeBackup(meta, data)) }
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-backup-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('a backup verifies and says its index, term, members and key count', async (t) => {
  const { meta, bytes } = sampleBackup(5)
  const verified = verifyBackup('b.snap', bytes)
  t.same(verified.meta, meta)
  t.equal(verified.keys, 5)
  t.equal(verified.fileBytes, bytes.length)
  t.match(verified.crc32cHex, /^[0-9a-f]{8}$/)
})

t.test('a flipped byte anywhere in the state fails the checksum with a clear reason', async (t) => {
  const { bytes } = sampleBackup()
  for (const offset of [30, bytes.length - 1]) {
    const damaged = Buffer.from(bytes)
    damaged[offset] = (damaged[offset] as number) ^ 0x40
    t.throws(() => verifyBackup('b.snap', damaged), { name: 'BackupFileError', code: 'ERR_BACKUP_FILE', message: /^backup b\.snap is unusable: checksum mismatch/ }, `offset ${offset}`)
  }
})

t.test('a truncated backup names how many bytes are missing', async (t) => {
  const { bytes } = sampleBackup()
  const cut = bytes.subarray(0, bytes.length - 7)
  t.throws(() => verifyBackup('b.snap', cut), { message: `backup b.snap is unusable: truncated: ${bytes.length - 7} bytes of the ${bytes.length} its header announces (an interrupted copy or download; take or copy it again)` })
  t.throws(() => verifyBackup('b.snap', bytes.subarray(0, 10)), { message: /truncated: 10 bytes, shorter than the 24-byte header/ })
  t.throws(() => verifyBackup('b.snap', Buffer.alloc(0)), { message: /truncated: 0 bytes/ })
})

t.test('a file that is not a backup is refused as such, and so are trailing bytes', async (t) => {
  t.throws(() => verifyBackup('notes.txt', Buffer.from('hello, this is not a snapshot at all')), { message: /notes\.txt is unusable: not a raftkv snapshot file \(bad magic\)/ })
  const { bytes } = sampleBackup()
  t.throws(() => verifyBackup('b.snap', Buffer.concat([bytes, Buffer.from('x')])), { message: /longer than the \d+ its header announces/ })
})

t.test('state bytes that pass the file checksum but do not decode as a keyspace are refused', async (t) => {
  const { meta, data } = sampleBackup()
  const bad = Buffer.from(data)
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1 // the keyspace's own trailer checksum
  const bytes = Buffer.concat(encodeBackup(meta, bad))
  t.throws(() => verifyBackup('b.snap', bytes), { message: /its key-value state does not decode/ })
})

t.test('readBackupFile reports a missing file as unusable, naming it', async (t) => {
  const dir = tempDir(t)
  await t.rejects(readBackupFile(join(dir, 'absent.snap')), { name: 'BackupFileError', message: /absent\.snap is unusable: .*ENOENT/ })
})

t.test('writeBackupFile replaces the file atomically and never with damaged bytes', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'nightly.snap')
  const first = sampleBackup(2).bytes
  await writeBackupFile(file, first)
  t.ok(readFileSync(file).equals(first))
  const damaged = Buffer.from(sampleBackup(3).bytes)
  damaged[40] = (damaged[40] as number) ^ 1
  await t.rejects(writeBackupFile(file, damaged), BackupFileError)
  t.ok(readFileSync(file).equals(first), 'the previous backup is untouched')
  const second = sampleBackup(3).bytes
  await writeBackupFile(file, second)
  t.equal((await readBackupFile(file)).keys, 3)
})

t.test("a node's own snapshot file is a valid backup", async (t) => {
  const dir = tempDir(t)
  const { bytes } = sampleBackup(4)
  const file = join(dir, 'snapshot-00000000000000000004.snap')
  writeFileSync(file, bytes)
  t.equal((await readBackupFile(file)).keys, 4)
})
