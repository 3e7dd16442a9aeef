// A minimal RESP2 client with one command in flight and a hard timeout per
// command. The suite needs to know exactly whether a command may have reached
// the server (connect failed = it did not; timeout or a dropped connection
// after sending = it may have), which a full client with its own retries and
// offline queue would blur.
import { connect, type Socket } from 'node:net'

export class RespError {
  constructor(readonly message: string) {}
}
export type RespValue = string | number | null | RespError | RespValue[]

/** Why a command has no answer: never sent, or sent and then lost. */
export class NoAnswer extends Error {
  constructor(
    readonly sent: boolean,
    message: string,
  ) {
    super(message)
  }
}

interface Parsed {
  value: RespValue
  end: number
}

/** One value from buf at offset, or null when more bytes are needed. */
function parse(buf: Buffer, offset: number): Parsed | null {
  const lineEnd = buf.indexOf('\r\n', offset)
  if (lineEnd < 0) return null
  const type = String.fromCharCode(buf[offset] as number)
  const line = buf.toString('utf8', offset + 1, lineEnd)
  const next = lineEnd + 2
  switch (type) {
    case '+':
      return { value: line, end: next }
    case '-':
      return { value: new RespError(line), end: next }
    case ':':
      return { value: Number(line), end: next }
    case '$': {
      const len = Number(line)
      if (len < 0) return { value: null, end: next }
      if (buf.length < next + len + 2) return null
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 }
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return { value: null, end: next }
      const items: RespValue[] = []
      let at = next
      for (let i = 0; i < count; i++) {
        const item = parse(buf, at)
        if (item === null) return null
        items.push(item.value)
        at = item.end
      }
      return { value: items, end: at }
    }
    default:
      throw new Error(`protocol error: unexpected byte ${JSON.stringify(type)}`)
  }
}

function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`]
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`)
  return Buffer.from(parts.join(''))
}

export class RespConnection {
  private buf: Buffer = Buffer.alloc(0)
  private waiting: { resolve: (v: RespValue) => void; reject: (e: Error) => void } | null = null
  private closed = false

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('close', () => this.fail(new NoAnswer(true, 'connection closed')))
    socket.on('error', () => {})
  }

  static open(port: number, timeoutMs: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new NoAnswer(false, 'connect timeout'))
      }, timeoutMs)
      socket.once('error', (e) => {
        clearTimeout(timer)
        reject(new NoAnswer(false, `connect: ${e.message}`))
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new RespConnection(socket))
      })
    })
  }

  get isClosed(): boolean {
    return this.closed
  }

  call(args: readonly string[], timeoutMs: number): Promise<RespValue> {
    if (this.closed) return Promise.reject(new NoAnswer(false, 'connection closed'))
    if (this.waiting !== null) return Promise.reject(new Error('one command at a time'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new NoAnswer(true, 'client timeout')), timeoutMs)
      this.waiting = {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.socket.write(encode(args))
    })
  }

  close(): void {
    this.fail(new NoAnswer(true, 'closed by client'))
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d])
    let parsed: Parsed | null
    try {
      parsed = parse(this.buf, 0)
    } catch (e) {
      this.fail(new NoAnswer(true, (e as Error).message))
      return
    }
    if (parsed === null) return
    this.buf = this.buf.subarray(parsed.end)
    const w = this.waiting
    this.waiting = null
    w?.resolve(parsed.value)
  }

  // A timed-out or broken connection is never reused: a late reply would be
  // taken for the next command's.
  private fail(e: Error): void {
    this.closed = true
    this.socket.destroy()
    const w = this.waiting
    this.waiting = null
    w?.reject(e)
  }
}
