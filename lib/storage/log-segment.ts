// Log segment files: append-only runs of framed batch records, named by a
// sequence number (segment-0000000000000001.log). Only the newest segment is
// written; older ones are only read on start-up and deleted by compaction.
//
// Preallocation: a segment is normally created ahead of need, in the
// background, as a spare file (next-segment.prealloc) of segmentBytesMax real
// zeros, fsynced whole. Appending then overwrites blocks that already exist,
// so an fdatasync flushes data only, no size change or block allocation
// through the journal (measured 25-50 % cheaper per fdatasync here; etcd
// preallocates its WAL segments for the same reason). Zeros rather than
// fallocate(): Node has no fallocate, and a sparse or unwritten extent would
// still be allocated (and journalled) on the first write. A segment therefore
// ends in zeros after its last record; recovery reads a zero tail as the
// clean end of the log.
import type { Logger } from '../util/logger.js'
import { fail } from '../util/assert.js'
import { StorageCorruptionError } from './errors.js'
import { tmpSuffix, type DurableDir } from './durable-dir.js'
import type { DiskFile } from './file-system.js'
import { batchPayloadBytes, encodeBatchInto, type LogBatch } from './entry-codec.js'
import {
  endOfNonZero,
  findValidRecordAfter,
  frameRecordInPlace,
  recordHeaderBytes,
  recordPayloadBytesMax,
  scanRecords,
} from './record-codec.js'

/** The preallocated next segment; it only ever holds zeros until it is renamed into the log. */
export const spareSegmentFileName = 'next-segment.prealloc'

/** Zero-filling is done in chunks of this size, checking for close() between them. */
const zeroChunk = Buffer.alloc(1024 * 1024)

const namePattern = /^segment-(\d{16})\.log$/

export function segmentFileName(seq: number): string {
  return `segment-${String(seq).padStart(16, '0')}.log`
}

/** The sequence number a file name stands for, or null for other files. */
export function parseSegmentFileName(name: string): number | null {
  const match = namePattern.exec(name)
  return match?.[1] === undefined ? null : Number(match[1])
}

/**
 * Encodes batches into framed records in one reusable buffer, so that a
 * persist() allocates no per-call scratch. The returned view is valid until
 * the next call; the storage writes one record at a time, so that is enough.
 */
export class BatchRecordEncoder {
  private scratch = Buffer.allocUnsafe(64 * 1024)

  encode(batch: LogBatch): Buffer {
    const payloadBytes = batchPayloadBytes(batch)
    if (payloadBytes > recordPayloadBytesMax) fail(`batch of ${payloadBytes} bytes exceeds the record limit`)
    const end = recordHeaderBytes + payloadBytes
    if (end > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(end, this.scratch.length * 2))
    const written = encodeBatchInto(batch, this.scratch, recordHeaderBytes)
    if (written !== end) fail(`batch encoded to ${written - recordHeaderBytes} bytes, sized ${payloadBytes}`)
    frameRecordInPlace(this.scratch, payloadBytes)
    return this.scratch.subarray(0, end)
  }
}

/** The newest segment, open for appends. */
export class SegmentWriter {
  private constructor(
    private readonly dir: DurableDir,
    readonly seq: number,
    readonly name: string,
    private readonly handle: DiskFile,
    /** Where the log's data ends: the next record goes here. */
    private sizeBytesNow: number,
    /** The file's length; past sizeBytes it is preallocated zeros. */
    private fileBytesNow: number,
  ) {}

  get sizeBytes(): number {
    return this.sizeBytesNow
  }

  get fileBytes(): number {
    return this.fileBytesNow
  }

  /**
   * Creates segment `seq` holding `firstRecords` without preallocating it
   * (there is no spare ready), durably: the file is fsynced and so is the
   * directory, or a crash could lose the new file's name.
   */
  static async create(dir: DurableDir, seq: number, firstRecords: Buffer): Promise<SegmentWriter> {
    const name = segmentFileName(seq)
    const handle = await dir.io('create', name, () => dir.fs.open(dir.file(name), 'createNew', { dsync: dir.appendDsync }))
    const writer = new SegmentWriter(dir, seq, name, handle, 0, 0)
    try {
      await dir.writeAll(handle, name, firstRecords, 0)
      await dir.sync(handle, name, firstRecords.length, false)
      await dir.syncDir()
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
    writer.sizeBytesNow = firstRecords.length
    writer.fileBytesNow = firstRecords.length
    return writer
  }

  /**
   * Makes the spare (fsynced zeros of `spareBytes`) segment `seq` and writes
   * `firstRecords` into it. Rename, directory fsync, then write: the rename is
   * durable before any data is, so the spare's name never holds data and a
   * spare found on open is always clean zeros (were the record durable and
   * the rename lost, a later adoption would leave the old record's leftover
   * bytes behind its own). A crash after the rename leaves a newest segment
   * of zeros only, which recovery treats as an empty segment (opening writes
   * its hard-state record).
   */
  static async adoptSpare(dir: DurableDir, seq: number, spareBytes: number, firstRecords: Buffer): Promise<SegmentWriter> {
    const name = segmentFileName(seq)
    await dir.rename(spareSegmentFileName, name)
    await dir.syncDir()
    const handle = await dir.open(name, 'update', dir.appendDsync)
    const writer = new SegmentWriter(dir, seq, name, handle, 0, spareBytes)
    try {
      await writer.append(firstRecords)
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
    return writer
  }

  static async reopen(dir: DurableDir, seq: number, sizeBytes: number, fileBytes: number): Promise<SegmentWriter> {
    const name = segmentFileName(seq)
    const handle = await dir.open(name, 'update', dir.appendDsync)
    return new SegmentWriter(dir, seq, name, handle, sizeBytes, fileBytes)
  }

  /**
   * Writes one framed record at the end of the data and returns when it is
   * durable: one write syscall on a file opened O_DSYNC (header and payload
   * are one buffer), so one thread-pool round trip per persist.
   */
  async append(record: Buffer): Promise<void> {
    const position = this.sizeBytesNow
    const end = position + record.length
    await this.dir.writeDurably(this.handle, this.name, record, position, end)
    this.sizeBytesNow = end
    this.fileBytesNow = Math.max(this.fileBytesNow, end)
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}

/**
 * Writes the spare segment: `segmentBytes` of zeros under a tmp name, one
 * fsync (size included), then renamed to the spare name. A crash before the
 * rename leaves a `*.tmp`, which recovery deletes; so a spare that exists is
 * complete. The rename needs no directory fsync: losing it only loses the
 * spare, and adopting it fsyncs the directory anyway. Returns false when
 * `cancelled()` turned true (the storage is closing) before it finished.
 */
export async function preallocateSpare(dir: DurableDir, segmentBytes: number, cancelled: () => boolean): Promise<boolean> {
  const tmpName = spareSegmentFileName + tmpSuffix
  const handle = await dir.io('create', tmpName, () => dir.fs.open(dir.file(tmpName), 'truncate'))
  let complete = false
  try {
    for (let position = 0; position < segmentBytes && !cancelled(); position += zeroChunk.length) {
      await dir.writeAll(handle, tmpName, zeroChunk.subarray(0, Math.min(zeroChunk.length, segmentBytes - position)), position)
    }
    if (!cancelled()) {
      await dir.sync(handle, tmpName, segmentBytes, false)
      complete = true
    }
  } finally {
    await handle.close()
  }
  if (!complete) {
    await dir.remove(tmpName)
    return false
  }
  await dir.rename(tmpName, spareSegmentFileName)
  return true
}

export interface SegmentRead {
  /** Bytes of valid records: where the log's data in this file ends. */
  readonly validBytes: number
  readonly records: number
  /** The file's length; the bytes after validBytes are zeros (preallocated, or a zeroed torn tail). */
  readonly fileBytes: number
}

/**
 * Reads every record of a segment. Zeros after the last record are the clean
 * end (preallocated space). Other bytes after it, with no valid record among
 * them, in the newest segment, are a write torn by a crash: they are zeroed
 * durably and logged. Damage anywhere else is corruption: throws
 * StorageCorruptionError naming the file and offset. `visit` may throw to
 * report a record that passed its checksum but makes no sense.
 */
export async function readSegment(
  dir: DurableDir,
  name: string,
  isNewest: boolean,
  logger: Logger,
  visit: (payload: Buffer, offset: number) => void,
): Promise<SegmentRead> {
  const path = dir.file(name)
  const buf = await dir.read(name)
  const scan = scanRecords(buf, (payload, offset) => {
    try {
      visit(payload, offset)
    } catch (error) {
      if (error instanceof StorageCorruptionError) throw error
      throw new StorageCorruptionError(path, offset, `bad record: ${error instanceof Error ? error.message : String(error)}`)
    }
  })
  const read = { ...scan, fileBytes: buf.length }
  const dataEnd = endOfNonZero(buf, scan.validBytes)
  if (dataEnd === scan.validBytes) {
    if (isNewest) await syncWhatWasRead(dir, name, scan.validBytes)
    return read
  }
  const nextValid = findValidRecordAfter(buf, scan.validBytes, dataEnd)
  if (!isNewest || nextValid >= 0) {
    const where = nextValid >= 0 ? `valid records follow at offset ${nextValid}` : 'in a segment that is not the newest'
    throw new StorageCorruptionError(path, scan.validBytes, `damaged record (checksum or length) and ${where}`)
  }
  const droppedBytes = dataEnd - scan.validBytes
  logger.warn(
    { file: path, offset: scan.validBytes, droppedBytes, keptRecords: scan.records },
    `dropped torn tail of ${name}: ${droppedBytes} bytes from offset ${scan.validBytes} ` +
      `(an incomplete or damaged last record, never acknowledged); kept ${scan.records} records`,
  )
  await zeroDurably(dir, name, scan.validBytes, dataEnd)
  return read
}

/**
 * The newest segment's last record may be in the page cache only: a process
 * killed in the middle of its O_DSYNC write leaves the write there, whole,
 * and never flushed. Recovery just read it as part of the log, and this node
 * will vote and acknowledge on it, so it is made durable first; otherwise a
 * power loss after start-up takes back a record the node acted on, and
 * leaves a hole in front of the records appended after it (runtime seed 97).
 */
async function syncWhatWasRead(dir: DurableDir, name: string, validBytes: number): Promise<void> {
  const handle = await dir.open(name, 'update')
  try {
    await dir.sync(handle, name, validBytes, true)
  } finally {
    await handle.close()
  }
}

/**
 * Overwrites a torn tail with zeros (and fdatasyncs) rather than truncating
 * the file: a preallocated segment keeps its blocks, and one rule holds for
 * every segment — after the last record there are only zeros — so the next
 * start-up sees a clean end, and a shorter record written over the torn one
 * cannot leave its leftover bytes behind as a fresh "torn tail".
 */
async function zeroDurably(dir: DurableDir, name: string, fromBytes: number, toBytes: number): Promise<void> {
  const handle = await dir.open(name, 'update')
  try {
    for (let position = fromBytes; position < toBytes; position += zeroChunk.length) {
      await dir.writeAll(handle, name, zeroChunk.subarray(0, Math.min(zeroChunk.length, toBytes - position)), position)
    }
    await dir.sync(handle, name, fromBytes, true)
  } finally {
    await handle.close()
  }
}
