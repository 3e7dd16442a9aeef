// A bounds-checked little-endian reader and a fixed-size writer, shared by the
// envelope codec and the snapshot codec. The reader checks every length against
// the bytes that remain before it slices or allocates, so hostile input can
// cost at most the size of the input itself; the failure it raises is built
// by the caller's factory, so each codec reports its own typed error.

export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n

/**
 * Thrown by a reader over a window of a longer input (ByteReader.window) when
 * a read runs past the window but not past the input: the caller keeps the
 * unfinished record and tries again with more bytes. One instance, no stack.
 */
export const NEED_MORE_BYTES: Error = Object.freeze(Object.assign(new Error('more bytes needed'), { stack: '' }))

export class ByteReader {
  private pos: number
  /** Bytes of the input that follow `end` but are not in `input` yet (a window's reader). */
  private moreBytes = 0

  constructor(
    public input: Buffer,
    private readonly fail: (message: string) => Error,
    start = 0,
    private end = input.length,
  ) {
    this.pos = start
  }

  /**
   * Reads `input` next, as the window of a longer input that has
   * `moreBytes` more bytes after it: a read that runs past the window but
   * not past those throws NEED_MORE_BYTES instead of failing, and counts are
   * checked against everything still to come.
   */
  window(input: Buffer, moreBytes: number): void {
    this.input = input
    this.pos = 0
    this.end = input.length
    this.moreBytes = moreBytes
  }

  get offset(): number {
    return this.pos
  }

  get remaining(): number {
    return this.end - this.pos
  }

  private need(count: number, what: string): number {
    if (count > this.end - this.pos) {
      if (count <= this.end - this.pos + this.moreBytes) throw NEED_MORE_BYTES
      throw this.fail(`truncated: ${what} needs ${count} bytes at offset ${this.pos}, ${this.end - this.pos} left`)
    }
    const at = this.pos
    this.pos += count
    return at
  }

  u8(what: string): number {
    return this.input[this.need(1, what)] as number
  }

  u32(what: string): number {
    return this.input.readUInt32LE(this.need(4, what))
  }

  i64(what: string): bigint {
    return this.input.readBigInt64LE(this.need(8, what))
  }

  /** Any float64 (a sorted set's score); the caller checks what it may hold. */
  f64(what: string): number {
    return this.input.readDoubleLE(this.need(8, what))
  }

  /** A non-negative safe integer stored as a float64 (indexes, versions, times). */
  uint53(what: string): number {
    const value = this.input.readDoubleLE(this.need(8, what))
    if (!Number.isSafeInteger(value) || value < 0) {
      throw this.fail(`${what} is not a non-negative integer: ${value}`)
    }
    return value
  }

  /** A float64 that must be a non-negative integer or +Infinity (a deadline, or none). */
  f64orInfinity(what: string): number {
    const value = this.input.readDoubleLE(this.need(8, what))
    if (value !== Infinity && !(Number.isInteger(value) && value >= 0)) {
      throw this.fail(`${what} is not a non-negative integer or Infinity: ${value}`)
    }
    return value
  }

  /** A u32 length followed by that many bytes, as a view into the input (no copy). */
  bytes(what: string): Buffer {
    const length = this.u32(what)
    const at = this.need(length, what)
    return this.input.subarray(at, at + length)
  }

  /** Skips what `bytes` would read; answers where the bytes start (they end at `offset`). */
  skipBytes(what: string): number {
    const length = this.u32(what)
    return this.need(length, what)
  }

  /** The same bytes as `bytes`, as a latin1 string: one char per byte, so binary-safe. */
  latin1(what: string): string {
    const length = this.u32(what)
    const at = this.need(length, what)
    return this.input.toString('latin1', at, at + length)
  }

  /** A u8 length followed by UTF-8 text. */
  shortString(what: string): string {
    const length = this.u8(what)
    const at = this.need(length, what)
    return this.input.toString('utf8', at, at + length)
  }

  /**
   * An element count, checked against the bytes left assuming each element
   * takes at least `elementBytesMin`, so a forged count cannot make the caller
   * allocate an array larger than the input could describe.
   */
  count(what: string, elementBytesMin: number, countMax: number): number {
    const count = this.u32(what)
    const left = this.remaining + this.moreBytes
    if (count > countMax || count * elementBytesMin > left) {
      throw this.fail(`${what} ${count} is impossible with ${left} bytes left (max ${countMax})`)
    }
    return count
  }

  /** An enum byte that must be below `limit`. */
  tag(what: string, limit: number): number {
    const value = this.u8(what)
    if (value >= limit) throw this.fail(`bad ${what} ${value} at offset ${this.pos - 1}`)
    return value
  }

  expectEnd(): void {
    if (this.pos !== this.end) throw this.fail(`${this.end - this.pos} trailing bytes at offset ${this.pos}`)
  }
}

/** Writes into a buffer whose exact size was computed beforehand. */
export class ByteWriter {
  pos = 0
  constructor(readonly buf: Buffer) {}

  u8(value: number): void {
    this.buf[this.pos] = value
    this.pos += 1
  }

  u32(value: number): void {
    this.buf.writeUInt32LE(value, this.pos)
    this.pos += 4
  }

  i64(value: bigint): void {
    this.buf.writeBigInt64LE(value, this.pos)
    this.pos += 8
  }

  f64(value: number): void {
    this.buf.writeDoubleLE(value, this.pos)
    this.pos += 8
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length)
    this.buf.set(value, this.pos)
    this.pos += value.length
  }

  /** The bytes as they are, without a length. */
  raw(value: Uint8Array): void {
    this.buf.set(value, this.pos)
    this.pos += value.length
  }

  latin1(value: string): void {
    this.u32(value.length)
    this.pos += this.buf.write(value, this.pos, value.length, 'latin1')
  }

  /** UTF-8 text whose byte length the caller measured and bounded to 255. */
  shortString(value: string, byteLength: number): void {
    this.u8(byteLength)
    this.pos += this.buf.write(value, this.pos, byteLength, 'utf8')
  }
}
