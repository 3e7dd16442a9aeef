// A fault-injecting TCP proxy for one ordered pair of nodes (a → b): node a
// dials it instead of b (PEER_ADDR_OVERRIDES), and it forwards to b. Raft
// traffic flows both ways over a connection a opened (b answers on it), so
// the proxy controls two directions: forward (a's bytes to b) and backward
// (b's bytes back to a).
//   cut       — existing connections are destroyed and new ones refused;
//   block     — bytes in one direction are silently discarded (a one-way
//               partition); the connection stays up, as a dropped route would;
//   delay     — every chunk is held for delayMs, order kept;
//   drop      — each chunk destroys its connection with some chance (raft
//               must reconnect and retransmit).
import { connect, createServer, type Server, type Socket } from 'node:net'

export type Direction = 'forward' | 'backward'

export interface LinkFaults {
  cut: boolean
  blockForward: boolean
  blockBackward: boolean
  delayMs: number
  dropChance: number
}

export const healthyLink: Readonly<LinkFaults> = Object.freeze({ cut: false, blockForward: false, blockBackward: false, delayMs: 0, dropChance: 0 })

class ProxiedConnection {
  /** Set once bytes were discarded: the stream is no longer whole and must not outlive the fault. */
  tainted = false
  private readonly queues: Record<Direction, { releaseAt: number; chunk: Buffer }[]> = { forward: [], backward: [] }
  private readonly timers: Record<Direction, NodeJS.Timeout | null> = { forward: null, backward: null }

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    private readonly link: LinkProxy,
  ) {
    client.on('data', (d: Buffer) => this.onChunk('forward', d))
    server.on('data', (d: Buffer) => this.onChunk('backward', d))
    for (const s of [client, server]) {
      s.on('error', () => this.destroy())
      s.on('close', () => this.destroy())
    }
  }

  destroy(): void {
    this.client.destroy()
    this.server.destroy()
    for (const dir of ['forward', 'backward'] as const) {
      const timer = this.timers[dir]
      if (timer !== null) clearTimeout(timer)
      this.timers[dir] = null
      this.queues[dir] = []
    }
    this.link.forget(this)
  }

  private onChunk(dir: Direction, chunk: Buffer): void {
    const f = this.link.faults
    if (dir === 'forward' ? f.blockForward : f.blockBackward) {
      this.tainted = true
      this.link.stats.chunksBlocked++
      return
    }
    if (f.dropChance > 0 && this.link.random() < f.dropChance) {
      this.link.stats.connectionsDropped++
      this.destroy()
      return
    }
    const queue = this.queues[dir]
    if (f.delayMs <= 0 && queue.length === 0) {
      this.target(dir).write(chunk)
      return
    }
    queue.push({ releaseAt: Date.now() + f.delayMs, chunk })
    this.schedule(dir)
  }

  private target(dir: Direction): Socket {
    return dir === 'forward' ? this.server : this.client
  }

  private schedule(dir: Direction): void {
    if (this.timers[dir] !== null) return
    const first = this.queues[dir][0]
    if (first === undefined) return
    this.timers[dir] = setTimeout(() => {
      this.timers[dir] = null
      const queue = this.queues[dir]
      const now = Date.now()
      while (queue.length > 0 && (queue[0]?.releaseAt ?? 0) <= now) {
        const item = queue.shift()
        if (item !== undefined) this.target(dir).write(item.chunk)
      }
      this.schedule(dir)
    }, Math.max(0, first.releaseAt - Date.now()))
  }
}

export class LinkProxy {
  faults: LinkFaults = { ...healthyLink }
  readonly stats = { connections: 0, connectionsRefused: 0, connectionsDropped: 0, chunksBlocked: 0 }
  private readonly connections = new Set<ProxiedConnection>()

  private constructor(
    readonly from: string,
    readonly to: string,
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
    readonly random: () => number,
  ) {
    server.on('connection', (client) => this.accept(client))
  }

  static async start(from: string, to: string, targetPort: number, random: () => number): Promise<LinkProxy> {
    const server = createServer()
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const a = server.address()
        resolve(typeof a === 'object' && a !== null ? a.port : 0)
      })
    })
    return new LinkProxy(from, to, server, port, targetPort, random)
  }

  set(faults: Partial<LinkFaults>): void {
    this.faults = { ...this.faults, ...faults }
    if (this.faults.cut) for (const c of [...this.connections]) c.destroy()
  }

  /** Back to a healthy link; connections that lost bytes are closed so that raft starts clean streams. */
  heal(): void {
    this.faults = { ...healthyLink }
    for (const c of [...this.connections]) if (c.tainted) c.destroy()
  }

  forget(c: ProxiedConnection): void {
    this.connections.delete(c)
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) c.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    if (this.faults.cut) {
      this.stats.connectionsRefused++
      client.on('error', () => {})
      client.destroy()
      return
    }
    this.stats.connections++
    client.setNoDelay(true)
    const server = connect({ host: '127.0.0.1', port: this.targetPort })
    server.setNoDelay(true)
    this.connections.add(new ProxiedConnection(client, server, this))
  }
}
