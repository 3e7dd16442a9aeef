// Turns the bytes of one client connection into commands (arrays of Buffers).
//
// redis-parser splits each command into its bulk strings, but it has no
// guards at all: a huge `*` count throws a RangeError out of execute(), a
// huge `$` length buffers without bound, `$1x` is read as a length, a
// negative count reaches `new Array(-3)`, an element may be any RESP type
// (a nested array, an integer), the CRLF after a bulk string is skipped
// unchecked, and it knows nothing about inline commands. So the reader scans
// every header itself first (`*N`, `$L` and the CRLF after each bulk; the
// payload bytes are jumped over by their length, never looked at), bounds
// every length before anything takes memory for it, and answers a bad header
// with Redis' own error. Only a command it has seen complete goes to the
// parser, as one copy of the command's bytes: the parser then returns the
// arguments as views into that copy (one allocation per command, nothing
// keeps a socket chunk alive), and never holds a partial command itself, so
// its shared buffer pool and the timer that shrinks it (which keeps a process
// alive for seconds after a value spanning chunks) are never used. The cost is
// the header bytes read twice, by the guard and by the parser.
// Commands are handed out synchronously as they complete, so a command
// (AUTH) can change the limits that apply to the next one in the same read,
// as in Redis.
//
// A client request is an array of bulk strings (`*N\r\n$L\r\n...`) or an
// inline line (`SET k v\n`, as typed in telnet); anything else is a protocol
// error, which the caller answers with `-ERR Protocol error: …` and a close.
import RedisParser from 'redis-parser'

export interface RequestLimits {
  /** Largest bulk string (Redis' proto-max-bulk-len). */
  readonly bulkBytesMax: number
  /** Most elements in one request array. */
  readonly argsMax: number
  /** Longest inline command line (Redis: PROTO_INLINE_MAX_SIZE). */
  readonly inlineBytesMax: number
  /** Most bytes of one incomplete command held for a client (client-query-buffer-limit). */
  readonly queryBufferBytesMax: number
  /** The same limits while a password is required and not yet given (CVE-2021-32675). */
  readonly unauthArgsMax: number
  readonly unauthBulkBytesMax: number
  readonly unauthQueryBufferBytesMax: number
}

export const requestLimitsDefault: RequestLimits = Object.freeze({
  bulkBytesMax: 512 * 1024 * 1024,
  argsMax: 1024 * 1024,
  inlineBytesMax: 64 * 1024,
  queryBufferBytesMax: 1024 * 1024 * 1024,
  unauthArgsMax: 10,
  unauthBulkBytesMax: 16 * 1024,
  unauthQueryBufferBytesMax: 1024 * 1024,
})

/** A malformed or oversized request: reply `-ERR Protocol error: <message>` and close. */
export class ProtocolError extends Error {
  readonly code = 'EPROTOCOL'
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

const enum State {
  Boundary,
  ArrayLen,
  ArrayLf,
  BulkType,
  BulkLen,
  BulkLf,
  BulkBody,
  BulkCr,
  BulkEndLf,
  Inline,
}

const CR = 13
const LF = 10
const STAR = 42
const DOLLAR = 36
const MINUS = 45
// A length line longer than this cannot hold a valid length: fail early
// instead of waiting for 64 KiB of digits.
const lengthLineBytesMax = 20

export type CommandSink = (args: Buffer[]) => void

export class RequestReader {
  private state = State.Boundary
  // The number being read on a `*` or `$` line.
  private lengthValue = 0
  private lengthDigits = 0
  private lengthNegative = false
  private lengthLineBytes = 0
  private argsLeft = 0
  private bodyLeft = 0
  // Bytes of the incomplete command seen so far (the query buffer).
  private commandBytes = 0
  // Arguments of the command in progress (its `*` count).
  private argsCount = 0
  private readonly parser: RedisParser
  // What the parser returned for the command just fed to it.
  private parsed: unknown = null
  // The bytes of a command that began in an earlier chunk, in order.
  private pieces: Buffer[] = []
  private inlineChunks: Buffer[] = []
  private inlineBytes = 0
  private stopped = false
  /** Below this many bytes a command is within both query-buffer limits. */
  private readonly queryBufferBytesChecked: number

  constructor(
    private readonly limits: RequestLimits,
    private readonly isAuthenticated: () => boolean,
    private readonly sink: CommandSink,
  ) {
    this.queryBufferBytesChecked = Math.min(limits.queryBufferBytesMax, limits.unauthQueryBufferBytesMax)
    this.parser = new RedisParser({
      returnBuffers: true,
      returnReply: (reply: unknown) => {
        this.parsed = reply
      },
      // Never called for bytes the guard has validated; if it were, the command is refused.
      returnError: () => {
        this.parsed = null
      },
    })
  }

  /** No more commands are handed out (QUIT, or the connection is closing). */
  stop(): void {
    this.stopped = true
  }

  /** Bytes held for the command not yet complete. */
  get pendingBytes(): number {
    return this.commandBytes
  }

  /**
   * Scans one chunk, handing each complete command to the sink. Returns a
   * ProtocolError when the stream is bad; the reader must then not be fed again.
   */
  feed(chunk: Buffer): ProtocolError | null {
    try {
      return this.scan(chunk)
    } catch (error) {
      // Nothing here should throw on any input (the guard bounds every count
      // before redis-parser's `new Array(count)`); if it does, the stream is bad, not the node.
      if (error instanceof RangeError) return new ProtocolError('invalid request')
      throw error
    }
  }

  private scan(chunk: Buffer): ProtocolError | null {
    let i = 0
    // Where the command in progress starts in this chunk (0 when it began in an earlier one).
    let commandFrom = 0
    const end = chunk.length
    while (i < end && !this.stopped) {
      switch (this.state) {
        case State.Boundary: {
          commandFrom = i
          this.commandBytes = 0
          if (chunk[i] === STAR) {
            this.startLength()
            this.state = State.ArrayLen
            i++
            this.commandBytes++
          } else {
            this.state = State.Inline
            this.inlineChunks = []
            this.inlineBytes = 0
          }
          break
        }
        case State.ArrayLen:
        case State.BulkLen: {
          const byte = chunk[i++] as number
          this.commandBytes++
          const error = this.lengthByte(byte)
          if (error !== null) return error
          break
        }
        case State.ArrayLf: {
          if (chunk[i++] !== LF) return new ProtocolError('invalid multibulk length')
          this.commandBytes++
          const count = this.arrayCount()
          if (count instanceof ProtocolError) return count
          if (count <= 0) {
            // `*0` and `*-1` are empty requests that Redis skips.
            this.pieces.length = 0
            this.commandBytes = 0
            this.state = State.Boundary
            break
          }
          this.argsLeft = count
          this.argsCount = count
          this.state = State.BulkType
          break
        }
        case State.BulkType: {
          const byte = chunk[i++] as number
          this.commandBytes++
          if (byte !== DOLLAR) return new ProtocolError(`expected '$', got '${printable(byte)}'`)
          this.startLength()
          this.state = State.BulkLen
          break
        }
        case State.BulkLf: {
          if (chunk[i++] !== LF) return new ProtocolError('invalid bulk length')
          this.commandBytes++
          const length = this.bulkLength()
          if (length instanceof ProtocolError) return length
          this.bodyLeft = length
          this.state = length === 0 ? State.BulkCr : State.BulkBody
          break
        }
        case State.BulkBody: {
          const take = Math.min(this.bodyLeft, end - i)
          i += take
          this.bodyLeft -= take
          this.commandBytes += take
          if (this.bodyLeft === 0) this.state = State.BulkCr
          break
        }
        case State.BulkCr: {
          if (chunk[i++] !== CR) return new ProtocolError('expected CRLF after bulk string')
          this.commandBytes++
          this.state = State.BulkEndLf
          break
        }
        case State.BulkEndLf: {
          if (chunk[i++] !== LF) return new ProtocolError('expected CRLF after bulk string')
          this.commandBytes++
          this.argsLeft--
          if (this.argsLeft > 0) {
            this.state = State.BulkType
            break
          }
          this.state = State.Boundary
          const error = this.completeArray(chunk, commandFrom, i)
          if (error !== null) return error
          break
        }
        case State.Inline: {
          const result = this.inlineBytesFrom(chunk, i)
          if (result instanceof ProtocolError) return result
          i = result
          break
        }
      }
      // Asking whether the client is authenticated costs a call: only past the smaller limit.
      if (this.commandBytes > this.queryBufferBytesChecked) {
        const limit = this.isAuthenticated() ? this.limits.queryBufferBytesMax : this.limits.unauthQueryBufferBytesMax
        if (this.commandBytes > limit) return new ProtocolError('query buffer limit exceeded')
      }
    }
    if (!this.stopped && this.state !== State.Boundary && this.state !== State.Inline && commandFrom < end) {
      // An array command continues in the next chunk: hold its bytes so far.
      // A small tail of a large chunk is copied, so as not to keep the chunk alive.
      const piece = chunk.subarray(commandFrom)
      this.pieces.push(piece.length * 2 < chunk.length ? Buffer.from(piece) : piece)
    }
    return null
  }

  /**
   * The command that ends at `to` in `chunk` is complete and validated: one
   * copy of its bytes goes to redis-parser, whose arguments are views into it.
   */
  private completeArray(chunk: Buffer, from: number, to: number): ProtocolError | null {
    let bytes: Buffer
    if (this.pieces.length === 0) {
      bytes = Buffer.from(chunk.subarray(from, to))
    } else {
      this.pieces.push(chunk.subarray(0, to))
      bytes = Buffer.concat(this.pieces)
      this.pieces.length = 0
    }
    this.commandBytes = 0
    // One whole array of bulk strings: execute() returns it synchronously
    // and keeps no reference to `bytes` afterwards (its buffer is null
    // again; test/server/request-reader.test.ts pins this).
    this.parser.execute(bytes)
    const args = this.parsed as Buffer[] | null
    this.parsed = null
    if (!Array.isArray(args) || args.length !== this.argsCount) return new ProtocolError('invalid request')
    this.sink(args)
    return null
  }

  private startLength(): void {
    this.lengthValue = 0
    this.lengthDigits = 0
    this.lengthNegative = false
    this.lengthLineBytes = 0
  }

  private lengthByte(byte: number): ProtocolError | null {
    const isArray = this.state === State.ArrayLen
    const what = isArray ? 'invalid multibulk length' : 'invalid bulk length'
    if (++this.lengthLineBytes > lengthLineBytesMax) return new ProtocolError(what)
    if (byte === CR) {
      if (this.lengthDigits === 0) return new ProtocolError(what)
      this.state = isArray ? State.ArrayLf : State.BulkLf
      return null
    }
    if (byte === MINUS && this.lengthLineBytes === 1) {
      this.lengthNegative = true
      return null
    }
    if (byte < 48 || byte > 57) return new ProtocolError(what)
    this.lengthDigits++
    // 18 digits stay exact in a double and are far above every limit.
    if (this.lengthDigits > 18) return new ProtocolError(what)
    this.lengthValue = this.lengthValue * 10 + (byte - 48)
    return null
  }

  private arrayCount(): number | ProtocolError {
    if (this.lengthNegative) return -1
    const count = this.lengthValue
    if (!this.isAuthenticated() && count > this.limits.unauthArgsMax) {
      return new ProtocolError('unauthenticated multibulk length')
    }
    if (count > this.limits.argsMax) return new ProtocolError('invalid multibulk length')
    return count
  }

  private bulkLength(): number | ProtocolError {
    if (this.lengthNegative) return new ProtocolError('invalid bulk length')
    const length = this.lengthValue
    if (!this.isAuthenticated() && length > this.limits.unauthBulkBytesMax) {
      return new ProtocolError('unauthenticated bulk length')
    }
    if (length > this.limits.bulkBytesMax) return new ProtocolError('invalid bulk length')
    return length
  }

  // Collects an inline line up to `\n`; returns the index after the consumed bytes.
  private inlineBytesFrom(chunk: Buffer, from: number): number | ProtocolError {
    const newline = chunk.indexOf(LF, from)
    const stop = newline === -1 ? chunk.length : newline
    this.inlineBytes += stop - from
    this.commandBytes += stop - from
    if (this.inlineBytes > this.limits.inlineBytesMax) return new ProtocolError('too big inline request')
    this.inlineChunks.push(chunk.subarray(from, stop))
    if (newline === -1) {
      // Keep a copy: the chunk's memory belongs to the socket.
      const last = this.inlineChunks.pop() as Buffer
      this.inlineChunks.push(Buffer.from(last))
      return chunk.length
    }
    let line = this.inlineChunks.length === 1 ? (this.inlineChunks[0] as Buffer) : Buffer.concat(this.inlineChunks)
    this.inlineChunks = []
    this.inlineBytes = 0
    this.commandBytes = 0
    this.state = State.Boundary
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1)
    const args = splitInlineArgs(line)
    if (args === null) return new ProtocolError('unbalanced quotes in request')
    if (!this.isAuthenticated() && args.length > this.limits.unauthArgsMax) {
      return new ProtocolError('unauthenticated multibulk length')
    }
    if (args.length > 0) this.sink(args)
    return newline + 1
  }
}

function printable(byte: number): string {
  return byte >= 32 && byte < 127 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`
}

/**
 * Splits an inline command line as Redis' sdssplitargs does: words separated
 * by blanks, "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes,
 * 'single quotes' with \' only. Returns null for unbalanced quotes, or for a
 * closing quote not followed by a blank.
 */
export function splitInlineArgs(line: Buffer): Buffer[] | null {
  const args: Buffer[] = []
  let i = 0
  const n = line.length
  while (true) {
    while (i < n && isBlank(line[i] as number)) i++
    if (i >= n) return args
    const bytes: number[] = []
    let inDouble = false
    let inSingle = false
    let done = false
    while (!done) {
      if (i >= n) {
        if (inDouble || inSingle) return null
        done = true
        break
      }
      const c = line[i] as number
      if (inDouble) {
        if (c === 92 && i + 3 < n && line[i + 1] === 120 && isHex(line[i + 2] as number) && isHex(line[i + 3] as number)) {
          bytes.push(parseInt(String.fromCharCode(line[i + 2] as number, line[i + 3] as number), 16))
          i += 4
          continue
        }
        if (c === 92 && i + 1 < n) {
          bytes.push(unescape(line[i + 1] as number))
          i += 2
          continue
        }
        if (c === 34) {
          if (i + 1 < n && !isBlank(line[i + 1] as number)) return null
          done = true
        } else {
          bytes.push(c)
        }
      } else if (inSingle) {
        if (c === 92 && i + 1 < n && line[i + 1] === 39) {
          bytes.push(39)
          i += 2
          continue
        }
        if (c === 39) {
          if (i + 1 < n && !isBlank(line[i + 1] as number)) return null
          done = true
        } else {
          bytes.push(c)
        }
      } else if (isBlank(c)) {
        done = true
      } else if (c === 34) {
        inDouble = true
      } else if (c === 39) {
        inSingle = true
      } else {
        bytes.push(c)
      }
      i++
    }
    args.push(Buffer.from(bytes))
  }
}

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 11 || c === 12 || c === 0
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
}

function unescape(c: number): number {
  switch (c) {
    case 110:
      return 10
    case 114:
      return 13
    case 116:
      return 9
    case 98:
      return 8
    case 97:
      return 7
    default:
      return c
  }
}
