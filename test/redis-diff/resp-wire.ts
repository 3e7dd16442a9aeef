// A minimal RESP2 client for the differential tester: one command at a time,
// replies kept exactly as they came (a status is not a bulk string, a null
// bulk is not a null array), which is what a comparison must see.
import { Socket, connect } from 'node:net'

export type Wire =
  | { readonly t: 'status'; readonly v: string }
  | { readonly t: 'error'; readonly v: string }
  | { readonly t: 'int'; readonly v: string }
  | { readonly t: 'bulk'; readonly v: string | null }
  | { readonly t: 'array'; readonly v: readonly Wire[] | null }

export class WireClient {
  private buffer = Buffer.alloc(0)
  private readonly waiting: { resolve: (w: Wire) => void; reject: (e: Error) => void }[] = []
  private closed: Error | null = null

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.drain()
    })
    const fail = (error: Error): void => {
      this.closed = error
      for (const w of this.waiting.splice(0)) w.reject(error)
    }
    socket.on('error', fail)
    socket.on('close', () => fail(new Error('connection closed')))
  }

  static open(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new WireClient(socket)))
      socket.once('error', reject)
    })
  }

  send(args: readonly string[]): Promise<Wire> {
    if (this.closed !== null) return Promise.reject(this.closed)
    let out = `*${args.length}\r\n`
    for (const a of args) out += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`
    this.socket.write(Buffer.from(out, 'latin1'))
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  close(): void {
    this.socket.destroy()
  }

  private drain(): void {
    for (;;) {
      const parsed = parse(this.buffer, 0)
      if (parsed === null) return
      this.buffer = this.buffer.subarray(parsed[1])
      this.waiting.shift()?.resolve(parsed[0])
    }
  }
}

function parse(buf: Buffer, at: number): [Wire, number] | null {
  const eol = buf.indexOf('\r\n', at, 'latin1')
  if (eol < 0) return null
  const line = buf.toString('latin1', at + 1, eol)
  const next = eol + 2
  switch (String.fromCharCode(buf[at] as number)) {
    case '+': return [{ t: 'status', v: line }, next]
    case '-': return [{ t: 'error', v: line }, next]
    case ':': return [{ t: 'int', v: line }, next]
    case '$': {
      const n = Number(line)
      if (n < 0) return [{ t: 'bulk', v: null }, next]
      if (buf.length < next + n + 2) return null
      return [{ t: 'bulk', v: buf.toString('latin1', next, next + n) }, next + n + 2]
    }
    case '*': {
      const n = Number(line)
      if (n < 0) return [{ t: 'array', v: null }, next]
      const items: Wire[] = []
      let pos = next
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos)
        if (item === null) return null
        items.push(item[0])
        pos = item[1]
      }
      return [{ t: 'array', v: items }, pos]
    }
    default:
      throw new Error(`unexpected RESP byte ${buf[at]}`)
  }
}
