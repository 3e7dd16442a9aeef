// The HTTP shim (DESIGN.md §1): the seed's key API, kept compatible, plus
// status, health, metrics, the /cluster operator routes and the status page
// at /. Every answer is JSON except /metrics and the page. Requests run
// through the same ClientBackend as RESP.
import { timingSafeEqual, createHash } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { ClientBackend } from '../../replica/client-api.js'
import type { Logger } from '../../util/logger.js'
import { AuthThrottle } from '../auth-throttle.js'
import { TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT, clientTlsServerOptions, type ClientTlsOptions } from '../client-tls.js'
import { parseAddr } from '../resp/resp-server.js'
import { HttpError, readJsonBody, sendJson, sendError, sendBackendError } from './http-io.js'
import { deleteKey, getKey, postKey } from './key-routes.js'
import { clusterRoute } from './cluster-routes.js'
import { watchRoute } from './watch-route.js'
import { backupRoute, type TakeBackup } from './backup-route.js'
import type { FeedHub } from '../../feeds/feed-hub.js'
import { statusBody, type StatusDetail } from './status-body.js'
import { isStatusPagePath, loadStatusPage, type StatusPage } from './status-page.js'

export interface HttpServerOptions {
  /** `host:port`; port 0 picks a free one. */
  readonly addr: string
  readonly backend: ClientBackend
  /** When set, every route but /health needs `Authorization: Bearer <requirePass>`. */
  readonly requirePass?: string | null
  /** Largest request body; a larger one is answered 413 without being read. Default 1 MiB. */
  readonly bodyBytesMax?: number
  /** Prometheus text for GET /metrics (the runtime passes prom-client's registry.metrics()). */
  readonly metricsText: () => Promise<string>
  readonly logger: Logger
  /** https with these (CLIENT_TLS_*); absent or null: plain http. */
  readonly tls?: ClientTlsOptions | null
  readonly limits?: Partial<HttpLimits>
  /** The node's change feeds, for GET /watch; absent: /watch is 404. */
  readonly feeds?: FeedHub | null
  /** What GET /status adds to backend.info() (progress, load, leader changes); absent: info() alone. */
  readonly statusDetail?: () => StatusDetail
  /** GET /cluster/backup (backup-route.ts); absent: that route is 404. */
  readonly takeBackup?: TakeBackup
}

/** What bounds a slow or greedy HTTP client; every one is listed in the README. */
export interface HttpLimits {
  /** The request line and headers must have arrived within this (slow-loris). */
  readonly headersTimeoutMs: number
  /** The whole request, body included, must have arrived within this. */
  readonly requestTimeoutMs: number
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number
  /** Connections held at once; more are refused at accept. */
  readonly connectionsMax: number
  /** Most request headers (Node's default 2000 is far more than any client of ours sends). */
  readonly headersCountMax: number
  /** With TLS: the handshake must be done within this. */
  readonly tlsHandshakeTimeoutMs: number
  /** Delay before a 401 for a wrong bearer token; doubles per further failure from one address, up to the max. */
  readonly authFailDelayMs: number
  readonly authFailDelayMsMax: number
}

export const httpLimitsDefault: HttpLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  connectionsMax: 1024,
  headersCountMax: 100,
  tlsHandshakeTimeoutMs: TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT,
  authFailDelayMs: 100,
  authFailDelayMsMax: 5_000,
})

export interface HttpServer {
  readonly address: { readonly host: string; readonly port: number }
  close(): Promise<void>
}

export const httpBodyBytesMaxDefault = 1024 * 1024

export interface RouteContext {
  readonly backend: ClientBackend
  readonly bodyBytesMax: number
  readonly logger: Logger
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

function authorized(request: http.IncomingMessage, tokenDigest: Buffer | null): boolean {
  if (tokenDigest === null) return true
  const header = request.headers.authorization ?? ''
  const match = /^Bearer +(.+)$/i.exec(header)
  return match !== null && timingSafeEqual(digest((match[1] as string).trim()), tokenDigest)
}

async function route(
  context: RouteContext,
  options: HttpServerOptions,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  url: URL,
): Promise<void> {
  const method = request.method ?? 'GET'
  const path = url.pathname
  const allow = (methods: string): boolean => {
    if (methods.split(',').includes(method)) return true
    response.setHeader('Allow', methods)
    throw new HttpError(405, `method ${method} not allowed on ${path}`)
  }
  if (path === '/key' && allow('POST')) return postKey(context, request, response)
  if (path.startsWith('/key/')) {
    if (method === 'GET') return getKey(context, response, path.slice('/key/'.length), url.searchParams)
    if (allow('GET,DELETE')) return deleteKey(context, response, path.slice('/key/'.length))
  }
  if (path === '/watch' && options.feeds && allow('GET')) return watchRoute(context, options.feeds, request, response, url)
  if (path === '/status' && allow('GET')) return sendJson(response, 200, statusBody(context.backend.info(), options.statusDetail?.() ?? null))
  // The page's GET and HEAD were answered before the token check; other methods land here.
  if (isStatusPagePath(path)) throw new HttpError(405, `method ${method} not allowed on ${path}`, { Allow: 'GET,HEAD' })
  if (path === '/health' && allow('GET')) {
    const info = context.backend.info()
    if (info.leaderId === null) {
      response.setHeader('Retry-After', '1')
      return sendJson(response, 503, { ok: false, error: 'no leader', role: info.role })
    }
    return sendJson(response, 200, { ok: true, role: info.role, leader: info.leaderId })
  }
  if (path === '/metrics' && allow('GET')) {
    const text = await options.metricsText()
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
    response.end(text)
    return
  }
  if (path === '/cluster/backup' && options.takeBackup && allow('GET')) return backupRoute(options.takeBackup, response, url)
  if (path.startsWith('/cluster/')) {
    const body = method === 'POST' ? await readJsonBody(request, context.bodyBytesMax, true) : null
    return clusterRoute(context, response, method, path.slice('/cluster/'.length), body)
  }
  throw new HttpError(404, `no route for ${method} ${path}`)
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host, port } = parseAddr(options.addr)
  const tokenDigest = options.requirePass ? digest(options.requirePass) : null
  const context: RouteContext = {
    backend: options.backend,
    bodyBytesMax: options.bodyBytesMax ?? httpBodyBytesMaxDefault,
    logger: options.logger,
  }
  const limits: HttpLimits = { ...httpLimitsDefault, ...options.limits }
  const throttle = new AuthThrottle({ delayMsMin: limits.authFailDelayMs, delayMsMax: limits.authFailDelayMsMax })
  const page: StatusPage = loadStatusPage()
  const server = createServer(options.tls ?? null, limits, (request, response) => {
    let url: URL
    try {
      url = new URL(request.url ?? '/', 'http://localhost')
    } catch {
      sendError(response, new HttpError(400, 'malformed URL'))
      return
    }
    // The page's files hold no data (it asks for the token itself); /health is for load balancers.
    if (isStatusPagePath(url.pathname) && page.serve(request.method ?? 'GET', url.pathname, response)) {
      request.resume()
      return
    }
    if (url.pathname !== '/health' && !authorized(request, tokenDigest)) {
      request.resume()
      response.setHeader('WWW-Authenticate', 'Bearer')
      const refuse = (): void => sendError(response, new HttpError(401, 'missing or wrong bearer token'))
      // A missing token is a mistake; a wrong one may be a guess, so it waits.
      if (request.headers.authorization === undefined) refuse()
      else setTimeout(refuse, throttle.failed(request.socket.remoteAddress ?? '?')).unref()
      return
    }
    route(context, options, request, response, url).catch((error: unknown) => {
      if (error instanceof HttpError) sendError(response, error)
      else sendBackendError(response, error, options.logger)
    })
  })
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.maxHeadersCount = limits.headersCountMax
  server.maxConnections = limits.connectionsMax
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Node reports headersTimeout/requestTimeout here too: those are a 408, not the client's syntax.
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    if (socket.writable) socket.end(timedOut ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (error) => options.logger.error({ err: error }, 'HTTP listener error'))
  const address = server.address() as AddressInfo
  const bound = { host: address.address, port: address.port }
  options.logger.info({ addr: `${bound.host}:${bound.port}`, tls: Boolean(options.tls) }, 'HTTP listening')
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void

function createServer(tls: ClientTlsOptions | null, limits: HttpLimits, handler: Handler): http.Server {
  const timeouts: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  }
  if (tls === null) return http.createServer(timeouts, handler)
  const server = https.createServer({ ...timeouts, ...clientTlsServerOptions(tls, limits.tlsHandshakeTimeoutMs) }, handler)
  // Node leaves a failed or timed-out TLS handshake's socket to this listener.
  server.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy())
  return server
}
