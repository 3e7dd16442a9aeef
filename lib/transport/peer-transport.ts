// PeerTransport: how a node reaches its peers. One persistent outbound
// connection per peer (peer-link.ts) carries what this node sends; an inbound
// listener accepts the connections peers dial to us. Every connection starts
// with the CLUSTER_SECRET handshake (handshake.ts); every message that
// arrives, on any connection, goes to the one handler with the authenticated
// sender id. Nothing here blocks: send() queues or drops. With `tls` set,
// every connection is mutual TLS first (peer-tls.ts) and the handshake runs
// inside it.
import { randomBytes } from 'node:crypto'
import { type Server, type Socket, connect, createServer } from 'node:net'
import { type TLSSocket, connect as tlsConnect, createServer as createTlsServer } from 'node:tls'
import type { NodeId } from '../raft/types.js'
import type { Logger } from '../util/logger.js'
import { formatHostPort, parseHostPort } from './address.js'
import { FRAME_BYTES_MAX_DEFAULT } from './frame-codec.js'
import { DialerHandshake, HANDSHAKE_TIMEOUT_MS_DEFAULT, ListenerHandshake, NONCE_BYTES } from './handshake.js'
import { LogLimiter } from './log-limiter.js'
import { type ConnectionFailure, PeerConnection, type PeerConnectionEvents } from './peer-connection.js'
import { PeerLink } from './peer-link.js'
import { type PeerTlsOptions, peerTlsClientOptions, peerTlsServerOptions, tlsFailureDetail } from './peer-tls.js'
import type { MessageHandler, PeerNetwork, PeerState } from './peer-network.js'
import { encodeWireFrame, encodeWireFrameParts } from './wire-codec.js'
import { type WireMessage, isAddressed, isAllowedWithoutClusterId } from './wire-message.js'

export interface PeerTransportOptions {
  readonly selfId: NodeId
  /** '' while this node is joining and does not know its cluster yet. */
  readonly clusterId: string
  readonly secret: string
  /** `host:port` to listen on; port 0 picks a free port (see address()). */
  readonly listenAddr: string
  readonly logger: Logger
  readonly frameBytesMax?: number
  /** Per peer: bytes waiting to be sent, queued or in the socket, before frames are dropped. */
  readonly sendQueueBytesMax?: number
  readonly handshakeTimeoutMs?: number
  /** A connection whose peer reads nothing for this long is dropped and redialed. */
  readonly writeStallTimeoutMs?: number
  readonly backoffMsMin?: number
  readonly backoffMsMax?: number
  /** Inbound connections held at once, authenticated or not. */
  readonly inboundConnectionsMax?: number
  /** Jitter for redial backoff; inject a seeded source in tests. */
  readonly random?: () => number
  /** Mutual TLS on every peer connection (PEER_TLS_*); null or absent: plain TCP. */
  readonly tls?: PeerTlsOptions | null
}

export interface TransportSettings {
  readonly frameBytesMax: number
  readonly sendQueueBytesMax: number
  readonly handshakeTimeoutMs: number
  readonly writeStallTimeoutMs: number
  readonly backoffMsMin: number
  readonly backoffMsMax: number
  readonly inboundConnectionsMax: number
}

export const PEER_TRANSPORT_DEFAULTS: TransportSettings = Object.freeze({
  frameBytesMax: FRAME_BYTES_MAX_DEFAULT,
  sendQueueBytesMax: 16 * 1024 * 1024,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS_DEFAULT,
  writeStallTimeoutMs: 10_000,
  backoffMsMin: 50,
  backoffMsMax: 1000,
  inboundConnectionsMax: 256,
})

export type { MessageHandler, PeerState } from './peer-network.js'
/** Test hook: decides the fate of each message this node sends (including replies). */
export type LinkFilter = (to: NodeId, msg: WireMessage) => 'deliver' | 'drop'

export interface TransportCounters {
  /** Dropped because a send queue was full, the peer unknown or not reachable. */
  framesDropped: number
  /** Dropped by the link filter. */
  framesFiltered: number
  /** Inbound messages dropped for a wrong from/to. */
  messagesMisaddressed: number
  connectionsRefused: number
}

export class TransportError extends Error {
  constructor(
    readonly code: 'ERR_TRANSPORT_TIMEOUT' | 'ERR_TRANSPORT_REFUSED' | 'ERR_TRANSPORT_CLOSED' | 'ERR_TRANSPORT_ADDR',
    message: string,
  ) {
    super(message)
    this.name = 'TransportError'
  }
}

type Settings = TransportSettings

export class PeerTransport implements PeerNetwork {
  private readonly selfId: NodeId
  private clusterId: string
  private readonly secret: string
  private readonly settings: Settings
  private readonly logger: Logger
  private readonly random: () => number
  private readonly limiter = new LogLimiter()
  private readonly links = new Map<NodeId, PeerLink>()
  private readonly inbound = new Set<PeerConnection>()
  private readonly requests = new Set<PeerConnection>()
  private readonly replies = new WeakMap<PeerConnection, (m: WireMessage) => void>()
  private handler: MessageHandler = () => {}
  private linkFilter: LinkFilter | null = null
  private server: Server | null = null
  private closed = false
  private readonly listenAddr: string
  private readonly tls: PeerTlsOptions | null
  readonly counters: TransportCounters = { framesDropped: 0, framesFiltered: 0, messagesMisaddressed: 0, connectionsRefused: 0 }

  constructor(options: PeerTransportOptions) {
    this.selfId = options.selfId
    this.clusterId = options.clusterId
    this.secret = options.secret
    this.listenAddr = options.listenAddr
    this.logger = options.logger.child({ component: 'transport' })
    this.random = options.random ?? Math.random
    this.tls = options.tls ?? null
    const pick = <K extends keyof Settings>(key: K): Settings[K] => options[key] ?? PEER_TRANSPORT_DEFAULTS[key]
    this.settings = {
      frameBytesMax: pick('frameBytesMax'),
      sendQueueBytesMax: pick('sendQueueBytesMax'),
      handshakeTimeoutMs: pick('handshakeTimeoutMs'),
      writeStallTimeoutMs: pick('writeStallTimeoutMs'),
      backoffMsMin: pick('backoffMsMin'),
      backoffMsMax: pick('backoffMsMax'),
      inboundConnectionsMax: pick('inboundConnectionsMax'),
    }
  }

  /** Starts listening; rejects (with the address in the message) when the port cannot be bound. */
  async start(): Promise<void> {
    const hp = parseHostPort(this.listenAddr)
    if (hp === null) throw new TransportError('ERR_TRANSPORT_ADDR', `listen address '${this.listenAddr}' is not host:port`)
    const server = this.createListener()
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(hp.port, hp.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (error) => this.logger.error({ err: error }, 'peer listener error'))
    this.logger.info({ addr: this.address(), tls: this.tls !== null }, 'listening for peers')
  }

  private createListener(): Server {
    if (this.tls === null) return createServer({ noDelay: true }, (socket) => this.onInbound(socket))
    const server = createTlsServer(peerTlsServerOptions(this.tls, this.settings.handshakeTimeoutMs), (socket) => this.onInbound(socket))
    // onInbound counts connections only once TLS is up; this bounds those still negotiating.
    server.maxConnections = this.settings.inboundConnectionsMax
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      const remote = socket.remoteAddress ?? '?'
      this.counters.connectionsRefused++
      const detail = tlsFailureDetail(error)
      this.warnLimited(`in-tls:${remote}:${error.code ?? ''}`, { remote, reason: 'tls', detail }, 'refused peer connection')
      // Node leaves the socket to this listener (a handshake timeout would otherwise keep it open).
      socket.destroy()
    })
    return server
  }

  /** The bound `host:port` (the real port when listenAddr asked for port 0). */
  address(): string {
    const bound = this.server?.address()
    if (bound === null || bound === undefined || typeof bound === 'string') return this.listenAddr
    return formatHostPort(bound.address, bound.port)
  }

  /** The peers this node talks to; links to peers no longer listed (or moved) are closed. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    for (const [id, link] of this.links) {
      if (peers.get(id) !== link.addr) {
        link.close()
        this.links.delete(id)
      }
    }
    if (this.closed) return
    for (const [id, addr] of peers) {
      if (id === this.selfId || this.links.has(id)) continue
      this.links.set(id, new PeerLink(id, addr, this.linkDeps()))
    }
  }

  /** Takes effect for handshakes from now on (a joining node learns its cluster id). */
  setClusterId(id: string): void {
    this.clusterId = id
  }

  /**
   * Queues `msg` for peer `to`; never blocks, never throws for a peer's
   * state. false: dropped (unknown peer, or its queue is full). true does not
   * mean delivered: raft must retransmit as it always does.
   */
  send(to: NodeId, msg: WireMessage): boolean {
    const link = this.links.get(to)
    if (link === undefined) {
      this.counters.framesDropped++
      return false
    }
    if (this.linkFilter !== null && this.linkFilter(to, msg) === 'drop') {
      this.counters.framesFiltered++
      return true
    }
    const sent = link.send(encodeWireFrameParts(msg))
    if (!sent) this.counters.framesDropped++
    return sent
  }

  /** The handler for every message that arrives; `reply` answers on the same connection. */
  onMessage(handler: MessageHandler): void {
    this.handler = handler
  }

  /**
   * A one-off exchange with whatever node listens at `addr`: dial, handshake
   * (with this node's cluster id, '' if unknown), send `msg`, resolve with the
   * first message that comes back, close. Rejects with a TransportError.
   */
  request(addr: string, msg: WireMessage, timeoutMs: number): Promise<WireMessage> {
    return new Promise<WireMessage>((resolve, reject) => {
      const hp = parseHostPort(addr)
      if (hp === null || this.closed) {
        const why = this.closed ? 'transport is closed' : `address '${addr}' is not host:port`
        reject(new TransportError(this.closed ? 'ERR_TRANSPORT_CLOSED' : 'ERR_TRANSPORT_ADDR', why))
        return
      }
      let settled = false
      const settle = (outcome: WireMessage | TransportError): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        conn.close()
        if (outcome instanceof TransportError) reject(outcome)
        else resolve(outcome)
      }
      const conn = this.dial(hp.host, hp.port, '', {
        onOpen: (c) => c.send(encodeWireFrame(msg)),
        onMessage: (_c, answer) => settle(answer),
        onClose: (c, failure) => {
          this.requests.delete(c)
          settle(requestError(addr, failure))
        },
      })
      this.requests.add(conn)
      const timer = setTimeout(
        () => settle(new TransportError('ERR_TRANSPORT_TIMEOUT', `no answer from ${addr} within ${timeoutMs} ms`)),
        timeoutMs,
      )
    })
  }

  /** For metrics: outbound link state per peer ('down' covers idle and backing off). */
  peerState(): Map<NodeId, PeerState> {
    const out = new Map<NodeId, PeerState>()
    for (const [id, link] of this.links) {
      out.set(id, link.state === 'connected' ? 'connected' : link.state === 'connecting' ? 'connecting' : 'down')
    }
    return out
  }

  /** Test hook, off by default: null delivers everything. */
  setLinkFilter(filter: LinkFilter | null): void {
    this.linkFilter = filter
  }

  async close(): Promise<void> {
    this.closed = true
    this.setPeers(new Map())
    for (const conn of [...this.inbound, ...this.requests]) conn.close()
    const server = this.server
    this.server = null
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  // ---- connections ------------------------------------------------------------

  private linkDeps(): ConstructorParameters<typeof PeerLink>[2] {
    return {
      dial: (link) => this.dialLink(link),
      random: this.random,
      backoffMsMin: this.settings.backoffMsMin,
      backoffMsMax: this.settings.backoffMsMax,
      sendQueueBytesMax: this.settings.sendQueueBytesMax,
    }
  }

  private dialLink(link: PeerLink): PeerConnection {
    const hp = parseHostPort(link.addr)
    return this.dial(hp?.host ?? '', hp?.port ?? 0, link.id, {
      onOpen: (conn) => {
        if (link.state !== 'connected') this.logger.info({ peer: link.id, addr: link.addr }, 'peer connected')
        link.onOpen(conn)
      },
      onMessage: (conn, msg) => this.deliver(conn, msg),
      onClose: (conn, failure) => {
        const wasConnected = link.state === 'connected' && link.conn === conn
        this.logOutboundClose(link.id, link.addr, failure, wasConnected)
        link.onClose(conn)
      },
    })
  }

  private dial(host: string, port: number, expectedPeerId: string, events: PeerConnectionEvents): PeerConnection {
    const socket = this.tls === null ? connect({ host, port, noDelay: true }) : tlsConnect(peerTlsClientOptions(this.tls, host, port))
    const handshake = new DialerHandshake({
      selfId: this.selfId,
      clusterId: this.clusterId,
      secret: this.secret,
      expectedPeerId,
      nonce: randomBytes(NONCE_BYTES),
    })
    return this.connection(socket, handshake, events)
  }

  private onInbound(socket: Socket): void {
    if (this.closed || this.inbound.size >= this.settings.inboundConnectionsMax) {
      this.warnLimited(`inbound-full`, { remote: socket.remoteAddress }, 'too many inbound peer connections: refused one')
      socket.destroy()
      return
    }
    const handshake = new ListenerHandshake({
      selfId: this.selfId,
      clusterId: this.clusterId,
      secret: this.secret,
      nonce: randomBytes(NONCE_BYTES),
    })
    const conn = this.connection(socket, handshake, {
      onOpen: () => {},
      onMessage: (c, msg) => this.deliver(c, msg),
      onClose: (c, failure) => {
        this.inbound.delete(c)
        this.logInboundClose(c, failure)
      },
    })
    this.inbound.add(conn)
  }

  private connection(socket: Socket, handshake: DialerHandshake | ListenerHandshake, events: PeerConnectionEvents): PeerConnection {
    return new PeerConnection({
      socket,
      handshake,
      events,
      frameBytesMax: this.settings.frameBytesMax,
      sendQueueBytesMax: this.settings.sendQueueBytesMax,
      handshakeTimeoutMs: this.settings.handshakeTimeoutMs,
      writeStallTimeoutMs: this.settings.writeStallTimeoutMs,
    })
  }

  // ---- delivery -----------------------------------------------------------------

  private deliver(conn: PeerConnection, msg: WireMessage): void {
    const peer = conn.peer
    if (peer === null) return
    if (!peer.clusterIdKnown && !isAllowedWithoutClusterId(msg)) {
      conn.close({ kind: 'policy', detail: `${msg.type} from a peer that did not present a cluster id`, claimedId: peer.id })
      return
    }
    if (isAddressed(msg) && (msg.from !== peer.id || msg.to !== this.selfId)) {
      this.counters.messagesMisaddressed++
      this.warnLimited(`misaddressed:${peer.id}`, { peer: peer.id, type: msg.type, from: msg.from, to: msg.to }, 'dropped a message whose from/to does not match the connection')
      return
    }
    try {
      this.handler(msg, peer.id, this.replyFor(conn))
    } catch (error) {
      // A handler bug must not let one peer's message take the node down; drop that peer's connection instead.
      this.logger.error({ err: error, peer: peer.id, type: msg.type }, 'message handler threw; closing the connection')
      conn.close({ kind: 'local', detail: 'message handler threw' })
    }
  }

  private replyFor(conn: PeerConnection): (m: WireMessage) => void {
    let reply = this.replies.get(conn)
    if (reply === undefined) {
      reply = (m: WireMessage): void => {
        const to = conn.peer?.id ?? ''
        if (this.linkFilter !== null && this.linkFilter(to, m) === 'drop') {
          this.counters.framesFiltered++
          return
        }
        if (!conn.send(encodeWireFrame(m))) this.counters.framesDropped++
      }
      this.replies.set(conn, reply)
    }
    return reply
  }

  // ---- logging: one line per event, repeats folded by LogLimiter ------------

  private logInboundClose(conn: PeerConnection, failure: ConnectionFailure): void {
    const peer = conn.peer?.id ?? failure.claimedId ?? ''
    const fields = { remote: conn.remoteAddress, peer, detail: failure.detail }
    if (failure.kind === 'refused') {
      this.counters.connectionsRefused++
      const ip = conn.remoteAddress.replace(/:\d+$/, '')
      this.warnLimited(`in-refused:${ip}:${peer}:${failure.reason}`, { ...fields, reason: failure.reason }, 'refused peer connection')
    } else if (failure.kind === 'ended' || failure.kind === 'local' || failure.kind === 'socket') {
      this.logger.debug({ ...fields, kind: failure.kind }, 'inbound peer connection closed')
    } else {
      this.warnLimited(`in-${failure.kind}:${conn.remoteAddress}`, { ...fields, kind: failure.kind }, 'closed inbound peer connection')
    }
  }

  private logOutboundClose(peer: string, addr: string, failure: ConnectionFailure, wasConnected: boolean): void {
    const fields = { peer, addr, kind: failure.kind, detail: failure.detail }
    if (failure.kind === 'refused') {
      this.counters.connectionsRefused++
      const what = failure.byPeer ? 'peer refused our connection' : 'refused connection to peer'
      this.warnLimited(`out-refused:${peer}:${failure.reason}:${failure.byPeer}`, { ...fields, reason: failure.reason }, what)
    } else if (failure.kind === 'frame' || failure.kind === 'decode' || failure.kind === 'policy' || failure.kind === 'stall') {
      this.warnLimited(`out-${failure.kind}:${peer}`, fields, 'closed connection to peer')
    } else if (wasConnected && !this.closed && failure.kind !== 'local') {
      this.logger.info(fields, 'peer disconnected')
    } else {
      this.logger.debug(fields, 'peer connection attempt failed')
    }
  }

  private warnLimited(key: string, fields: Record<string, unknown>, message: string): void {
    const admitted = this.limiter.admit(key)
    if (admitted === null) return
    this.logger.warn(admitted.suppressed > 0 ? { ...fields, suppressed: admitted.suppressed } : fields, message)
  }
}

function requestError(addr: string, failure: ConnectionFailure): TransportError {
  if (failure.kind === 'refused') {
    return new TransportError('ERR_TRANSPORT_REFUSED', `${addr} refused the connection (${failure.reason}): ${failure.detail}`)
  }
  return new TransportError('ERR_TRANSPORT_CLOSED', `connection to ${addr} closed before an answer: ${failure.detail}`)
}
