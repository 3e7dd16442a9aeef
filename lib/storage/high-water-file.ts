// A node's high-water mark, kept OUTSIDE its data directory (HIGH_WATER_FILE,
// by default beside it): the directory's incarnation and the furthest log
// position its storage has made durable — the newest segment's sequence
// number and the bytes of records in it. Every persist appends a record, and
// segments are only ever added, so that position only grows while the node
// lives; a data directory copied back from an older state holds an earlier
// one. A copy of the directory does not carry this file, and copying the
// directory back does not roll it back: that is how the node can tell.
//
// The file is written after a persist has completed (so it never gets ahead
// of what the directory durably holds), in place and without fsync, never
// waited for, and at most once per HIGH_WATER_WRITE_INTERVAL_MS: a write per
// batch cost each node a thread-pool write and its completion wakeup per
// persist (about a tenth of the CPU per SET: bench/README section 17). A
// crash or power loss can leave it behind the directory by up to that
// interval of writes (detection then starts from what it says), never
// ahead; a clean stop writes the newest position. Only the first record of
// a new incarnation is fsynced before the directory takes that incarnation,
// so a power loss cannot leave a record of the previous one beside a
// directory of the new one.
import { dirname } from 'node:path'
import { crc32c } from '../util/checksum.js'
import { systemClock, type Clock, type Timer } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { DiskFile, FileSystem } from './file-system.js'

export interface HighWater {
  readonly incarnation: string
  /** The newest log segment's sequence number. */
  readonly segmentSeq: number
  /** Bytes of records in that segment: where the next record goes. */
  readonly segmentBytes: number
}

/** A newer position waits at most this long to be written (a copy of the directory taken within it may go unnoticed after a crash). */
export const HIGH_WATER_WRITE_INTERVAL_MS = 1000

/** Every write is this long (JSON padded with spaces), so an in-place overwrite leaves no old tail. */
const recordBytes = 256

export function encodeHighWater(h: HighWater): Buffer {
  const body = JSON.stringify({ incarnation: h.incarnation, segmentSeq: h.segmentSeq, segmentBytes: h.segmentBytes })
  const text = JSON.stringify({ crc32c: crc32c(Buffer.from(body)), ...JSON.parse(body) as object })
  const buf = Buffer.alloc(recordBytes, ' ')
  buf.write(text, 0, 'utf8')
  buf[recordBytes - 1] = 0x0a
  return buf
}

/** The record, or the reason it cannot be read. */
export function decodeHighWater(buf: Buffer): HighWater | string {
  try {
    const parsed = JSON.parse(buf.toString('utf8').trim()) as { crc32c?: unknown; incarnation?: unknown; segmentSeq?: unknown; segmentBytes?: unknown }
    const { incarnation, segmentSeq, segmentBytes } = parsed
    if (typeof incarnation !== 'string' || !Number.isSafeInteger(segmentSeq) || !Number.isSafeInteger(segmentBytes)) return 'missing fields'
    const h: HighWater = { incarnation, segmentSeq: segmentSeq as number, segmentBytes: segmentBytes as number }
    const body = JSON.stringify(h)
    return crc32c(Buffer.from(body)) === parsed.crc32c ? h : 'checksum mismatch'
  } catch (error) {
    return `unparsable: ${(error as Error).message}`
  }
}

/** Negative when position a is before b, 0 when equal, positive after. */
export function compareLogPositions(a: HighWater, b: HighWater): number {
  return a.segmentSeq !== b.segmentSeq ? a.segmentSeq - b.segmentSeq : a.segmentBytes - b.segmentBytes
}

export function formatLogPosition(h: HighWater): string {
  return `segment ${h.segmentSeq} byte ${h.segmentBytes}`
}

/**
 * The high-water file: read once at open, then kept up to date in the
 * background. note() never waits and never throws; writes are coalesced
 * (one in flight, at most one started per interval, always the newest noted
 * value).
 */
export class HighWaterFile {
  private file: DiskFile | null = null
  private latest: HighWater | null = null
  private written: HighWater | null = null
  private writing: Promise<void> | null = null
  /** The write waiting for the interval to pass, if any. */
  private pending: Timer | null = null
  private lastWriteStartedMs = -Infinity
  private closing = false
  private failedReported = false

  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly writeIntervalMs: number,
  ) {}

  /** Opens (without creating) the file; `recorded` is what it says, null when absent, or why it is unreadable. */
  static async open(
    fs: FileSystem,
    path: string,
    logger: Logger,
    clock: Clock = systemClock,
    writeIntervalMs = HIGH_WATER_WRITE_INTERVAL_MS,
  ): Promise<{ file: HighWaterFile; recorded: HighWater | null | string }> {
    const file = new HighWaterFile(fs, path, logger, clock, writeIntervalMs)
    let recorded: HighWater | null | string
    try {
      recorded = decodeHighWater(await fs.readFile(path))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      recorded = null
    }
    return { file, recorded }
  }

  /** Writes `h` durably (tmp, fsync, rename, directory fsync) before resolving: a new incarnation's first record. */
  async writeDurably(h: HighWater): Promise<void> {
    await this.settle()
    await this.file?.close()
    this.file = null
    const tmp = `${this.path}.tmp`
    const f = await this.fs.open(tmp, 'truncate')
    try {
      await writeAll(f, encodeHighWater(h))
      await f.sync()
    } finally {
      await f.close()
    }
    await this.fs.rename(tmp, this.path)
    await this.fs.syncDir(dirname(this.path))
    this.latest = h
    this.written = h
  }

  /** Records a newer position in the background. */
  note(h: HighWater): void {
    if (this.latest !== null && compareLogPositions(h, this.latest) === 0 && h.incarnation === this.latest.incarnation) return
    this.latest = h
    this.schedule()
  }

  /** Writes the newest noted position now (waiting for a write in flight), then closes the file. */
  async close(): Promise<void> {
    this.closing = true
    this.pending?.cancel()
    this.pending = null
    await this.settle()
    if (this.latest !== this.written) {
      this.writing = this.writeLatest()
      await this.settle()
    }
    await this.file?.close()
    this.file = null
  }

  private async settle(): Promise<void> {
    while (this.writing !== null) await this.writing
  }

  /** Starts a write of the newest position once the interval since the last one has passed. */
  private schedule(): void {
    if (this.writing !== null || this.pending !== null || this.latest === this.written) return
    const waitMs = this.lastWriteStartedMs + this.writeIntervalMs - this.clock.monotonicMs()
    if (waitMs <= 0) {
      this.writing = this.writeLatest()
      return
    }
    this.pending = this.clock.after(waitMs, () => {
      this.pending = null
      this.schedule()
    })
  }

  private async writeLatest(): Promise<void> {
    this.lastWriteStartedMs = this.clock.monotonicMs()
    try {
      const h = this.latest
      if (h !== null && h !== this.written) {
        this.file ??= await this.fs.open(this.path, 'update')
        await writeAll(this.file, encodeHighWater(h))
        this.written = h
      }
    } catch (error) {
      // The directory itself is fine; only detection of a copied-back directory is behind.
      if (!this.failedReported) this.logger.warn({ err: error, file: this.path }, 'could not update the high-water file; a copied-back DATA_DIR may go unnoticed')
      this.failedReported = true
    } finally {
      this.writing = null
    }
    // A position noted during the write waits for the next interval.
    if (!this.closing) this.schedule()
  }
}

async function writeAll(f: DiskFile, buf: Buffer): Promise<void> {
  let done = 0
  while (done < buf.length) done += await f.write(buf, done, buf.length - done, done)
}
