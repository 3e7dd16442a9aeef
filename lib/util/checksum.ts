// CRC32C for records on disk and chunks on the wire. @node-rs/crc32 ships a
// prebuilt, hardware-accelerated implementation (about 3 GiB/s here), far
// ahead of a table-driven loop in JavaScript on anything large. A small
// input (a one-client SET's log record, a length field) goes through the
// table instead: a call into native code costs more than the bytes when its
// path is cold, as it is on every node at one client (~1.5 µs a record
// less, bench/README.md section 46).
import { crc32c as nativeCrc32c } from '@node-rs/crc32'

/** Inputs up to this many bytes are checksummed in JavaScript. */
export const CRC32C_TABLE_BYTES_MAX = 256

/** The reflected CRC32C (Castagnoli) table: 1 KiB, 16 cache lines. */
const table = ((): Int32Array => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[n] = c
  }
  return t
})()

/** CRC32C of data[start, end), continuing from `initial` (the CRC of what precedes it). */
export function crc32cRange(data: Uint8Array, start: number, end: number, initial = 0): number {
  if (end - start > CRC32C_TABLE_BYTES_MAX) {
    const range = start === 0 && end === data.length ? data : data.subarray(start, end)
    return nativeCrc32c(range as Buffer, initial) >>> 0
  }
  let crc = ~initial
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ (table[(crc ^ (data[i] as number)) & 0xff] as number)
  return ~crc >>> 0
}

export function crc32c(data: Uint8Array, initial = 0): number {
  return crc32cRange(data, 0, data.length, initial)
}
