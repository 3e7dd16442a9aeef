// Framing of records in log segments: [payloadBytes u32le][crc32c u32le][payload].
// The checksum covers the length field as well as the payload, so a damaged
// length is caught too instead of sending the reader off to a wrong offset.
import { crc32cRange } from '../util/checksum.js'

export const recordHeaderBytes = 8
/** Bounds every length read from disk before memory is taken; a batch is far smaller. */
export const recordPayloadBytesMax = 256 * 1024 * 1024

/** Writes the header for `payloadBytes` bytes that already sit at buf[8 ..]. */
export function frameRecordInPlace(buf: Buffer, payloadBytes: number): void {
  buf.writeUInt32LE(payloadBytes, 0)
  buf.writeUInt32LE(crc32cRange(buf, recordHeaderBytes, recordHeaderBytes + payloadBytes, crc32cRange(buf, 0, 4)), 4)
}

/** The payload of a valid record starting at `offset`, or null if none is there. */
export function readRecordAt(buf: Buffer, offset: number): Buffer | null {
  if (offset + recordHeaderBytes > buf.length) return null
  const payloadBytes = buf.readUInt32LE(offset)
  // Zero is never written (a payload holds at least its type byte): this rejects
  // zero-filled space, the usual look of a torn tail, without a checksum.
  if (payloadBytes === 0 || payloadBytes > recordPayloadBytesMax) return null
  const end = offset + recordHeaderBytes + payloadBytes
  if (end > buf.length) return null
  const crc = crc32cRange(buf, offset + recordHeaderBytes, end, crc32cRange(buf, offset, offset + 4))
  return crc === buf.readUInt32LE(offset + 4) ? buf.subarray(offset + recordHeaderBytes, end) : null
}

export interface RecordScan {
  /** Offset just past the last valid record of the unbroken run from the start. */
  readonly validBytes: number
  /** How many valid records that run holds. */
  readonly records: number
}

/** Visits the valid records from the start of `buf` until the end or the first bad one. */
export function scanRecords(buf: Buffer, visit: (payload: Buffer, offset: number) => void): RecordScan {
  let offset = 0
  let records = 0
  for (;;) {
    const payload = readRecordAt(buf, offset)
    if (payload === null) return { validBytes: offset, records }
    visit(payload, offset)
    records += 1
    offset += recordHeaderBytes + payload.length
  }
}

/**
 * The first offset in (from, end) where a valid record starts, or -1. Used
 * only after damage was found, to tell a torn tail (nothing valid follows)
 * from corruption in the middle (valid records follow the damage). `end` is
 * where the non-zero bytes end: a record's length field is never zero, so no
 * record can start in the zero-filled space after it.
 */
export function findValidRecordAfter(buf: Buffer, from: number, end = buf.length): number {
  for (let offset = from + 1; offset < end && offset + recordHeaderBytes < buf.length; offset++) {
    if (readRecordAt(buf, offset) !== null) return offset
  }
  return -1
}

const zeroChunkBytes = 64 * 1024
const zeroChunk = Buffer.alloc(zeroChunkBytes)

/**
 * The offset just past the last non-zero byte at or after `from` (`from`
 * itself if all of buf[from ..] is zero). A preallocated segment is zero
 * after its last record, so this is where written data ends. Compares whole
 * chunks with memcmp first: a 64 MiB segment is checked in milliseconds.
 */
export function endOfNonZero(buf: Buffer, from: number): number {
  let end = buf.length
  while (end > from) {
    const start = Math.max(from, end - zeroChunkBytes)
    if (buf.compare(zeroChunk, 0, end - start, start, end) !== 0) break
    end = start
  }
  while (end > from && buf[end - 1] === 0) end--
  return end
}
