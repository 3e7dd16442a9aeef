// File operations on DATA_DIR with the durability steps spelled out once:
// fsync files and the directory (unless fsync is 'never'), atomic replace via
// tmp + fsync + rename + dir fsync, errors wrapped as StorageIoError, and the
// test hooks (fault injection, synced-length tracking) in one place.
import { fdatasync, writeSync } from 'node:fs'
import { open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { StorageIoError } from './errors.js'
import type { SyncedLengths } from './synced-lengths.js'

export type FsyncPolicy = 'always' | 'never'
export type FaultPoint = 'write' | 'fsync'
/** Test hook: throw (e.g. an error with code 'ENOSPC') to make that operation fail. */
export type FaultInjector = (point: FaultPoint, file: string) => void

export const tmpSuffix = '.tmp'

export class DurableDir {
  private stagedCount = 0

  constructor(
    readonly path: string,
    readonly fsync: FsyncPolicy,
    private readonly tracker: SyncedLengths | null,
    private readonly injectFault: FaultInjector | null,
  ) {}

  file(name: string): string {
    return join(this.path, name)
  }

  /** Runs one file operation, turning any failure into a StorageIoError naming the file. */
  async io<T>(operation: string, name: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action()
    } catch (error) {
      if (error instanceof StorageIoError) throw error
      throw new StorageIoError(operation, this.file(name), error)
    }
  }

  /** Writes all of `data` at `position`; a short write is retried, not ignored. */
  async writeAll(handle: FileHandle, name: string, data: Buffer, position: number): Promise<void> {
    await this.io('write', name, async () => {
      this.injectFault?.('write', name)
      let done = 0
      while (done < data.length) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, position + done)
        done += bytesWritten
      }
    })
  }

  /**
   * The log's write: synchronous, on the event loop. It only copies into the
   * page cache (tens of µs for a batch), and saves the thread-pool round trip
   * an async write costs before the fdatasync, which is the slow part and
   * stays off the event loop (datasyncFd). Callers keep records small enough
   * (appendSyncWriteBytesMax) that the copy cannot hold the loop for long.
   */
  writeAllSync(fd: number, name: string, data: Buffer, position: number): void {
    try {
      this.injectFault?.('write', name)
      let done = 0
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done)
    } catch (error) {
      throw new StorageIoError('write', this.file(name), error)
    }
  }

  /**
   * fdatasync on the thread pool through the callback API: one round trip,
   * without FileHandle's promise plumbing. `lengthBytes` is where the file's
   * durable data ends now (for the power-loss tracker).
   */
  async datasyncFd(fd: number, name: string, lengthBytes: number): Promise<void> {
    if (this.fsync === 'never') return
    await this.io('fsync', name, () => new Promise<void>((resolve, reject) => {
      this.injectFault?.('fsync', name)
      fdatasync(fd, (error) => { if (error === null) resolve(); else reject(error) })
    }))
    this.tracker?.synced(name, lengthBytes)
  }

  /**
   * Flushes a file. `dataOnly` uses fdatasync: enough after an append, since
   * fdatasync still flushes the size change that reading the data needs.
   */
  async sync(handle: FileHandle, name: string, lengthBytes: number, dataOnly: boolean): Promise<void> {
    if (this.fsync === 'never') return
    await this.io('fsync', name, async () => {
      this.injectFault?.('fsync', name)
      await (dataOnly ? handle.datasync() : handle.sync())
    })
    this.tracker?.synced(name, lengthBytes)
  }

  /** Makes creations, renames and deletions of directory entries durable. */
  async syncDir(): Promise<void> {
    if (this.fsync === 'never') return
    await this.io('fsync', '.', async () => {
      this.injectFault?.('fsync', '.')
      const handle = await open(this.path, 'r')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    })
  }

  /**
   * Replaces `name` atomically: a crash leaves the old file or the new one,
   * never a mix. A leftover `*.tmp` is removed on the next open.
   */
  async replaceFile(name: string, parts: readonly Buffer[]): Promise<void> {
    await this.commitStaged(await this.stageFile(name, parts), name)
  }

  /**
   * First half of replaceFile: writes and fsyncs a uniquely named tmp file
   * for `name` and returns its name. Touches nothing else, so it may run
   * while other writes go on.
   */
  async stageFile(name: string, parts: readonly Buffer[]): Promise<string> {
    this.stagedCount++
    const tmpName = `${name}.${this.stagedCount}${tmpSuffix}`
    await this.io('create', tmpName, async () => {
      const handle = await open(this.file(tmpName), 'w')
      try {
        let position = 0
        for (const part of parts) {
          await this.writeAll(handle, tmpName, part, position)
          position += part.length
        }
        await this.sync(handle, tmpName, position, false)
      } finally {
        await handle.close()
      }
    })
    return tmpName
  }

  /** Second half: renames the staged file into place and makes the rename durable. */
  async commitStaged(tmpName: string, name: string): Promise<void> {
    await this.rename(tmpName, name)
    await this.syncDir()
  }

  /** Renames without the directory fsync: the caller decides when that is needed. */
  async rename(from: string, to: string): Promise<void> {
    await this.io('rename', from, () => rename(this.file(from), this.file(to)))
    this.tracker?.renamed(from, to)
  }

  async remove(name: string): Promise<void> {
    await this.io('unlink', name, () => unlink(this.file(name)))
    this.tracker?.removed(name)
  }

  /** Records a file's length as durable (e.g. a file found whole on open). */
  markSynced(name: string, lengthBytes: number): void {
    this.tracker?.synced(name, lengthBytes)
  }
}
