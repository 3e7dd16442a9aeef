// NodeStorage: a node's durable state — log segments, hard state, snapshot
// files and a small metadata map — behind the API the runtime calls.
//
// Where the hard state lives: inside the log. Every persist() writes ONE
// record holding the batch's hard state (if any) and its entries, with one
// write and one fdatasync, so the two can never disagree after a crash and no
// second file needs a second fsync. Each segment starts with a record that
// carries the current hard state, so deleting older segments never loses it.
//
// Truncating a conflicting suffix rewrites nothing: the new batch's entries
// start at or below the old end, and replay lets later records replace
// earlier ones from their first index on (as persist() did in memory). This
// is also why preallocated segments need no "logical end" marker or zeroing
// on truncation: the truncation is itself a record, appended like any other,
// so the data of a segment is always one unbroken run of records followed by
// zeros, and nothing is ever written behind the end of the data.
//
// Segments are preallocated (see log-segment.ts): while one segment is
// written, the next is zero-filled in the background as a spare; a roll
// renames it into place. The append path never waits for it: with no spare
// ready a roll creates a plain (growing) segment, and the next append after a
// spare becomes ready moves on to it.
import type { Entry, EntrySource, HardState, ReleasedEntries, SnapshotMeta } from '../raft/types.js'
import { assert, fail } from '../util/assert.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { DurableDir, type FaultInjector } from './durable-dir.js'
import type { LogBatch } from './entry-codec.js'
import { StorageClosedError, StorageFailedError, StorageIoError, StorageRolledBackError } from './errors.js'
import { nodeFileSystem, type FileSystem } from './file-system.js'
import {
  BatchRecordEncoder,
  parseSegmentFileName,
  preallocateSpare,
  SegmentWriter,
  segmentFileName,
  spareSegmentFileName,
} from './log-segment.js'
import { compareLogPositions, formatLogPosition, HighWaterFile, type HighWater } from './high-water-file.js'
import type { LogReader } from './log-reader.js'
import { encodeMetadata, metadataFileName } from './metadata-file.js'
import { recover, type RecoveredSnapshot, type SegmentInfo } from './recovery.js'
import { encodeSnapshotFile, parseSnapshotFileName, SnapshotFileReader, SnapshotFileWriter, snapshotFileName } from './snapshot-file.js'
import { SyncedLengths } from './synced-lengths.js'

export interface StorageOptions {
  dir: string
  /** 'always' (default in the runtime): fdatasync every batch. 'never' is UNSAFE, for benchmarks only. */
  fsync: 'always' | 'never'
  /**
   * A segment is closed and a new one started before it would grow past
   * this; it is also the size segments are preallocated to.
   */
  segmentBytesMax?: number
  /**
   * Zero-fill each next segment ahead of need (default true), so appends
   * overwrite allocated blocks. false: segments grow with each append, as on
   * a file system where preallocating buys nothing (tmpfs).
   */
  preallocateSegments?: boolean
  logger?: Logger
  /** Test mode: keep <dir>/synced-lengths.json with each file's length at its last fsync. */
  trackSyncedLengths?: boolean
  /** Test hook: called before each write and fsync; throw to simulate ENOSPC or EIO. */
  injectFault?: FaultInjector
  /**
   * A file OUTSIDE `dir` recording the furthest log position stored, so that
   * a copied-back directory is refused (high-water-file.ts; checked by
   * adoptHighWater). Absent or null: no such record.
   */
  highWaterFile?: string | null
  /** The disk: node:fs unless given (the simulator passes its simulated disk). */
  fs?: FileSystem
  /** For the durations in log lines only; the system clock unless given. */
  clock?: Clock
  /**
   * Bytes of entry data recovery keeps in memory, the newest (the node's
   * LOG_CACHE_BYTES; all when absent): older entries come back as
   * RecoveredState.released and are read from the log when needed.
   */
  replayHeldBytesMax?: number
}

export const storageDefaults = Object.freeze({
  segmentBytesMax: 64 * 1024 * 1024,
  preallocateSegments: true,
})

/** A snapshot being stored as it is encoded (NodeStorage.beginSnapshot). */
export interface SnapshotStaging {
  /** Appends the next bytes of the data; the chunk may be reused once this resolves. */
  write(chunk: Buffer): Promise<void>
  /** Once every byte is written: fsync, rename, compaction. False when a snapshot installed meanwhile made this one moot. */
  commit(): Promise<boolean>
  /** Gives the snapshot up (the node stopped, or the state it describes was replaced): the tmp file is removed. */
  discard(): Promise<void>
}

export interface RecoveredState {
  /** {term: 0, vote: '', commit: 0} when fresh. */
  hardState: HardState
  /** The newest usable snapshot: its data is read from its file (openSnapshot), not held. */
  snapshot: { meta: SnapshotMeta } | null
  /** Stored entries after the snapshot not held in memory (null when none); they come before `entries`. */
  released: ReleasedEntries | null
  /** Contiguous, all with index > snapshot index (or from 1), after the released ones. */
  entries: Entry[]
  /** True when DATA_DIR held no state: no snapshot, entries, hard state or metadata. */
  fresh: boolean
}

/**
 * A snapshot's data made a part at a time (a state machine encoding itself
 * into one reused chunk): each part is written before the next is asked
 * for, so a part may reuse the previous one's memory.
 */
export interface SnapshotParts extends Iterable<Buffer> {
  readonly dataBytes: number
}

/**
 * The newest snapshot as storage knows it: its file, not its bytes. A
 * follower's copy is read back from the file (openSnapshot), so no node holds
 * a whole snapshot in memory once it is saved or installed (issue 16: 121 MiB
 * a node at 1M keys).
 */
interface StoredSnapshot {
  readonly name: string
  readonly meta: SnapshotMeta
  readonly logStartSeq: number
}

export class NodeStorage {
  /** Snapshot files open for sending (openSnapshot); closed by close() if still open. */
  private readonly snapshotReaders = new Set<SnapshotFileReader>()
  /** Own snapshots' files being opened (beginSnapshot): close() waits for them, then closes them. */
  private readonly snapshotOpenings = new Set<Promise<SnapshotFileWriter | null>>()
  /** Own snapshots being written (beginSnapshot): close() closes their files. */
  private readonly snapshotWriters = new Set<SnapshotFileWriter>()
  private readonly encoder = new BatchRecordEncoder()
  /** Serializes calls: each one starts when the previous has settled. */
  private queue: Promise<unknown> = Promise.resolve()
  private busy = false
  private failure: StorageIoError | null = null
  private closed = false
  /** Bytes of the spare segment on disk, ready to adopt; null when there is none. */
  private spareBytes: number | null = null
  /** The background preallocation, if one runs; it never rejects. */
  private preallocation: Promise<void> | null = null
  /** Kept up to date after each write once adoptHighWater accepted the directory. */
  private highWater: { file: HighWaterFile; incarnation: string } | null = null
  private highWaterFound: { file: HighWaterFile; recorded: HighWater | null | string } | null = null
  /** Given a snapshot's index, the index after which entries outlive its compaction (keepLogAfter); by default none do. */
  private logKeptAfter: (snapshotIndex: number) => number = (snapshotIndex) => snapshotIndex

  private constructor(
    private readonly dir: DurableDir,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly segmentBytesMax: number,
    private readonly preallocate: boolean,
    /** Oldest first; the last one is the writer's. */
    private segments: SegmentInfo[],
    private writer: SegmentWriter,
    private hardState: HardState,
    private snapshot: StoredSnapshot | null,
    /** Index of the last entry stored (the snapshot's index when the log is empty). */
    private lastIndex: number,
    private metadata: Map<string, string>,
    /** Where each live entry's record is: the core reads released entries back through it. */
    private readonly reader: LogReader,
  ) {}

  static async open(options: StorageOptions): Promise<{ storage: NodeStorage; state: RecoveredState }> {
    const logger = options.logger ?? silentLogger()
    const segmentBytesMax = options.segmentBytesMax ?? storageDefaults.segmentBytesMax
    assert(segmentBytesMax > 0, 'segmentBytesMax must be positive')
    const fs = options.fs ?? nodeFileSystem
    const clock = options.clock ?? systemClock
    await fs.mkdirp(options.dir)
    const tracker = options.trackSyncedLengths === true ? new SyncedLengths(options.dir) : null
    const dir = new DurableDir(fs, options.dir, options.fsync, tracker, options.injectFault ?? null)
    const started = clock.monotonicMs()
    const recovery = await recover(dir, logger, options.replayHeldBytesMax ?? Infinity)
    const releasedCount = recovery.released?.terms.length ?? 0
    const encoder = new BatchRecordEncoder()
    const writer = await openWriter(dir, recovery, encoder)
    const snapshotIndex = recovery.snapshot?.meta.index ?? 0
    const preallocate = options.preallocateSegments ?? storageDefaults.preallocateSegments
    const storage = new NodeStorage(dir, logger, clock, segmentBytesMax, preallocate, recovery.segments, writer,
      recovery.hardState, storedOf(recovery.snapshot), snapshotIndex + releasedCount + recovery.entries.length, recovery.metadata, recovery.reader)
    if (options.highWaterFile !== undefined && options.highWaterFile !== null) {
      storage.highWaterFound = await HighWaterFile.open(fs, options.highWaterFile, logger, clock)
    }
    if (tracker !== null) await markExistingFilesSynced(dir)
    // Finish any compaction a crash interrupted; harmless when there is none.
    await storage.removeSnapshotsBefore(snapshotIndex)
    await storage.removeSegmentsCoveredBy(snapshotIndex)
    await storage.findSpare()
    logger.info({
      dir: options.dir,
      ms: Math.round(clock.monotonicMs() - started),
      entries: releasedCount + recovery.entries.length,
      entriesInMemory: recovery.entries.length,
      snapshotIndex,
      segments: storage.segments.length,
    }, 'storage recovered')
    const state: RecoveredState = {
      hardState: recovery.hardState,
      snapshot: recovery.snapshot === null ? null : { meta: recovery.snapshot.meta },
      released: recovery.released,
      entries: recovery.entries,
      fresh: recovery.fresh,
    }
    return { storage, state }
  }

  /**
   * Makes one ready batch durable: hard state (if non-null) and entries in
   * one record, one write, one fdatasync. entries[0].index may be at or below
   * the last stored index: that conflicting suffix is replaced by this batch.
   * Resolves only after the data is on disk (with fsync 'always').
   */
  persist(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    return this.serialize(async () => {
      if (hardState === null && entries.length === 0) return
      this.checkEntries(entries)
      const record = this.encoder.encode({ hardState, entries })
      const recordBytes = record.length
      let recordOffset = this.writer.sizeBytes
      const end = this.writer.sizeBytes + record.length
      // Roll when the segment is full, or early when this append would grow
      // a file that was not preallocated (or has run out) and a spare is ready.
      const full = end > this.segmentBytesMax
      const growsWhileSpareReady = end > this.writer.fileBytes && this.spareBytes !== null
      if (this.writer.sizeBytes > 0 && (full || growsWhileSpareReady)) {
        recordOffset = await this.roll({ hardState, entries })
      } else {
        await this.writer.append(record)
        this.preallocateIfDue()
      }
      this.applyBatch(hardState, entries, recordOffset, recordBytes)
    })
  }

  /**
   * Stores our own snapshot at meta.index (at most the last stored index):
   * tmp file, fsync, rename, dir fsync. Then deletes older snapshots and the
   * segments it fully covers; entries after meta.index stay in the log.
   * Resolves false, storing nothing, when a snapshot at or past meta.index
   * was stored meanwhile (one installed from the leader while this one was
   * being encoded): it is newer, and keeps. The same steps as a snapshot
   * streamed through beginSnapshot, with the data in one piece.
   */
  async saveSnapshot(meta: SnapshotMeta, data: Buffer): Promise<boolean> {
    const staging = await this.beginSnapshot(meta, data.length)
    await staging.write(data)
    return staging.commit()
  }

  /**
   * Starts storing our own snapshot at meta.index, `dataBytes` long, to be
   * written chunk by chunk as it is encoded (no buffer of the whole state).
   * The tmp file is written and fsynced outside the call queue, so a large
   * snapshot does not hold up persist() calls; only the rename and the
   * deletions wait their turn (commit). A failed write fails the storage,
   * as a failed persist does.
   */
  async beginSnapshot(meta: SnapshotMeta, dataBytes: number): Promise<SnapshotStaging> {
    if (this.closed) throw new StorageClosedError()
    if (this.failure !== null) throw new StorageFailedError(this.failure)
    const name = snapshotFileName(meta.index)
    const logStartSeq = this.snapshot?.logStartSeq ?? 0
    // close() waits for an open under way: the file it makes is closed before close() resolves.
    const opening = this.failing(SnapshotFileWriter.open(this.dir, name, { meta, logStartSeq }, dataBytes)).then(async (opened) => {
      if (this.closed) {
        await opened.close()
        return null
      }
      this.snapshotWriters.add(opened)
      return opened
    })
    this.snapshotOpenings.add(opening)
    let file: SnapshotFileWriter | null
    try {
      file = await opening
    } finally {
      this.snapshotOpenings.delete(opening)
    }
    if (file === null) throw new StorageClosedError()
    const done = (): void => {
      this.snapshotWriters.delete(file)
    }
    return {
      write: (chunk) => {
        if (this.closed) return Promise.reject(new StorageClosedError())
        return this.failing(file.write(chunk)).catch(async (error: unknown) => {
          done()
          await file.close()
          throw error
        })
      },
      // Once storage is closed the file is closed too, and the tmp file is left for recovery.
      discard: async () => {
        done()
        if (this.closed) await file.close()
        else await file.discard()
      },
      commit: async () => {
        if (this.closed) throw new StorageClosedError()
        let tmpName: string
        try {
          tmpName = await this.failing(file.finish())
        } finally {
          done()
        }
        let saved = false
        await this.serialize(async () => {
          const snapshotIndex = this.snapshot?.meta.index ?? 0
          // A snapshot installed meanwhile: newer than this one (it keeps), or
          // older, and then the staged file names the wrong log start. Either
          // way this one is not stored; the next one will be.
          if ((meta.index <= snapshotIndex && this.snapshot !== null) || (this.snapshot?.logStartSeq ?? 0) !== logStartSeq) {
            await this.dir.remove(tmpName)
            return
          }
          assert(meta.index <= this.lastIndex, () => `snapshot ${meta.index} is past the last entry ${this.lastIndex}`)
          await this.dir.commitStaged(tmpName, name)
          this.snapshot = { name, meta, logStartSeq }
          await this.removeSnapshotsBefore(meta.index)
          await this.removeSegmentsCoveredBy(Math.min(meta.index, this.logKeptAfter(meta.index)))
          saved = true
        })
        return saved
      },
    }
  }

  /**
   * Installs a snapshot received from the leader: staged like saveSnapshot,
   * then it replaces the whole log. The snapshot file itself records that
   * segments before the next one hold no entries for it, so a crash at any
   * point after its rename cannot bring old entries back.
   */
  installSnapshot(meta: SnapshotMeta, data: Buffer | SnapshotParts): Promise<void> {
    return this.serialize(async () => {
      const snapshotIndex = this.snapshot?.meta.index ?? 0
      assert(meta.index >= snapshotIndex, () => `snapshot ${meta.index} is older than the stored ${snapshotIndex}`)
      const logStartSeq = this.writer.seq + 1
      const stored = { name: snapshotFileName(meta.index), meta, logStartSeq }
      if (Buffer.isBuffer(data)) await this.writeSnapshot(stored, data)
      else await this.writeSnapshotParts(stored, data)
      await this.roll(null)
      this.reader.clear()
      assert(this.writer.seq === logStartSeq, 'the new segment must be the first the snapshot keeps')
      this.lastIndex = meta.index
      await this.removeSnapshotsBefore(meta.index)
      await this.removeSegmentsCoveredBy(Number.MAX_SAFE_INTEGER)
    })
  }

  /**
   * Resolves when the background preallocation of the next segment (if one
   * is running) has finished or given up. For tests and benchmarks: nothing
   * else needs to wait for it.
   */
  async awaitPreallocation(): Promise<void> {
    await this.preallocation
  }

  /**
   * Checks the directory against the high-water file (when one is
   * configured) and keeps that file up to date from now on. `incarnation`
   * is the directory's; `fresh` says it held no state. Throws
   * StorageRolledBackError when the directory holds an earlier log position
   * than recorded, or another incarnation's state. A fresh directory, an
   * absent or unreadable record start a new record (written durably first).
   */
  async adoptHighWater(incarnation: string, fresh: boolean): Promise<void> {
    const found = this.highWaterFound
    if (found === null) return
    this.highWaterFound = null
    const { file, recorded } = found
    const here: HighWater = { incarnation, segmentSeq: this.writer.seq, segmentBytes: this.writer.sizeBytes }
    if (typeof recorded === 'string') this.logger.warn({ file: file.path, reason: recorded }, 'the high-water file is unreadable (a crash while it was written?); starting a new one')
    if (!fresh && recorded !== null && typeof recorded !== 'string') {
      if (recorded.incarnation !== incarnation) {
        throw new StorageRolledBackError(this.dir.path, `incarnation ${incarnation}`, `incarnation ${recorded.incarnation} since`, file.path)
      }
      if (compareLogPositions(here, recorded) < 0) {
        throw new StorageRolledBackError(this.dir.path, `its log up to ${formatLogPosition(here)}`, `up to ${formatLogPosition(recorded)}`, file.path)
      }
    }
    const sameLife = recorded !== null && typeof recorded !== 'string' && recorded.incarnation === incarnation
    if (sameLife) file.note(here)
    else await file.writeDurably(here)
    this.highWater = { file, incarnation }
  }

  /**
   * Entries after `index(snapshotIndex)` stay readable through entrySource
   * when a snapshot saved at snapshotIndex compacts the log: the segments
   * holding them are kept until a later snapshot finds them below both. A
   * snapshot installed from the leader still replaces the whole log, and
   * start-up still drops what the snapshot covers (the watch history starts
   * empty then).
   */
  keepLogAfter(index: (snapshotIndex: number) => number): void {
    this.logKeptAfter = index
  }

  /**
   * Reads stored entries back, synchronously (log-reader.ts): the Raft core's
   * source for the entries whose data it released from memory.
   */
  entrySource(): EntrySource {
    return this.reader
  }

  /** The newest snapshot's meta; its bytes are in its file only (openSnapshot). */
  latestSnapshotMeta(): SnapshotMeta | null {
    return this.snapshot?.meta ?? null
  }

  /**
   * Opens the newest snapshot's file to stream its data to a follower.
   * Outside the call queue: reading holds up no write. The reader keeps
   * the file open, so a newer snapshot's compaction deleting it meanwhile
   * does not cut the stream short; close it when done (close() closes any
   * left). Null when there is no snapshot, the storage is closed, or the
   * file is gone or unreadable (a newer snapshot replaced it between this
   * call and the open: the caller asks again for the newest).
   */
  async openSnapshot(): Promise<SnapshotFileReader | null> {
    const snapshot = this.snapshot
    if (snapshot === null || this.closed) return null
    let file
    try {
      file = await this.dir.open(snapshot.name, 'read')
    } catch (error) {
      this.logger.info({ file: snapshot.name, err: error }, 'snapshot file not opened for sending (replaced by a newer one?)')
      return null
    }
    let reader: SnapshotFileReader | string
    try {
      reader = await SnapshotFileReader.open(file, (closed) => this.snapshotReaders.delete(closed))
    } catch (error) {
      reader = String(error)
    }
    if (typeof reader === 'string' || this.closed) {
      if (typeof reader === 'string') this.logger.error({ file: snapshot.name, problem: reader }, 'snapshot file unreadable for sending')
      await file.close().catch(() => undefined)
      return null
    }
    this.snapshotReaders.add(reader)
    return reader
  }

  getMeta(key: string): string | undefined {
    return this.metadata.get(key)
  }

  /** Stores key=value durably (atomic file replace) before resolving. */
  setMeta(key: string, value: string): Promise<void> {
    return this.serialize(async () => {
      const next = new Map(this.metadata).set(key, value)
      await this.dir.replaceFile(metadataFileName, [encodeMetadata(next)])
      this.metadata = next
    })
  }

  /**
   * Closes the files after the calls made before it; later calls reject with
   * ERR_STORAGE_CLOSED. Queued like a write, so nothing writes to a closed
   * file; unlike a write it also works after a disk error.
   */
  close(): Promise<void> {
    const result = this.queue.then(async () => {
      if (this.closed) return
      // Also stops a running preallocation at its next chunk.
      this.closed = true
      // Not awaited: a reader closes once its read in flight is done, and a stalled read must not hold up the stop.
      for (const reader of [...this.snapshotReaders]) void reader.close().catch(() => undefined)
      // Awaited, as the log's writer is: a snapshot's write under way finishes first.
      await Promise.allSettled([...this.snapshotOpenings])
      await Promise.all([...this.snapshotWriters].map((writer) => writer.close()))
      this.snapshotWriters.clear()
      await this.preallocation
      await this.writer.close()
      await this.highWater?.file.close()
    })
    this.queue = result.catch(() => undefined)
    return result
  }

  private serialize(operation: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      assert(!this.busy, 'storage: a second write started while one was in flight')
      if (this.closed) throw new StorageClosedError()
      if (this.failure !== null) throw new StorageFailedError(this.failure)
      this.busy = true
      try {
        await operation()
        // Only after the write is durable: the record must never get ahead of the directory.
        this.highWater?.file.note({ incarnation: this.highWater.incarnation, segmentSeq: this.writer.seq, segmentBytes: this.writer.sizeBytes })
      } catch (error) {
        // A failed write may have left a partial record: refuse all further
        // writes, so that partial record stays the tail a restart cuts off.
        this.noteFailure(error)
        throw error
      } finally {
        this.busy = false
      }
    }
    const result = this.queue.then(run)
    this.queue = result.catch(() => undefined)
    return result
  }

  /** Fails the storage for an I/O error (the first one is kept and logged). */
  private noteFailure(error: unknown): void {
    if (!(error instanceof StorageIoError) || this.failure !== null) return
    this.failure = error
    this.logger.error({ err: error, code: error.code, errno: error.errno }, error.message)
  }

  /** `operation`, with an I/O error it rejects with failing the storage (a snapshot's tmp file, written outside the queue). */
  private async failing<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation
    } catch (error) {
      this.noteFailure(error)
      throw error
    }
  }

  private checkEntries(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    const snapshotIndex = this.snapshot?.meta.index ?? 0
    if (first.index <= snapshotIndex) fail(`entry ${first.index} is covered by snapshot ${snapshotIndex}`)
    if (first.index > this.lastIndex + 1) fail(`entry ${first.index} leaves a gap after ${this.lastIndex}`)
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]?.index !== first.index + i) fail(`entries not contiguous at position ${i}`)
    }
  }

  /** After `entries` were written as the record of `recordBytes` at `recordOffset` in the newest segment. */
  private applyBatch(hardState: HardState | null, entries: readonly Entry[], recordOffset: number, recordBytes: number): void {
    if (hardState !== null) this.hardState = hardState
    if (entries.length === 0) return
    const first = entries[0] as Entry
    const last = entries[entries.length - 1] as Entry
    const newest = this.segments[this.segments.length - 1]
    assert(newest !== undefined && newest.seq === this.writer.seq, 'segment list out of step with the writer')
    // Older segments' entries from `first` on are replaced now; compaction must not count them.
    for (const segment of this.segments) segment.lastIndex = Math.min(segment.lastIndex, first.index - 1)
    newest.lastIndex = last.index
    this.lastIndex = last.index
    this.reader.noteRecord(first.index, last.index, newest.seq, recordOffset, recordBytes)
  }

  /**
   * Starts the next segment: a record with the current hard state (so older
   * segments can be deleted freely), then `batch` (if any) as a record of its
   * own, both in one write. Every segment thus opens with a hard-state-only
   * record whether the roll was for a full segment, an early move to a spare
   * or a snapshot install, and the batch stays a separate last record (a
   * torn one is cut like any other tail). Returns the batch record's offset
   * in the new segment.
   */
  private async roll(batch: LogBatch | null): Promise<number> {
    const seq = this.writer.seq + 1
    // A copy: the encoder reuses its buffer for the batch.
    const header = Buffer.from(this.encoder.encode({ hardState: this.hardState, entries: [] }))
    const records = batch === null ? header : Buffer.concat([header, this.encoder.encode(batch)])
    const spareBytes = this.spareBytes
    this.spareBytes = null
    const writer = spareBytes === null
      ? await SegmentWriter.create(this.dir, seq, records)
      : await SegmentWriter.adoptSpare(this.dir, seq, spareBytes, records)
    const previous = this.writer
    this.writer = writer
    this.segments.push({ seq, name: writer.name, lastIndex: 0 })
    await this.dir.io('close', previous.name, () => previous.close())
    this.preallocateIfDue()
    return header.length
  }

  /**
   * On open: a spare left by the last run is kept if it has the configured
   * size (it only exists once complete, see preallocateSpare), else removed.
   * Then the next one is prepared in the background if needed.
   */
  private async findSpare(): Promise<void> {
    const spareBytes = await this.dir.sizeBytes(spareSegmentFileName)
    if (spareBytes !== null && (!this.preallocate || spareBytes !== this.segmentBytesMax)) {
      await this.dir.remove(spareSegmentFileName)
    } else {
      this.spareBytes = spareBytes
    }
    this.preallocateIfDue()
  }

  /**
   * Prepares the next segment once the current one has less than half of it
   * left (or was never preallocated, so every append grows it): early enough
   * that zero-filling finishes long before the roll at any realistic log
   * rate, late enough that an idle node holds one unused segment, not two.
   */
  private preallocateIfDue(): void {
    const preallocateAheadBytes = Math.ceil(this.segmentBytesMax / 2)
    const notPreallocated = this.writer.fileBytes < this.segmentBytesMax
    if (notPreallocated || this.writer.fileBytes - this.writer.sizeBytes <= preallocateAheadBytes) this.startPreallocation()
  }

  /**
   * Starts zero-filling the next segment unless one is ready or under way.
   * Runs beside the call queue (it touches only the spare's files). A failure
   * (disk full, say) is logged and does not stop the storage: appends then
   * go to a growing segment, and the next roll tries again.
   */
  private startPreallocation(): void {
    if (!this.preallocate || this.spareBytes !== null || this.preallocation !== null) return
    if (this.closed || this.failure !== null) return
    const started = this.clock.monotonicMs()
    const bytes = this.segmentBytesMax
    this.preallocation = preallocateSpare(this.dir, bytes, () => this.closed)
      .then((complete) => {
        if (!complete) return
        this.spareBytes = bytes
        this.logger.debug({ bytes, ms: Math.round(this.clock.monotonicMs() - started) }, 'preallocated the next log segment')
      }, (error: unknown) => {
        this.logger.warn({ err: error }, 'could not preallocate the next log segment; appends grow the current one meanwhile')
      })
      .finally(() => { this.preallocation = null })
  }

  private async writeSnapshot(snapshot: StoredSnapshot, data: Buffer): Promise<void> {
    const parts = encodeSnapshotFile({ meta: snapshot.meta, logStartSeq: snapshot.logStartSeq }, data)
    await this.dir.replaceFile(snapshot.name, parts)
    this.snapshot = snapshot
  }

  /** The same as writeSnapshot, with the data written part by part as it is made. */
  private async writeSnapshotParts(snapshot: StoredSnapshot, data: SnapshotParts): Promise<void> {
    const file = await SnapshotFileWriter.open(this.dir, snapshot.name, { meta: snapshot.meta, logStartSeq: snapshot.logStartSeq }, data.dataBytes)
    let tmpName: string
    try {
      for (const part of data) await file.write(part)
      tmpName = await file.finish()
    } catch (error) {
      // The tmp file stays for recovery to remove; the storage fails (serialize).
      await file.close().catch(() => undefined)
      throw error
    }
    await this.dir.commitStaged(tmpName, snapshot.name)
    this.snapshot = snapshot
  }

  private async removeSnapshotsBefore(index: number): Promise<void> {
    const names = await this.dir.names()
    for (const name of names) {
      const snapshotIndex = parseSnapshotFileName(name)
      if (snapshotIndex !== null && snapshotIndex < index) await this.dir.remove(name)
    }
  }

  /** Deletes every segment but the newest whose entries are all at or below `index`. */
  private async removeSegmentsCoveredBy(index: number): Promise<void> {
    const kept: SegmentInfo[] = []
    let removedThrough = 0
    for (const segment of this.segments) {
      if (segment.seq !== this.writer.seq && segment.lastIndex <= index) {
        await this.dir.remove(segment.name)
        removedThrough = Math.max(removedThrough, segment.lastIndex)
      } else {
        kept.push(segment)
      }
    }
    this.segments = kept
    // The live records of removed segments come before every other one (a
    // later record replaces what it overlaps), so they are a prefix.
    this.reader.forgetThrough(removedThrough)
  }
}

/**
 * The segment to append to. Reuses the newest one unless a snapshot voided
 * it (installed from a leader) or there is none; an empty newest segment
 * (a crash right after creating it) first gets its hard-state record.
 */
async function openWriter(
  dir: DurableDir,
  recovery: Awaited<ReturnType<typeof recover>>,
  encoder: BatchRecordEncoder,
): Promise<SegmentWriter> {
  const newest = recovery.segments[recovery.segments.length - 1]
  const logStartSeq = recovery.snapshot?.logStartSeq ?? 0
  const header = encoder.encode({ hardState: recovery.hardState, entries: [] })
  if (newest === undefined || newest.seq < logStartSeq) {
    const seq = Math.max((newest?.seq ?? 0) + 1, logStartSeq)
    const writer = await SegmentWriter.create(dir, seq, header)
    recovery.segments.push({ seq, name: segmentFileName(seq), lastIndex: 0 })
    return writer
  }
  const writer = await SegmentWriter.reopen(dir, newest.seq, recovery.newestSegmentBytes, recovery.newestSegmentFileBytes)
  if (recovery.newestSegmentRecords === 0) await writer.append(header)
  return writer
}

/** In test mode, files found on open count as durable at their current length. */
async function markExistingFilesSynced(dir: DurableDir): Promise<void> {
  const names = await dir.names()
  for (const name of names) {
    const ours = parseSegmentFileName(name) !== null || parseSnapshotFileName(name) !== null ||
      name === metadataFileName || name === spareSegmentFileName
    if (ours) dir.markSynced(name, (await dir.sizeBytes(name)) ?? 0)
  }
}

/** What storage keeps of recovery's snapshot. */
function storedOf(recovered: RecoveredSnapshot | null): StoredSnapshot | null {
  return recovered === null ? null : { name: recovered.name, meta: recovered.meta, logStartSeq: recovered.logStartSeq }
}
