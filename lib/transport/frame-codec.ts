// Length-prefixed frames over a byte stream: a 4-byte big-endian payload
// length, then the payload. The decoder is incremental (socket chunks split
// and merge frames arbitrarily) and checks every length against
// `frameBytesMax` before it allocates anything, so a bogus header cannot make
// a node reserve gigabytes or wait forever for bytes that never come.

export const FRAME_HEADER_BYTES = 4
/** Large enough for a snapshot chunk or a big Append batch, small enough to bound memory per peer. */
export const FRAME_BYTES_MAX_DEFAULT = 64 * 1024 * 1024
/** The largest length the 4-byte header can express. */
export const FRAME_BYTES_LIMIT = 0xffffffff

export class FrameError extends Error {
  readonly code: 'ERR_FRAME_TOO_LARGE' | 'ERR_FRAME_EMPTY'
  constructor(code: FrameError['code'], message: string) {
    super(message)
    this.name = 'FrameError'
    this.code = code
  }
}

/** Writes the header for a payload of `payloadBytes` at `frame[0..4)`. */
export function writeFrameHeader(frame: Buffer, payloadBytes: number): void {
  frame.writeUInt32BE(payloadBytes, 0)
}

/** A frame holding a copy of `payload`; the hot path (wire-codec.ts) encodes in place instead. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(frame, payload.length)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

/**
 * Splits a byte stream into frame payloads. `push` returns the complete
 * payloads found so far, or a FrameError after which the stream is unusable
 * (the caller closes the connection). A payload wholly inside one chunk is a
 * view of that chunk (no copy); one spanning chunks is assembled in a buffer
 * allocated once its length has passed the check.
 */
export class FrameDecoder {
  private frameBytesMax: number
  /** Bytes of an unfinished header (fewer than 4). */
  private header: Buffer = Buffer.alloc(FRAME_HEADER_BYTES)
  private headerBytes = 0
  /** The payload being assembled across chunks, or null between frames. */
  private partial: Buffer | null = null
  private partialBytes = 0
  private failed: FrameError | null = null

  constructor(frameBytesMax: number = FRAME_BYTES_MAX_DEFAULT) {
    this.frameBytesMax = frameBytesMax
  }

  /** Tightened before authentication, widened after it. */
  setFrameBytesMax(frameBytesMax: number): void {
    this.frameBytesMax = frameBytesMax
  }

  /** Bytes held for unfinished frames: at most frameBytesMax + 4. */
  bufferedBytes(): number {
    return this.headerBytes + this.partialBytes
  }

  push(chunk: Buffer): Buffer[] | FrameError {
    if (this.failed !== null) return this.failed
    const frames: Buffer[] = []
    let pos = 0
    while (pos < chunk.length) {
      if (this.partial !== null) {
        pos = this.fillPartial(chunk, pos, frames)
        continue
      }
      if (this.headerBytes === 0 && chunk.length - pos >= FRAME_HEADER_BYTES) {
        const length = chunk.readUInt32BE(pos)
        const error = this.check(length)
        if (error !== null) return this.fail(error)
        pos += FRAME_HEADER_BYTES
        if (chunk.length - pos >= length) {
          frames.push(chunk.subarray(pos, pos + length))
          pos += length
        } else {
          this.partial = Buffer.allocUnsafe(length)
        }
        continue
      }
      const error = this.readHeaderByte(chunk[pos] as number)
      pos += 1
      if (error !== null) return this.fail(error)
    }
    return frames
  }

  private readHeaderByte(byte: number): FrameError | null {
    this.header[this.headerBytes++] = byte
    if (this.headerBytes < FRAME_HEADER_BYTES) return null
    this.headerBytes = 0
    const length = this.header.readUInt32BE(0)
    const error = this.check(length)
    if (error === null) this.partial = Buffer.allocUnsafe(length)
    return error
  }

  private fillPartial(chunk: Buffer, pos: number, frames: Buffer[]): number {
    const partial = this.partial as Buffer
    const take = Math.min(partial.length - this.partialBytes, chunk.length - pos)
    chunk.copy(partial, this.partialBytes, pos, pos + take)
    this.partialBytes += take
    if (this.partialBytes === partial.length) {
      frames.push(partial)
      this.partial = null
      this.partialBytes = 0
    }
    return pos + take
  }

  private check(length: number): FrameError | null {
    if (length === 0) return new FrameError('ERR_FRAME_EMPTY', 'empty frame')
    if (length > this.frameBytesMax) {
      return new FrameError('ERR_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds frameBytesMax ${this.frameBytesMax}`)
    }
    return null
  }

  private fail(error: FrameError): FrameError {
    this.failed = error
    this.partial = null
    this.partialBytes = 0
    return error
  }
}
