// CRC32C (lib/util/checksum.ts): small inputs go through a JavaScript table,
// large ones through @node-rs/crc32; both must give the same checksums, or
// records written by one path would read back as damaged through the other.
import t from 'tap'
import { crc32c as nativeCrc32c } from '@node-rs/crc32'
import { CRC32C_TABLE_BYTES_MAX, crc32c, crc32cRange } from '../../lib/util/checksum.js'

/** A small deterministic generator (xorshift32), so a failing case replays. */
function bytesOf(seed: number, length: number): Buffer {
  let x = seed | 1
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

t.test('the standard check value: CRC32C of "123456789" is 0xE3069283', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
})

t.test('every length up to past the table limit checksums as the native library does, from any initial value', async (t) => {
  for (let length = 0; length <= CRC32C_TABLE_BYTES_MAX + 64; length++) {
    const data = bytesOf(length + 7, length)
    for (const initial of [0, 1, 0xe3069283, 0xffffffff]) {
      const expected = nativeCrc32c(data, initial) >>> 0
      if (crc32c(data, initial) !== expected) return t.equal(crc32c(data, initial), expected, `length ${length}, initial ${initial}`)
    }
  }
  t.pass('all equal')
})

t.test('a range checksums as the same bytes on their own, and chains as one checksum of the whole', async (t) => {
  const data = bytesOf(99, 700)
  for (const [start, end] of [[0, 4], [3, 3], [8, 200], [8, 8 + CRC32C_TABLE_BYTES_MAX + 1], [100, 700]] as const) {
    t.equal(crc32cRange(data, start, end), nativeCrc32c(data.subarray(start, end)) >>> 0, `[${start}, ${end})`)
  }
  t.equal(crc32cRange(data, 4, 180, crc32cRange(data, 0, 4)), nativeCrc32c(data.subarray(0, 180)) >>> 0, 'small chained')
  t.equal(crc32cRange(data, 4, 700, crc32cRange(data, 0, 4)), nativeCrc32c(data.subarray(0, 700)) >>> 0, 'large chained')
})
