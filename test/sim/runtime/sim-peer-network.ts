// The simulated network between runtime nodes, behind lib/transport's
// PeerNetwork. Every message is encoded with the real wire codec when sent and
// decoded when delivered (so the receiver gets its own bytes, as over TCP),
// after a latency drawn from the seed; per link, delivery keeps sending
// order, as a connection does. Messages may be dropped or duplicated, and
// partitions (checked when sent and when delivered) cut links in one or both
// directions. A node that crashed or restarted loses what was in flight to it.
import type { NodeId } from '../../../lib/raft/types.js'
import type { MessageHandler, PeerNetwork, PeerState } from '../../../lib/transport/peer-network.js'
import { TransportError } from '../../../lib/transport/peer-transport.js'
import { decodeWireMessage, encodeWireFrame } from '../../../lib/transport/wire-codec.js'
import type { WireMessage } from '../../../lib/transport/wire-message.js'
import { FRAME_HEADER_BYTES } from '../../../lib/transport/frame-codec.js'
import type { Clock } from '../../../lib/util/clock.js'
import type { Prng } from '../../../lib/util/prng.js'
import type { SimProcess, SimScheduler } from './sim-scheduler.js'

export interface NetWeather {
  dropProbability: number
  duplicateProbability: number
  latencyMsMin: number
  latencyMsMax: number
}

export interface NetStats {
  sent: number
  dropped: number
  duplicated: number
  lostInFlight: number
  requests: number
}

export function emptyNetStats(): NetStats {
  return { sent: 0, dropped: 0, duplicated: 0, lostInFlight: 0, requests: 0 }
}

export class SimPeerHub {
  private readonly byAddr = new Map<string, SimEndpoint>()
  private readonly blocked = new Set<string>()
  private readonly linkClearMs = new Map<string, number>()
  readonly stats = emptyNetStats()

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
    public weather: NetWeather,
    /** Every message sent, for the trace (only when tracing live). */
    private readonly onSend: ((from: NodeId, to: string, msg: WireMessage, fate: string) => void) | null,
  ) {}

  /** The endpoint for one process of node `selfId`, listening at `addr` once started. */
  endpoint(selfId: NodeId, addr: string, clock: Clock, process: SimProcess): SimEndpoint {
    return new SimEndpoint(this, selfId, addr, clock, process)
  }

  listen(e: SimEndpoint): void {
    this.byAddr.set(e.addr, e)
  }

  unlisten(e: SimEndpoint): void {
    if (this.byAddr.get(e.addr) === e) this.byAddr.delete(e.addr)
  }

  // ---- Partitions ------------------------------------------------------------------

  cut(from: NodeId, to: NodeId): void {
    if (from !== to) this.blocked.add(`${from}>${to}`)
  }

  heal(): void {
    this.blocked.clear()
  }

  partitioned(): boolean {
    return this.blocked.size > 0
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return this.blocked.size === 0 || !this.blocked.has(`${from}>${to}`)
  }

  // ---- Delivery -----------------------------------------------------------------------

  /**
   * Sends one message from `from` to whatever listens at `toAddr` now. The
   * receiver gets `reply`, which answers back to `answer` (null: nowhere).
   */
  transmit(from: SimEndpoint, toAddr: string, msg: WireMessage, answer: ((m: WireMessage) => void) | null, refused: (() => void) | null = null): void {
    const target = this.byAddr.get(toAddr)
    this.stats.sent++
    const w = this.weather
    if ((target === undefined || target.closed) && refused !== null) {
      // Nobody listens there: a dial is refused at once, as TCP's is.
      this.stats.lostInFlight++
      this.scheduler.at(w.latencyMsMin, null, () => {
        if (!from.closed) refused()
      })
      return
    }
    if (target === undefined || !this.canReach(from.selfId, target.selfId)) {
      this.stats.lostInFlight++
      this.onSend?.(from.selfId, toAddr, msg, 'unreachable')
      return
    }
    if (w.dropProbability > 0 && this.prng.chance(w.dropProbability)) {
      this.stats.dropped++
      this.onSend?.(from.selfId, toAddr, msg, 'dropped')
      return
    }
    const frame = encodeWireFrame(msg)
    const copies = w.duplicateProbability > 0 && this.prng.chance(w.duplicateProbability) ? 2 : 1
    if (copies === 2) this.stats.duplicated++
    this.onSend?.(from.selfId, toAddr, msg, copies === 2 ? 'duplicated' : 'sent')
    for (let i = 0; i < copies; i++) this.schedule(from, target, frame, answer)
  }

  private schedule(from: SimEndpoint, target: SimEndpoint, frame: Buffer, answer: ((m: WireMessage) => void) | null): void {
    const w = this.weather
    const link = `${from.selfId}>${target.selfId}`
    const latencyMs = w.latencyMsMin + this.prng.next() * (w.latencyMsMax - w.latencyMsMin)
    // One connection per link: nothing overtakes what was sent before it.
    const atMs = Math.max(this.scheduler.elapsedMs + latencyMs, this.linkClearMs.get(link) ?? 0)
    this.linkClearMs.set(link, atMs)
    this.scheduler.at(atMs - this.scheduler.elapsedMs, null, () => {
      if (target.closed || !this.canReach(from.selfId, target.selfId)) {
        this.stats.lostInFlight++
        return
      }
      const msg = decodeWireMessage(frame.subarray(FRAME_HEADER_BYTES))
      const reply = (m: WireMessage): void => {
        if (answer === null || from.closed) return
        this.transmit(target, from.addr, m, null)
      }
      target.receive(msg, from.selfId, answer === null ? reply : (m) => this.answer(target, from, m, answer))
    })
  }

  /** An answer on a request connection goes back to the requester's callback, not to its listener. */
  private answer(target: SimEndpoint, from: SimEndpoint, m: WireMessage, answer: (m: WireMessage) => void): void {
    if (from.closed || !this.canReach(target.selfId, from.selfId)) return
    const frame = encodeWireFrame(m)
    const latencyMs = this.weather.latencyMsMin + this.prng.next() * (this.weather.latencyMsMax - this.weather.latencyMsMin)
    this.scheduler.at(latencyMs, null, () => {
      if (!from.closed) answer(decodeWireMessage(frame.subarray(FRAME_HEADER_BYTES)))
    })
  }
}

/** One process's view of the network: what io.connect() returns in the simulator. */
export class SimEndpoint implements PeerNetwork {
  private peers = new Map<NodeId, string>()
  private handler: MessageHandler = () => {}
  private closedFlag = false

  constructor(
    private readonly hub: SimPeerHub,
    readonly selfId: NodeId,
    readonly addr: string,
    private readonly clock: Clock,
    private readonly process: SimProcess,
  ) {}

  /** Closed by the runtime, or its process died: nothing reaches it any more. */
  get closed(): boolean {
    return this.closedFlag || !this.process.alive
  }

  start(): Promise<void> {
    this.hub.listen(this)
    return Promise.resolve()
  }

  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    this.peers = new Map(peers)
  }

  setClusterId(_id: string): void {
    // The simulated network has one cluster: nothing to check.
  }

  send(to: NodeId, msg: WireMessage): boolean {
    const addr = this.peers.get(to)
    if (addr === undefined || this.closed) return false
    this.hub.transmit(this, addr, msg, (m) => this.receive(m, to, () => {}))
    return true
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler
  }

  request(addr: string, msg: WireMessage, timeoutMs: number): Promise<WireMessage> {
    this.hub.stats.requests++
    return new Promise<WireMessage>((resolve, reject) => {
      if (this.closed) {
        reject(new TransportError('ERR_TRANSPORT_CLOSED', 'transport is closed'))
        return
      }
      let settled = false
      const timer = this.clock.after(timeoutMs, () => {
        if (settled) return
        settled = true
        reject(new TransportError('ERR_TRANSPORT_TIMEOUT', `no answer from ${addr} within ${timeoutMs} ms`))
      })
      this.hub.transmit(this, addr, msg, (answer) => {
        if (settled) return
        settled = true
        timer.cancel()
        resolve(answer)
      }, () => {
        if (settled) return
        settled = true
        timer.cancel()
        reject(new TransportError('ERR_TRANSPORT_REFUSED', `connection to ${addr} refused`))
      })
    })
  }

  peerState(): Map<NodeId, PeerState> {
    return new Map([...this.peers.keys()].map((id) => [id, 'connected' as PeerState]))
  }

  close(): Promise<void> {
    this.closedFlag = true
    this.hub.unlisten(this)
    return Promise.resolve()
  }

  receive(msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void): void {
    if (!this.closed) this.handler(msg, from, reply)
  }
}
