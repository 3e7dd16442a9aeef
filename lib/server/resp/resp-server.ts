// The Redis-protocol listener: accepts connections up to the client limit and
// gives each one a Connection. See connection.ts for what happens on a
// connection and request-reader.ts for the limits on what a client may send.
import { CommandStats } from './command-stats.js'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import type { ClientBackend } from '../../replica/client-api.js'
import type { Logger } from '../../util/logger.js'
import { AuthThrottle } from '../auth-throttle.js'
import { clientTlsServerOptions, type ClientTlsOptions } from '../client-tls.js'
import type { FeedHub } from '../../feeds/feed-hub.js'
import type { ServerContext, ServerStats } from './command-types.js'
import { Connection, digest } from './connection.js'
import { respLimitsDefault, type RespLimits } from './resp-limits.js'

export interface RespServerOptions {
  /** `host:port` to listen on; port 0 picks a free one. */
  readonly addr: string
  readonly backend: ClientBackend
  /** Clients must AUTH with this password first (REQUIREPASS). */
  readonly requirePass?: string | null
  readonly limits?: Partial<RespLimits>
  readonly logger: Logger
  /** Followers answer writes and linearizable reads with -MOVED to the leader instead of forwarding. */
  readonly movedMode?: boolean
  /** TLS on this port (CLIENT_TLS_*); absent or null: plain TCP. */
  readonly tls?: ClientTlsOptions | null
  /** The node's change feeds (Pub/Sub, keyspace notifications); absent: those commands answer an error. */
  readonly feeds?: FeedHub | null
}

export interface RespServer {
  readonly address: { readonly host: string; readonly port: number }
  /** Stops listening and closes every client connection. */
  close(): Promise<void>
  clientCount(): number
}

/** How long a shutdown waits for in-flight requests before closing connections anyway. */
const closeDrainMs = 5000

const tooManyClients = Buffer.from('-ERR max number of clients reached\r\n')

/** Splits `host:port`; `[::1]:6379` gives `::1`. */
export function parseAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':')
  const port = Number(addr.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`invalid address '${addr}': expected host:port`)
  }
  return { host: addr.slice(0, colon).replace(/^\[|\]$/g, ''), port }
}

export async function startRespServer(options: RespServerOptions): Promise<RespServer> {
  const { host, port } = parseAddr(options.addr)
  const limits: RespLimits = Object.freeze({ ...respLimitsDefault, ...options.limits })
  const requirePass = options.requirePass ? Buffer.from(options.requirePass) : null
  const passwordDigest = requirePass === null ? null : digest(requirePass)
  const connections = new Set<Connection>()
  const stats: ServerStats = {
    connectionsReceived: 0,
    connectionsRejected: 0,
    commandsProcessed: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    commands: new CommandStats(),
  }
  const listener = createListener(options.tls ?? null, limits, options.logger)
  const context: ServerContext = {
    backend: options.backend,
    requirePass,
    movedMode: options.movedMode ?? false,
    limits,
    authThrottle: new AuthThrottle({ delayMsMin: limits.authFailDelayMs, delayMsMax: limits.authFailDelayMsMax }),
    stats,
    logger: options.logger,
    startedAtMs: Date.now(),
    runId: randomBytes(20).toString('hex'),
    feeds: options.feeds ?? null,
    address: () => bound,
    connections: () => connections.values(),
  }

  listener.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    stats.connectionsReceived++
    if (connections.size >= limits.clientsMax) {
      stats.connectionsRejected++
      socket.on('error', () => {})
      socket.end(tooManyClients)
      return
    }
    const connection = new Connection(socket, context, passwordDigest, (closed) => connections.delete(closed))
    connections.add(connection)
  })
  listener.on('error', (error) => options.logger.error({ err: error }, 'RESP listener error'))

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject)
    listener.listen({ host, port }, () => {
      listener.off('error', reject)
      resolve()
    })
  })
  const address = listener.address() as net.AddressInfo
  const bound = { host: address.address, port: address.port }
  options.logger.info({ addr: `${bound.host}:${bound.port}`, tls: Boolean(options.tls) }, 'RESP listening')

  return {
    address: bound,
    clientCount: () => connections.size,
    close: async () => {
      const listening = new Promise<void>((resolve) => listener.close(() => resolve()))
      // In-flight requests are answered, not dropped: each connection stops
      // reading and closes once its replies are out, within a bound.
      for (const connection of connections) connection.drain()
      const deadline = Date.now() + closeDrainMs
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      for (const connection of connections) connection.destroy()
      await listening
    },
  }
}

function createListener(tlsOptions: ClientTlsOptions | null, limits: RespLimits, logger: Logger): net.Server {
  if (tlsOptions === null) return net.createServer({ noDelay: true })
  const listener = tls.createServer(clientTlsServerOptions(tlsOptions, limits.tlsHandshakeTimeoutMs))
  // Connections still in the TLS handshake are not Connections yet; this
  // bounds them together with the rest (the extra ones cannot be told why).
  listener.maxConnections = limits.clientsMax
  listener.on('tlsClientError', (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    logger.debug({ addr: socket.remoteAddress, code: error.code }, 'client TLS handshake failed')
    // Node leaves the socket to this listener (a handshake timeout would otherwise keep it open).
    socket.destroy()
  })
  return listener
}
