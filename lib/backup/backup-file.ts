// A backup is a snapshot file, byte for byte the format a node keeps in its
// DATA_DIR (lib/storage/snapshot-file.ts): the SnapshotMeta (index, term and
// the source cluster's members) and the state machine's bytes behind one
// crc32c, and inside those the state machine's own checksummed encoding
// (lib/kv/snapshot-codec.ts). One format, two checksums, no new encoder: a
// node's own snapshot-<index>.snap is a valid backup too (of that node's
// state at that index, as etcd's restore takes a member's db file; one a
// node installed from its leader names a log start, which a restore ignores).
import { open, readFile, rename } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KvStateMachine } from '../kv/state-machine.js'
import type { SnapshotMeta } from '../raft/types.js'
import { decodeSnapshotFile, encodeSnapshotFile } from '../storage/index.js'

/** A backup file that cannot be used: unreadable, truncated, damaged or not a backup. */
export class BackupFileError extends Error {
  readonly code = 'ERR_BACKUP_FILE'
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`backup ${file} is unusable: ${reason}`)
    this.name = 'BackupFileError'
  }
}

/** A backup whose checksums held and whose state machine decoded. */
export interface VerifiedBackup {
  readonly meta: SnapshotMeta
  /** The state machine's bytes (lib/kv snapshot encoding). */
  readonly data: Buffer
  readonly keys: number
  readonly fileBytes: number
  /** The file's own checksum, as stored in its header (crc32c, hex). */
  readonly crc32cHex: string
}

/** The file's bytes, in parts so the state machine's bytes are not copied. */
export function encodeBackup(meta: SnapshotMeta, data: Buffer): Buffer[] {
  return encodeSnapshotFile({ meta, logStartSeq: 0 }, data)
}

/**
 * Checks a backup's bytes the way a restore will use them: the file's
 * length and checksum, then the state machine's own decoding (which checks
 * its checksum too). Throws BackupFileError naming what is wrong.
 */
export function verifyBackup(file: string, bytes: Buffer): VerifiedBackup {
  const loaded = decodeSnapshotFile(bytes)
  if (typeof loaded === 'string') throw new BackupFileError(file, reason(loaded))
  let kv: KvStateMachine
  try {
    kv = KvStateMachine.restore(loaded.data)
  } catch (error) {
    throw new BackupFileError(file, `its key-value state does not decode (${(error as Error).message})`)
  }
  return {
    meta: loaded.meta,
    data: loaded.data,
    keys: kv.size(),
    fileBytes: bytes.length,
    crc32cHex: bytes.readUInt32LE(crcOffsetBytes).toString(16).padStart(8, '0'),
  }
}

/** Reads and verifies a backup file (verifyBackup). */
export async function readBackupFile(file: string): Promise<VerifiedBackup> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    throw new BackupFileError(file, (error as Error).message)
  }
  return verifyBackup(file, bytes)
}

/**
 * Writes a backup durably and atomically: a temporary file beside `file`,
 * fsynced, renamed over it, the directory fsynced. A crash leaves the old
 * file or the new one, never half of one. The bytes are verified before
 * anything is written, so a damaged download never replaces a good backup.
 */
export async function writeBackupFile(file: string, bytes: Buffer): Promise<VerifiedBackup> {
  const verified = verifyBackup(file, bytes)
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  const handle = await open(tmp, 'w', 0o600)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, file)
  await syncDir(dirname(file))
  return verified
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Where the file's checksum sits (lib/storage/snapshot-file.ts layout). */
const crcOffsetBytes = 20

function reason(storageReason: string): string {
  if (storageReason === 'checksum mismatch') return 'checksum mismatch (its bytes are not those that were written; use another backup)'
  if (storageReason.startsWith('truncated')) return `${storageReason} (an interrupted copy or download; take or copy it again)`
  return storageReason
}
