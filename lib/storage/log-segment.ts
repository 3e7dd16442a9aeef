// Log segment files: append-only runs of framed batch records, named by a
// sequence number (segment-0000000000000001.log). Only the newest segment is
// written; older ones are only read on start-up and deleted by compaction.
import { open, readFile, type FileHandle } from 'node:fs/promises'
import type { Logger } from '../util/logger.js'
import { assert } from '../util/assert.js'
import { StorageCorruptionError } from './errors.js'
import type { DurableDir } from './durable-dir.js'
import { encodeBatchInto, type LogBatch } from './entry-codec.js'
import {
  findValidRecordAfter,
  frameRecordInPlace,
  recordHeaderBytes,
  recordPayloadBytesMax,
  scanRecords,
} from './record-codec.js'

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
    for (;;) {
      const end = encodeBatchInto(batch, this.scratch, recordHeaderBytes)
      if (end >= 0) {
        const payloadBytes = end - recordHeaderBytes
        assert(payloadBytes <= recordPayloadBytesMax, () => `batch of ${payloadBytes} bytes exceeds the record limit`)
        frameRecordInPlace(this.scratch, payloadBytes)
        return this.scratch.subarray(0, end)
      }
      this.scratch = Buffer.allocUnsafe(this.scratch.length * 2)
    }
  }
}

/** The newest segment, open for appends. */
export class SegmentWriter {
  private constructor(
    private readonly dir: DurableDir,
    readonly seq: number,
    readonly name: string,
    private readonly handle: FileHandle,
    private sizeBytesNow: number,
  ) {}

  get sizeBytes(): number {
    return this.sizeBytesNow
  }

  /**
   * Creates segment `seq` holding `firstRecord`, durably: the file is fsynced
   * and so is the directory, or a crash could lose the new file's name.
   */
  static async create(dir: DurableDir, seq: number, firstRecord: Buffer): Promise<SegmentWriter> {
    const name = segmentFileName(seq)
    const handle = await dir.io('create', name, () => open(dir.file(name), 'wx'))
    const writer = new SegmentWriter(dir, seq, name, handle, 0)
    try {
      await dir.writeAll(handle, name, firstRecord, 0)
      await dir.sync(handle, name, firstRecord.length, false)
      await dir.syncDir()
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
    writer.sizeBytesNow = firstRecord.length
    return writer
  }

  static async reopen(dir: DurableDir, seq: number, sizeBytes: number): Promise<SegmentWriter> {
    const name = segmentFileName(seq)
    const handle = await dir.io('open', name, () => open(dir.file(name), 'r+'))
    return new SegmentWriter(dir, seq, name, handle, sizeBytes)
  }

  /** Appends one framed record and makes it durable with one fdatasync. */
  async append(record: Buffer): Promise<void> {
    const position = this.sizeBytesNow
    await this.dir.writeAll(this.handle, this.name, record, position)
    await this.dir.sync(this.handle, this.name, position + record.length, true)
    this.sizeBytesNow = position + record.length
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}

export interface SegmentRead {
  /** Bytes of valid records; the file is cut to this length if its tail was torn. */
  readonly validBytes: number
  readonly records: number
}

/**
 * Reads every record of a segment. A damaged record followed by nothing valid,
 * in the newest segment, is a write torn by a crash: it is cut off (the file
 * truncated durably) and logged. Damage anywhere else is corruption: throws
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
  const buf = await dir.io('read', name, () => readFile(path))
  const scan = scanRecords(buf, (payload, offset) => {
    try {
      visit(payload, offset)
    } catch (error) {
      if (error instanceof StorageCorruptionError) throw error
      throw new StorageCorruptionError(path, offset, `bad record: ${error instanceof Error ? error.message : String(error)}`)
    }
  })
  if (scan.validBytes === buf.length) return scan
  const nextValid = findValidRecordAfter(buf, scan.validBytes)
  if (!isNewest || nextValid >= 0) {
    const where = nextValid >= 0 ? `valid records follow at offset ${nextValid}` : 'in a segment that is not the newest'
    throw new StorageCorruptionError(path, scan.validBytes, `damaged record (checksum or length) and ${where}`)
  }
  const droppedBytes = buf.length - scan.validBytes
  logger.warn(
    { file: path, offset: scan.validBytes, droppedBytes, keptRecords: scan.records },
    `dropped torn tail of ${name}: ${droppedBytes} bytes from offset ${scan.validBytes} ` +
      `(an incomplete or damaged last record, never acknowledged); kept ${scan.records} records`,
  )
  await truncateDurably(dir, name, scan.validBytes)
  return scan
}

async function truncateDurably(dir: DurableDir, name: string, lengthBytes: number): Promise<void> {
  const handle = await dir.io('open', name, () => open(dir.file(name), 'r+'))
  try {
    await dir.io('truncate', name, () => handle.truncate(lengthBytes))
    await dir.sync(handle, name, lengthBytes, false)
  } finally {
    await handle.close()
  }
}
