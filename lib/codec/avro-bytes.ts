// Avro's binary primitives, written and read by hand: zigzag varint longs,
// length-prefixed bytes and strings, enum indexes, arrays. The log entry
// codec (entry-codec.ts) builds on these so that an entry is encoded once,
// into a buffer of exactly its size, and read back without avsc's
// intermediate records. The bytes are exactly what avsc writes for the same
// schema (tests compare the two).

/** Bytes of `n` as an Avro long (zigzag varint). `n` must be a safe integer. */
export function longBytes(n: number): number {
  if (n >= 0 && n < SMALL_LONG_LIMIT) {
    // Small non-negative values (indexes, terms, lengths): zigzag is n * 2, bitwise safe.
    const zigzag = n * 2
    return zigzag < 0x80 ? 1 : zigzag < 0x4000 ? 2 : zigzag < 0x200000 ? 3 : zigzag < 0x10000000 ? 4 : 5
  }
  let zigzag = n >= 0 ? n * 2 : -n * 2 - 1
  let bytes = 1
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128)
    bytes++
  }
  return bytes
}

/** Below this, a long's zigzag form fits in 31 bits and is written with bitwise operations. */
const SMALL_LONG_LIMIT = 0x40000000

/** Writes `n` at buf[offset] as an Avro long; returns the end offset. Throws for an unsafe integer. */
export function writeLong(buf: Buffer, offset: number, n: number): number {
  let at = offset
  if (n >= 0 && n < SMALL_LONG_LIMIT && (n | 0) === n) {
    let zigzag = n << 1
    while (zigzag >= 0x80) {
      buf[at++] = (zigzag & 0x7f) | 0x80
      zigzag >>>= 7
    }
    buf[at++] = zigzag
    return at
  }
  if (!isAvroLong(n)) throw new RangeError(`not an Avro long: ${n}`)
  let zigzag = n >= 0 ? n * 2 : -n * 2 - 1
  while (zigzag >= 128) {
    buf[at++] = (zigzag % 128) | 0x80
    zigzag = Math.floor(zigzag / 128)
  }
  buf[at++] = zigzag
  return at
}

/** avsc refuses longs beyond ±(2^53 − 2) (their zigzag form loses precision); so does writeLong. */
export const AVRO_LONG_MAX = Number.MAX_SAFE_INTEGER - 1

/** Whether `n` is a long avsc writes and reads: an integer within ±AVRO_LONG_MAX. */
export function isAvroLong(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) <= AVRO_LONG_MAX && (n as number) >= -AVRO_LONG_MAX
}

/** Strings and byte runs up to this length are copied by a loop: a Buffer.write or set() call costs more than the copy. */
const COPY_LOOP_MAX = 32

/** UTF-8 length of `s`; short ASCII strings (ids, addresses) without a call into C++. */
function utf8Length(s: string): number {
  if (s.length <= COPY_LOOP_MAX) {
    let i = 0
    while (i < s.length && s.charCodeAt(i) < 0x80) i++
    if (i === s.length) return i
  }
  return Buffer.byteLength(s, 'utf8')
}

/** Bytes of a string field: its UTF-8 length as a long, then the UTF-8. */
export function stringBytes(s: string): number {
  const utf8 = utf8Length(s)
  return longBytes(utf8) + utf8
}

export function writeString(buf: Buffer, offset: number, s: string): number {
  const utf8 = utf8Length(s)
  const at = writeLong(buf, offset, utf8)
  if (utf8 === s.length && utf8 <= COPY_LOOP_MAX) {
    for (let i = 0; i < utf8; i++) buf[at + i] = s.charCodeAt(i)
    return at + utf8
  }
  return at + buf.write(s, at, utf8, 'utf8')
}

export function writeBytes(buf: Buffer, offset: number, bytes: Uint8Array): number {
  const length = bytes.length
  const at = writeLong(buf, offset, length)
  if (length <= COPY_LOOP_MAX) for (let i = 0; i < length; i++) buf[at + i] = bytes[i] as number
  else buf.set(bytes, at)
  return at + length
}

/**
 * Reads Avro values from `buf` starting at `offset`. Every read checks the
 * buffer's end and throws a plain Error on malformed input (the caller wraps
 * it in its own error type): bad input from a peer or a damaged file never
 * reads past the buffer, and an array count is checked against the bytes
 * left before anything loops over it.
 */
export class AvroCursor {
  constructor(
    readonly buf: Buffer,
    public offset: number,
  ) {}

  /** Avro long: zigzag varint. Exact up to 2^53, the most avsc writes. */
  long(): number {
    const buf = this.buf
    let byte = buf[this.offset]
    // One-byte fast path: small counts, kinds, lengths, indexes below 64.
    if (byte !== undefined && byte < 0x80) {
      this.offset++
      return (byte & 1) === 0 ? byte / 2 : -(byte + 1) / 2
    }
    let result = 0
    let scale = 1
    for (let shift = 0; shift < 64; shift += 7) {
      byte = buf[this.offset]
      if (byte === undefined) throw new Error('input ends inside a value')
      this.offset++
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2
      scale *= 128
    }
    throw new Error(`varint too long at ${this.offset}`)
  }

  /** A length-prefixed byte run as a view (no copy): whatever holds it keeps `buf` alive. */
  bytes(): Buffer {
    const length = this.long()
    const end = this.offset + length
    if (length < 0 || end > this.buf.length) throw new Error(`bytes of length ${length} overrun the input at ${this.offset}`)
    const view = this.buf.subarray(this.offset, end)
    this.offset = end
    return view
  }

  string(): string {
    const length = this.long()
    const end = this.offset + length
    if (length < 0 || end > this.buf.length) throw new Error(`string of length ${length} overruns the input at ${this.offset}`)
    const s = length === 0 ? '' : this.buf.toString('utf8', this.offset, end)
    this.offset = end
    return s
  }

  /** An enum symbol or union branch index, checked against `count`. */
  index(count: number): number {
    const index = this.long()
    if (index < 0 || index >= count) throw new Error(`index ${index} out of range ${count} at ${this.offset}`)
    return index
  }

  /**
   * The item count of the next array block (0 at the end of the array). Every
   * item takes at least one byte, so a count above the bytes left is refused
   * before the caller loops over it.
   */
  blockCount(): number {
    let count = this.long()
    if (count < 0) {
      count = -count
      this.long() // block size in bytes, only useful for skipping
    }
    if (count > this.buf.length - this.offset) throw new Error(`array count ${count} exceeds the input at ${this.offset}`)
    return count
  }

  /** Reads an Avro array, block by block. */
  array<T>(item: () => T): T[] {
    const items: T[] = []
    for (let count = this.blockCount(); count !== 0; count = this.blockCount()) {
      for (let i = 0; i < count; i++) items.push(item())
    }
    return items
  }

  atEnd(): boolean {
    return this.offset === this.buf.length
  }
}
