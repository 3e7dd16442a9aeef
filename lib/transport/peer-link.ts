// The outbound side of one peer: at most one connection, dialed lazily on the
// first send, redialed after a loss with exponential backoff and jitter.
// While no connection is open, frames wait in a queue bounded in bytes; when
// it is full they are dropped (raft retransmits), so a dead or slow peer
// never holds up the node or its other peers.
import { type OutboundFrame, outboundFrameBytes, type PeerConnection } from './peer-connection.js'

export type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed'

export interface PeerLinkDeps {
  /** Opens a connection whose events end in `link.onOpen` / `link.onClose`. */
  dial(link: PeerLink): PeerConnection
  random(): number
  readonly backoffMsMin: number
  readonly backoffMsMax: number
  readonly sendQueueBytesMax: number
}

/**
 * Delay before redial attempt `attempt` (1-based): doubling from min up to
 * max, with "equal jitter" (half fixed, half random) so that nodes restarted
 * together do not redial in lockstep, while never redialing immediately.
 */
export function backoffMs(attempt: number, min: number, max: number, random: () => number): number {
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt - 1, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export class PeerLink {
  state: LinkState = 'idle'
  conn: PeerConnection | null = null
  framesDropped = 0

  private pending: OutboundFrame[] = []
  private pendingBytes = 0
  private attempts = 0
  private timer: NodeJS.Timeout | null = null

  constructor(
    readonly id: string,
    readonly addr: string,
    private readonly deps: PeerLinkDeps,
  ) {}

  send(frame: OutboundFrame): boolean {
    if (this.state === 'connected' && this.conn !== null) {
      const sent = this.conn.send(frame)
      if (!sent) this.framesDropped++
      return sent
    }
    const bytes = outboundFrameBytes(frame)
    if (this.state === 'closed' || this.pendingBytes + bytes > this.deps.sendQueueBytesMax) {
      this.framesDropped++
      return false
    }
    this.pending.push(frame)
    this.pendingBytes += bytes
    if (this.state === 'idle') this.connect()
    return true
  }

  onOpen(conn: PeerConnection): void {
    if (conn !== this.conn) return
    this.state = 'connected'
    this.attempts = 0
    const pending = this.pending
    this.pending = []
    this.pendingBytes = 0
    for (const frame of pending) if (!conn.send(frame)) this.framesDropped++
  }

  /** The connection is gone: wait, then redial if anything is waiting to go out. */
  onClose(conn: PeerConnection): void {
    if (conn !== this.conn) return
    this.conn = null
    if (this.state === 'closed') return
    this.state = 'backoff'
    this.attempts++
    const delayMs = backoffMs(this.attempts, this.deps.backoffMsMin, this.deps.backoffMsMax, this.deps.random)
    this.timer = setTimeout(() => this.onBackoffEnd(), delayMs)
    this.timer.unref()
  }

  close(): void {
    this.state = 'closed'
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.pending = []
    this.pendingBytes = 0
    const conn = this.conn
    this.conn = null
    conn?.close()
  }

  private onBackoffEnd(): void {
    this.timer = null
    if (this.state !== 'backoff') return
    if (this.pending.length > 0) this.connect()
    else this.state = 'idle'
  }

  private connect(): void {
    this.state = 'connecting'
    this.conn = this.deps.dial(this)
  }
}
