// Typed errors of the storage layer. Each carries a stable `code` that
// callers (the runtime, operators' scripts, tests) may match on; the message
// is for humans and may change.

export type StorageErrorCode =
  | 'ERR_STORAGE_CORRUPT'
  | 'ERR_STORAGE_IO'
  | 'ERR_STORAGE_FAILED'
  | 'ERR_STORAGE_CLOSED'
  | 'ERR_STORAGE_ROLLED_BACK'

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode
}

/**
 * Data on disk is damaged somewhere a crash cannot explain (before the log's
 * tail, or in a file that was fsynced whole). The node must not start: it
 * would serve wrong data. Names the file and the byte offset of the damage.
 */
export class StorageCorruptionError extends StorageError {
  readonly code = 'ERR_STORAGE_CORRUPT'
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`storage corrupt: ${file} at byte offset ${offset}: ${reason}. ` +
      'Refusing to start; restore this node from a snapshot or wipe DATA_DIR so it rejoins empty')
    this.name = 'StorageCorruptionError'
  }
}

/**
 * A write, fsync, rename or unlink failed (ENOSPC, EIO, ...). The storage
 * stops accepting writes after this: what reached the disk is still readable
 * by a restart, but nothing further is promised.
 */
export class StorageIoError extends StorageError {
  readonly code = 'ERR_STORAGE_IO'
  /** The operating system's code, e.g. 'ENOSPC' or 'EIO'. */
  readonly errno: string
  constructor(
    readonly operation: string,
    readonly file: string,
    cause: unknown,
  ) {
    const errno = errnoOf(cause)
    super(`storage ${operation} failed on ${file}: ${errno}` +
      (errno === 'ENOSPC' ? ' (disk full: free space, then restart the node)' : '') +
      '. No further writes are accepted', { cause })
    this.errno = errno
    this.name = 'StorageIoError'
  }
}

/** A write was attempted after an earlier disk error stopped the storage. */
export class StorageFailedError extends StorageError {
  readonly code = 'ERR_STORAGE_FAILED'
  constructor(readonly first: StorageIoError) {
    super(`storage refuses writes after an earlier disk error: ${first.message}`, { cause: first })
    this.name = 'StorageFailedError'
  }
}

/**
 * DATA_DIR holds an older state than the node itself recorded outside it
 * (high-water-file.ts): a copy put back, or another life of this node. It
 * has forgotten votes and entries it acknowledged; serving from it could
 * lose acknowledged writes, so the node must not start. One line, naming
 * both positions, the record and what to do.
 */
export class StorageRolledBackError extends StorageError {
  readonly code = 'ERR_STORAGE_ROLLED_BACK'
  constructor(dir: string, found: string, recorded: string, recordFile: string) {
    super(`DATA_DIR ${dir} holds an older state than this node had: it has ${found}, but the node had written ${recorded} (${recordFile}). ` +
      'It was copied back from an old copy and has forgotten votes and entries it acknowledged, so it refuses to start: ' +
      'empty DATA_DIR and start the node with JOIN set (it rejoins as a new incarnation), or seed a new cluster with raftkv restore')
    this.name = 'StorageRolledBackError'
  }
}

export class StorageClosedError extends StorageError {
  readonly code = 'ERR_STORAGE_CLOSED'
  constructor() {
    super('storage is closed')
    this.name = 'StorageClosedError'
  }
}

function errnoOf(cause: unknown): string {
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    return cause.code
  }
  return cause instanceof Error ? cause.message : String(cause)
}
