// Shared test helpers: a RESP server on a free port over a FakeBackend, and a
// raw-socket client that parses replies with redis-parser.
import net from 'node:net'
import RedisParser from 'redis-parser'
import { startRespServer, type RespServer, type RespServerOptions } from '../../lib/server/resp/resp-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { FakeBackend } from './fake-backend.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestServer {
  readonly server: RespServer
  readonly backend: FakeBackend
  readonly port: number
}

export async function startTestServer(t: Teardown, options: Partial<RespServerOptions> = {}): Promise<TestServer> {
  const backend = (options.backend as FakeBackend | undefined) ?? new FakeBackend()
  const server = await startRespServer({ addr: '127.0.0.1:0', logger: silentLogger(), ...options, backend })
  t.teardown(() => server.close())
  return { server, backend, port: server.address.port }
}

/** A reply as the raw client sees it: errors become `{ error: text }`. */
export type RawReply = string | number | null | { error: string } | RawReply[]

export class RawClient {
  readonly replies: RawReply[] = []
  closed = false
  private waiters: (() => void)[] = []
  private readonly parser: RedisParser

  private constructor(readonly socket: net.Socket) {
    this.parser = new RedisParser({
      returnReply: (reply: unknown) => this.add(normalize(reply)),
      returnError: (error: Error) => this.add({ error: error.message }),
      returnFatalError: (error: Error) => this.add({ error: `fatal: ${error.message}` }),
    })
    socket.on('data', (chunk) => this.parser.execute(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
  }

  static connect(port: number, t?: Teardown): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject)
        const client = new RawClient(socket)
        t?.teardown(() => client.destroy())
        resolve(client)
      })
      socket.once('error', reject)
    })
  }

  private add(reply: RawReply): void {
    this.replies.push(reply)
    this.wake()
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Resolves when `condition` holds, checked after every reply and on close. */
  until(condition: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; replies: ${JSON.stringify(this.replies.slice(-5))}`)), timeoutMs)
      const check = (): void => {
        if (condition()) {
          clearTimeout(timer)
          resolve()
        } else this.waiters.push(check)
      }
      check()
    })
  }

  write(data: string | Buffer): void {
    this.socket.write(data)
  }

  /** Sends a command as a RESP array and waits for its reply. */
  async command(...args: (string | Buffer)[]): Promise<RawReply> {
    const expected = this.replies.length + 1
    this.write(encodeCommand(args))
    await this.until(() => this.replies.length >= expected || this.closed, 'a reply')
    return this.replies[expected - 1] as RawReply
  }

  /** Waits for `count` replies in all. */
  async waitReplies(count: number): Promise<RawReply[]> {
    await this.until(() => this.replies.length >= count || this.closed, `${count} replies`)
    return this.replies.slice(0, count)
  }

  waitClosed(): Promise<void> {
    return this.until(() => this.closed, 'the connection to close')
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** Errors nested in arrays arrive as ReplyError objects: make them `{ error }` too. */
function normalize(reply: unknown): RawReply {
  if (reply instanceof Error) return { error: reply.message }
  if (Array.isArray(reply)) return reply.map(normalize)
  return reply as RawReply
}

export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const body = typeof arg === 'string' ? Buffer.from(arg) : arg
    parts.push(Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Resolves when `condition()` holds, polling on timers (for state outside a socket). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
