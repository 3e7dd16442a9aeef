// A simulated disk for one node's DATA_DIR, behind lib/storage's FileSystem.
// It keeps, per file, what the program sees and what would survive a power
// loss, and for the directory, which names are durable:
//  - a write is durable once fsynced (or at once on an O_DSYNC file);
//  - creations, renames and unlinks are durable once the directory is fsynced;
//  - at a crash, each file keeps its durable bytes plus a random prefix of its
//    unsynced writes, the last one possibly cut short (a torn write), and the
//    directory keeps a random prefix of its unsynced changes;
//  - every operation takes simulated time (fsync latency, sometimes a long
//    stall), and writes or fsyncs may fail with EIO or ENOSPC.
// Operations of a process that died never complete, as in a killed process;
// its writes in flight are settled when it dies (processKilled, crash).
// Reads see what the process sees (the page cache), synced or not. An open
// file keeps its inode: unlinking or renaming over its name leaves it
// readable through the handle, as on POSIX, until the handle is closed.
import { basename, dirname } from 'node:path'
import type { DiskFile, FileSystem, OpenMode, OpenOptions } from '../../../lib/storage/file-system.js'
import type { Prng } from '../../../lib/util/prng.js'
import type { SimProcess, SimScheduler } from './sim-scheduler.js'

export interface DiskWeather {
  /** Latency of a read, readdir, stat, rename or unlink: 0..this. */
  readonly metaLatencyMsMax: number
  /** Latency of an fsync or an O_DSYNC write: min..max. */
  readonly syncLatencyMsMin: number
  readonly syncLatencyMsMax: number
  /** An fsync (or O_DSYNC write) that stalls for up to stallMsMax. */
  readonly stallProbability: number
  readonly stallMsMax: number
  /** A write or fsync that fails (EIO or ENOSPC). */
  readonly faultProbability: number
  /** At a crash: the share of crashes that keep no unsynced write at all. */
  readonly loseAllUnsyncedProbability: number
}

type Pending = { readonly t: 'write'; readonly position: number; readonly bytes: Buffer } | { readonly t: 'truncate' }

class Inode {
  /** What reads see: data[0, length). */
  data: Buffer = Buffer.alloc(0)
  length = 0
  /** What survives a crash. */
  durable: Buffer = Buffer.alloc(0)
  /** Writes since the last fsync, oldest first. */
  pending: Pending[] = []

  static withContent(content: Buffer): Inode {
    const inode = new Inode()
    inode.data = Buffer.from(content)
    inode.length = content.length
    inode.durable = Buffer.from(content)
    return inode
  }

  content(): Buffer {
    return this.data.subarray(0, this.length)
  }

  write(bytes: Buffer, position: number): void {
    const end = position + bytes.length
    if (end > this.data.length) {
      const grown = Buffer.alloc(Math.max(end, this.data.length * 2))
      this.data.copy(grown, 0, 0, this.length)
      this.data = grown
    }
    if (position > this.length) this.data.fill(0, this.length, position)
    bytes.copy(this.data, position)
    this.length = Math.max(this.length, end)
  }

  truncate(): void {
    this.length = 0
  }

  /**
   * An O_DSYNC write: durable now, with any truncate before it. Older unsynced writes to the same bytes
   * can no longer surface there at a crash (the page cache holds the newer
   * bytes, and that is what any flush of those pages writes), so they carry
   * the new bytes from here on.
   */
  writeDurable(bytes: Buffer, position: number): void {
    // The write's size change commits the inode's earlier metadata with it,
    // a pending truncate included: from here on it is durable, and the
    // writes it cut away can no longer surface.
    let lastTruncate = -1
    for (let i = 0; i < this.pending.length; i++) if ((this.pending[i] as Pending).t === 'truncate') lastTruncate = i
    if (lastTruncate >= 0) {
      this.durable = Buffer.alloc(0)
      this.pending = this.pending.slice(lastTruncate + 1)
    }
    this.durable = applyWrite(this.durable, bytes, position)
    const end = position + bytes.length
    for (const p of this.pending) {
      if (p.t !== 'write') continue
      const from = Math.max(position, p.position)
      const to = Math.min(end, p.position + p.bytes.length)
      if (from < to) bytes.copy(p.bytes, from - p.position, from - position, to - position)
    }
  }

  synced(): void {
    this.durable = Buffer.from(this.content())
    this.pending = []
  }
}

function applyWrite(content: Buffer, bytes: Buffer, position: number): Buffer {
  const end = position + bytes.length
  const out = Buffer.alloc(Math.max(content.length, end))
  content.copy(out)
  bytes.copy(out, position)
  return out
}

type DirOp = { readonly t: 'link'; readonly name: string; readonly inode: Inode } | { readonly t: 'rename'; readonly from: string; readonly to: string } | { readonly t: 'unlink'; readonly name: string }

export interface DiskStats {
  writes: number
  syncs: number
  stalls: number
  faults: number
  tornWrites: number
  lostWrites: number
  lostDirOps: number
}

export function emptyDiskStats(): DiskStats {
  return { writes: 0, syncs: 0, stalls: 0, faults: 0, tornWrites: 0, lostWrites: 0, lostDirOps: 0 }
}

export class SimDisk implements FileSystem {
  private files = new Map<string, Inode>()
  private durableDir = new Map<string, Inode>()
  private dirLog: DirOp[] = []
  /** Writes issued and not yet completed: at a crash they may be lost, torn or whole. */
  private readonly inflight = new Set<{ inode: Inode; bytes: Buffer; position: number }>()
  private process: SimProcess | null = null
  /** Off during the calm phase: no more stalls or errors. */
  faultsOn = true
  /** Faults injected into the current process: a fatal stop of that process is then expected. */
  faultsThisProcess = 0
  /** Files the current process holds open; a dead process's are closed by its death. */
  private openHandles = new Set<SimDiskFile>()

  constructor(
    readonly dir: string,
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
    public weather: DiskWeather,
    readonly stats: DiskStats,
  ) {}

  /** The process that uses the disk from now on; the previous one's operations never complete. */
  attach(process: SimProcess): void {
    this.process = process
    this.faultsThisProcess = 0
    this.openHandles = new Set()
  }

  /** How many files the current process holds open (a leak check for tests). */
  get openFileCount(): number {
    return this.openHandles.size
  }

  /** The names the current process's open files were opened under. */
  get openFileNames(): string[] {
    return [...this.openHandles].map((f) => f.openedAs)
  }

  /**
   * kill -9 with the power on: each write the dead process had issued and
   * not seen complete either reached the page cache (whole or cut short, and
   * then visible to the next process, unsynced) or never happened. Either
   * way it is settled now: a write left in flight would otherwise come back
   * at a later power loss and land over what the next process wrote there
   * (runtime seeds 100742, 100546 and others: a record of boot 1 over boot 2's).
   */
  processKilled(): void {
    for (const w of this.inflight) {
      const fate = this.prng.int(3)
      if (fate === 0) {
        this.stats.lostWrites++
        continue
      }
      const bytes = fate === 2 && w.bytes.length > 1 ? w.bytes.subarray(0, 1 + this.prng.int(w.bytes.length - 1)) : w.bytes
      if (bytes !== w.bytes) this.stats.tornWrites++
      w.inode.write(bytes, w.position)
      w.inode.pending.push({ t: 'write', position: w.position, bytes })
    }
    this.inflight.clear()
    this.process = null
  }

  /** Power loss: keeps what a real disk could have kept, chosen from the seed. */
  crash(): void {
    const loseAll = this.prng.chance(this.weather.loseAllUnsyncedProbability)
    const dir = new Map(this.durableDir)
    const keptOps = loseAll ? 0 : this.prng.int(this.dirLog.length + 1)
    this.stats.lostDirOps += this.dirLog.length - keptOps
    for (const op of this.dirLog.slice(0, keptOps)) applyDirOp(dir, op)
    for (const w of this.inflight) w.inode.pending.push({ t: 'write', position: w.position, bytes: w.bytes })
    this.inflight.clear()
    const survivors = new Map<string, Inode>()
    const rebuilt = new Map<Inode, Inode>()
    for (const [name, inode] of dir) {
      let copy = rebuilt.get(inode)
      if (copy === undefined) {
        copy = Inode.withContent(this.survivingContent(inode, loseAll))
        rebuilt.set(inode, copy)
      }
      survivors.set(name, copy)
    }
    this.files = survivors
    this.durableDir = new Map(survivors)
    this.dirLog = []
    this.process = null
  }

  private survivingContent(inode: Inode, loseAll: boolean): Buffer {
    let content: Buffer = inode.durable
    const pending = inode.pending
    const kept = loseAll ? 0 : this.prng.int(pending.length + 1)
    this.stats.lostWrites += pending.length - kept
    for (let i = 0; i < kept; i++) {
      const p = pending[i] as Pending
      if (p.t === 'truncate') {
        content = Buffer.alloc(0)
        continue
      }
      const torn = i === kept - 1 && p.bytes.length > 1 && this.prng.chance(0.5)
      const bytes = torn ? p.bytes.subarray(0, 1 + this.prng.int(p.bytes.length - 1)) : p.bytes
      if (torn) this.stats.tornWrites++
      content = applyWrite(content, bytes, p.position)
    }
    return content
  }

  // ---- FileSystem ----------------------------------------------------------------

  mkdirp(path: string): Promise<void> {
    this.checkDir(path)
    return this.complete(0, () => undefined)
  }

  readdir(path: string): Promise<string[]> {
    this.checkDir(path)
    return this.complete(this.metaLatency(), () => [...this.files.keys()].sort())
  }

  readFile(path: string): Promise<Buffer> {
    return this.complete(this.metaLatency(), () => Buffer.from(this.existing(path, 'open').content()))
  }

  sizeBytes(path: string): Promise<number> {
    return this.complete(this.metaLatency(), () => this.existing(path, 'stat').length)
  }

  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<DiskFile> {
    const name = this.nameOf(path)
    return this.complete(this.metaLatency(), () => {
      let inode = this.files.get(name)
      if (mode === 'createNew' && inode !== undefined) throw fsError('EEXIST', 'open', path)
      if ((mode === 'read' || mode === 'update') && inode === undefined) throw fsError('ENOENT', 'open', path)
      if (inode === undefined) {
        inode = new Inode()
        this.files.set(name, inode)
        this.dirLog.push({ t: 'link', name, inode })
      } else if (mode === 'truncate') {
        inode.truncate()
        inode.pending.push({ t: 'truncate' })
      }
      const file = new SimDiskFile(this, inode, options?.dsync === true, name)
      this.openHandles.add(file)
      return file
    })
  }

  rename(from: string, to: string): Promise<void> {
    const fromName = this.nameOf(from)
    const toName = this.nameOf(to)
    return this.complete(this.metaLatency(), () => {
      const inode = this.existing(from, 'rename')
      this.files.delete(fromName)
      this.files.set(toName, inode)
      this.dirLog.push({ t: 'rename', from: fromName, to: toName })
    })
  }

  unlink(path: string): Promise<void> {
    const name = this.nameOf(path)
    return this.complete(this.metaLatency(), () => {
      this.existing(path, 'unlink')
      this.files.delete(name)
      this.dirLog.push({ t: 'unlink', name })
    })
  }

  syncDir(path: string): Promise<void> {
    this.checkDir(path)
    return this.syncOp('fsync', path, () => {
      this.durableDir = new Map(this.files)
      this.dirLog = []
    })
  }

  /** Synchronous, so it takes no simulated time; it sees what the process sees (written, synced or not). */
  readRangeSync(path: string, position: number, length: number): Buffer {
    const content = this.existing(path, 'open').content()
    return Buffer.from(content.subarray(Math.min(position, content.length), Math.min(position + length, content.length)))
  }

  // ---- For SimDiskFile ---------------------------------------------------------------

  write(inode: Inode, dsync: boolean, data: Buffer, offset: number, length: number, position: number): Promise<number> {
    this.stats.writes++
    const bytes = Buffer.from(data.subarray(offset, offset + length))
    const w = { inode, bytes, position }
    this.inflight.add(w)
    const done = (): number => {
      this.inflight.delete(w)
      inode.write(bytes, position)
      if (dsync) inode.writeDurable(bytes, position)
      else inode.pending.push({ t: 'write', position, bytes })
      return length
    }
    if (dsync) return this.syncOp('write', this.dir, done, () => this.inflight.delete(w))
    return this.faulty('write', this.dir, this.metaLatency(), done, () => this.inflight.delete(w))
  }

  /** Copies what the process sees at the read's completion: the inode's current bytes, unsynced ones included. */
  read(inode: Inode, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.complete(this.metaLatency(), () => {
      if (position >= inode.length) return 0
      return inode.data.copy(buffer, offset, position, Math.min(inode.length, position + length))
    })
  }

  sync(inode: Inode): Promise<void> {
    return this.syncOp('fsync', this.dir, () => inode.synced())
  }

  closed(file: SimDiskFile): void {
    this.openHandles.delete(file)
  }

  // ---- Helpers ------------------------------------------------------------------------

  private syncOp<T>(op: string, path: string, done: () => T, failed: () => void = () => {}): Promise<T> {
    this.stats.syncs++
    const w = this.weather
    let latencyMs = w.syncLatencyMsMin + this.prng.next() * (w.syncLatencyMsMax - w.syncLatencyMsMin)
    if (this.faultsOn && w.stallProbability > 0 && this.prng.chance(w.stallProbability)) {
      this.stats.stalls++
      latencyMs += this.prng.next() * w.stallMsMax
    }
    return this.faulty(op, path, latencyMs, done, failed)
  }

  private faulty<T>(op: string, path: string, latencyMs: number, done: () => T, failed: () => void): Promise<T> {
    if (this.faultsOn && this.weather.faultProbability > 0 && this.prng.chance(this.weather.faultProbability)) {
      this.stats.faults++
      this.faultsThisProcess++
      const code = this.prng.chance(0.5) ? 'EIO' : 'ENOSPC'
      return this.complete(latencyMs, () => {
        failed()
        throw fsError(code, op, path)
      })
    }
    return this.complete(latencyMs, done)
  }

  private complete<T>(latencyMs: number, result: () => T): Promise<T> {
    const process = this.process
    return new Promise<T>((resolve, reject) => {
      if (process === null) return
      this.scheduler.at(latencyMs, process, () => {
        try {
          resolve(result())
        } catch (error) {
          reject(error)
        }
      })
    })
  }

  private metaLatency(): number {
    return this.prng.next() * this.weather.metaLatencyMsMax
  }

  private existing(path: string, op: string): Inode {
    const inode = this.files.get(this.nameOf(path))
    if (inode === undefined) throw fsError('ENOENT', op, path)
    return inode
  }

  private nameOf(path: string): string {
    this.checkDir(dirname(path))
    return basename(path)
  }

  private checkDir(path: string): void {
    if (path !== this.dir) throw fsError('ENOENT', 'open', path)
  }
}

function applyDirOp(dir: Map<string, Inode>, op: DirOp): void {
  if (op.t === 'link') dir.set(op.name, op.inode)
  else if (op.t === 'unlink') dir.delete(op.name)
  else {
    const inode = dir.get(op.from)
    if (inode === undefined) return
    dir.delete(op.from)
    dir.set(op.to, inode)
  }
}

class SimDiskFile implements DiskFile {
  private isClosed = false

  constructor(
    private readonly disk: SimDisk,
    private readonly inode: Inode,
    private readonly dsync: boolean,
    /** The name it was opened under, for leak reports. */
    readonly openedAs: string,
  ) {}

  write(data: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.isClosed ? this.badDescriptor('write') : this.disk.write(this.inode, this.dsync, data, offset, length, position)
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.isClosed ? this.badDescriptor('read') : this.disk.read(this.inode, buffer, offset, length, position)
  }

  datasync(): Promise<void> {
    return this.isClosed ? this.badDescriptor('fdatasync') : this.disk.sync(this.inode)
  }

  sync(): Promise<void> {
    return this.isClosed ? this.badDescriptor('fsync') : this.disk.sync(this.inode)
  }

  /** Idempotent, as a node:fs FileHandle's close. */
  close(): Promise<void> {
    this.isClosed = true
    this.disk.closed(this)
    return Promise.resolve()
  }

  /** An operation on a closed file fails as node:fs fails it. */
  private badDescriptor<T>(syscall: string): Promise<T> {
    return Promise.reject(fsError('EBADF', syscall, this.disk.dir))
  }
}

function fsError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: simulated ${syscall} '${path}'`), { code, syscall, path })
}
