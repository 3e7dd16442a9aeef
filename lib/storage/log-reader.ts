// Reads log entries back from the segment files: the EntrySource the Raft
// core asks for entries whose data it released from memory (LOG_CACHE_BYTES,
// see lib/raft/entry-ring.ts), when a lagging follower or a new leader's
// catch-up needs them.
//
// It keeps, for every batch record that still holds live entries, where the
// record is (segment, byte offset, length) and which indexes of it are live:
// a later record that starts at or below them replaces them, exactly as
// replay does at start-up (recovery.ts). That is five numbers per record,
// held in typed arrays so the garbage collector sees a few arrays whatever
// the record count. A read is one synchronous positional read of one record,
// checked (crc) and decoded with the log's own codec; the last record read is
// kept, since a follower catching up asks for consecutive ranges of it.
import type { Entry, EntrySource } from '../raft/types.js'
import { entryBytes } from '../codec/entry-codec.js'
import type { Logger } from '../util/logger.js'
import type { DurableDir } from './durable-dir.js'
import { decodeBatch } from './entry-codec.js'
import { segmentFileName } from './log-segment.js'
import { readRecordAt } from './record-codec.js'

const COLUMNS_FIRST = 256

export class LogReader implements EntrySource {
  /** Live records [head, end): record i's live entries are firsts[i] ..= lasts[i], in increasing, non-overlapping order. */
  private firsts = new Float64Array(COLUMNS_FIRST)
  private lasts = new Float64Array(COLUMNS_FIRST)
  private seqs = new Float64Array(COLUMNS_FIRST)
  private offsets = new Float64Array(COLUMNS_FIRST)
  private byteCounts = new Float64Array(COLUMNS_FIRST)
  private head = 0
  private end = 0
  /** The record read last (by segment and offset, which never hold another record), decoded. */
  private lastRead: { seq: number; offset: number; entries: readonly Entry[] } | null = null

  constructor(
    private readonly dir: DurableDir,
    private readonly logger: Logger,
  ) {}

  /** Records held, for tests. */
  get recordCount(): number {
    return this.end - this.head
  }

  /**
   * A batch record holding entries first ..= last was written at `offset`
   * (header included, `bytes` long) in segment `seq`: it replaces every
   * entry from `first` on.
   */
  noteRecord(first: number, last: number, seq: number, offset: number, bytes: number): void {
    this.forgetFrom(first)
    if (this.end === this.firsts.length) this.grow()
    const i = this.end++
    this.firsts[i] = first
    this.lasts[i] = last
    this.seqs[i] = seq
    this.offsets[i] = offset
    this.byteCounts[i] = bytes
  }

  /** Entries from `index` on are gone (replaced, or cut at start-up). */
  forgetFrom(index: number): void {
    while (this.end > this.head && (this.firsts[this.end - 1] as number) >= index) this.end--
    if (this.end > this.head && (this.lasts[this.end - 1] as number) >= index) this.lasts[this.end - 1] = index - 1
  }

  /** Entries up to `index` are no longer read (compaction, or the segments holding them removed). */
  forgetThrough(index: number): void {
    while (this.head < this.end && (this.lasts[this.head] as number) <= index) this.head++
    if (this.head === this.end) this.head = this.end = 0
  }

  /** Forgets everything (a snapshot from the leader replaced the log). */
  clear(): void {
    this.head = this.end = 0
    this.lastRead = null
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] | null {
    const out: Entry[] = []
    let bytes = 0
    let next = lo
    let i = this.recordOf(lo)
    while (next < hi && i >= 0 && i < this.end && (this.firsts[i] as number) <= next) {
      const stored = this.read(i)
      if (stored === null) break
      const last = Math.min(this.lasts[i] as number, hi - 1)
      for (const e of stored) {
        if (e.index < next) continue
        if (e.index > last) break
        bytes += entryBytes(e)
        if (out.length > 0 && bytes > bytesMax) return out
        out.push(e)
        next = e.index + 1
      }
      if (next <= last) break // the record did not hold what the index says: stop at what was read
      i++
    }
    return out.length > 0 ? out : null
  }

  /** The live record holding `index`, or -1. */
  private recordOf(index: number): number {
    let lo = this.head
    let hi = this.end - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if ((this.lasts[mid] as number) < index) lo = mid + 1
      else if ((this.firsts[mid] as number) > index) hi = mid - 1
      else return mid
    }
    return -1
  }

  /** Record i's entries as stored, or null when it cannot be read (its segment removed, damage). */
  private read(i: number): readonly Entry[] | null {
    const seq = this.seqs[i] as number
    const offset = this.offsets[i] as number
    if (this.lastRead !== null && this.lastRead.seq === seq && this.lastRead.offset === offset) return this.lastRead.entries
    const name = segmentFileName(seq)
    let entries: readonly Entry[]
    try {
      const buf = this.dir.fs.readRangeSync(this.dir.file(name), offset, this.byteCounts[i] as number)
      const payload = readRecordAt(buf, 0)
      if (payload === null) throw new Error('no valid record there (checksum or length)')
      entries = decodeBatch(payload).entries
    } catch (error) {
      // A segment removed by compaction is expected now and then; anything else is worth a line.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn({ file: this.dir.file(name), offset, err: error }, 'could not read log entries back; the follower gets a snapshot')
      }
      return null
    }
    this.lastRead = { seq, offset, entries }
    return entries
  }

  private grow(): void {
    const live = this.end - this.head
    const size = Math.max(COLUMNS_FIRST, live * 2)
    const move = (from: Float64Array): Float64Array<ArrayBuffer> => {
      const to = new Float64Array(size)
      to.set(from.subarray(this.head, this.end))
      return to
    }
    this.firsts = move(this.firsts)
    this.lasts = move(this.lasts)
    this.seqs = move(this.seqs)
    this.offsets = move(this.offsets)
    this.byteCounts = move(this.byteCounts)
    this.head = 0
    this.end = live
  }
}
