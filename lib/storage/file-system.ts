// The file operations lib/storage performs, behind one interface: production
// passes nodeFileSystem (node:fs), the simulator a disk that loses unsynced
// writes at a crash, tears the last one, stalls and fails with EIO or ENOSPC.
// Errors are thrown as node:fs throws them (an Error with an errno `code`);
// DurableDir wraps them into StorageIoError.
import { closeSync, constants as fsConstants, openSync, read, readSync, write } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises'

/**
 * How a file is opened: 'read' an existing file; 'update' an existing file
 * for reading and writing ('r+'); 'createNew' a file that must not exist yet
 * (O_CREAT | O_EXCL); 'truncate' a file created or emptied ('w').
 */
export type OpenMode = 'read' | 'update' | 'createNew' | 'truncate'

export interface OpenOptions {
  /** O_DSYNC: each write returns only once its data (and a size change) is durable. */
  readonly dsync?: boolean
}

/** An open file. */
export interface DiskFile {
  /** Writes `length` bytes of `data` from `offset` at `position`; resolves with the bytes written (may be short). */
  write(data: Buffer, offset: number, length: number, position: number): Promise<number>
  /**
   * Reads up to `length` bytes at `position` into `buffer` from `offset`;
   * resolves with the bytes read (fewer at the end of the file, 0 past it).
   * Reads what the process sees, synced or not. An open file stays readable
   * after its name is unlinked or replaced, as on POSIX.
   */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>
  /** fdatasync: the data written so far (and the size it needs) is durable. */
  datasync(): Promise<void>
  /** fsync: data and metadata are durable. */
  sync(): Promise<void>
  close(): Promise<void>
}

export interface FileSystem {
  /** Creates the directory and its parents if absent. */
  mkdirp(path: string): Promise<void>
  readdir(path: string): Promise<string[]>
  readFile(path: string): Promise<Buffer>
  /** The file's length in bytes; rejects with ENOENT when it is absent. */
  sizeBytes(path: string): Promise<number>
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<DiskFile>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** fsync of a directory: makes creations, renames and deletions of its entries durable. */
  syncDir(path: string): Promise<void>
  /**
   * Up to `length` bytes at `position` (fewer at the end of the file), read
   * synchronously, as this process sees the file (written, not necessarily
   * synced); throws ENOENT when it is absent. For the log reader
   * (log-reader.ts): the Raft core asks for old entries synchronously.
   */
  readRangeSync(path: string, position: number, length: number): Buffer
}

function openFlags(mode: OpenMode, options: OpenOptions | undefined): number {
  const dsync = options?.dsync === true ? fsConstants.O_DSYNC : 0
  switch (mode) {
    case 'read':
      return fsConstants.O_RDONLY
    case 'update':
      return fsConstants.O_RDWR | dsync
    case 'createNew':
      return fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL | dsync
    case 'truncate':
      return fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | dsync
  }
}

/**
 * A node:fs file. Writes use the callback API on the descriptor: one promise
 * per call and no FileHandle plumbing, which keeps the append path's
 * event-loop time at about 10 µs (see DurableDir.writeDurably).
 */
class NodeDiskFile implements DiskFile {
  constructor(private readonly handle: FileHandle) {}

  write(data: Buffer, offset: number, length: number, position: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      write(this.handle.fd, data, offset, length, position, (error, bytesWritten) => {
        if (error === null) resolve(bytesWritten)
        else reject(error)
      })
    })
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      read(this.handle.fd, buffer, offset, length, position, (error, bytesRead) => {
        if (error === null) resolve(bytesRead)
        else reject(error)
      })
    })
  }

  datasync(): Promise<void> {
    return this.handle.datasync()
  }

  sync(): Promise<void> {
    return this.handle.sync()
  }

  close(): Promise<void> {
    return this.handle.close()
  }
}

export const nodeFileSystem: FileSystem = Object.freeze({
  async mkdirp(path: string): Promise<void> {
    await mkdir(path, { recursive: true })
  },
  readdir: (path: string) => readdir(path),
  readFile: (path: string) => readFile(path),
  sizeBytes: async (path: string) => (await stat(path)).size,
  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<DiskFile> {
    return new NodeDiskFile(await open(path, openFlags(mode, options)))
  },
  rename: (from: string, to: string) => rename(from, to),
  unlink: (path: string) => unlink(path),
  async syncDir(path: string): Promise<void> {
    const handle = await open(path, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
  readRangeSync(path: string, position: number, length: number): Buffer {
    const fd = openSync(path, 'r')
    try {
      const buf = Buffer.allocUnsafe(length)
      let done = 0
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, position + done)
        if (n === 0) break
        done += n
      }
      return buf.subarray(0, done)
    } finally {
      closeSync(fd)
    }
  },
})
