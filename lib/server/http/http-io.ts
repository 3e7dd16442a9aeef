// Request bodies with a size limit, JSON answers, and the mapping from
// backend errors to status codes.
import type http from 'node:http'
import type { Logger } from '../../util/logger.js'

/** An answer with a status and a JSON `{ "error": message }` body. */
export class HttpError extends Error {
  readonly code = 'ERR_HTTP'
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.end()
    return
  }
  const text = JSON.stringify(body)
  response.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  response.end(text)
}

export function sendError(response: http.ServerResponse, error: HttpError): void {
  sendJson(response, error.status, { error: error.message }, { ...error.headers })
}

/** Maps ClientBackend rejections by their stable `code`. */
export function sendBackendError(response: http.ServerResponse, error: unknown, logger: Logger): void {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'CLUSTERDOWN':
      sendJson(response, 503, { error: `cluster down: ${message}` }, { 'Retry-After': '1' })
      return
    case 'TIMEOUT':
      sendJson(response, 504, { error: `outcome unknown: ${message}` })
      return
    case 'MOVED':
      sendJson(response, 503, { error: `not the leader: ${message}` }, { 'Retry-After': '1' })
      return
    case 'ERR_ADMIN':
      sendJson(response, 400, { error: message })
      return
    default:
      logger.error({ err: error }, 'HTTP request failed')
      sendJson(response, 500, { error: 'internal error; see the server log' })
  }
}

/**
 * Reads and parses a JSON body of at most `bytesMax` bytes. A larger body is
 * refused (413) as soon as its size is known, and the connection is closed
 * rather than read further. `allowEmpty` turns an empty body into null.
 */
export function readJsonBody(request: http.IncomingMessage, bytesMax: number, allowEmpty = false): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? '0')
  if (declared > bytesMax) return Promise.reject(tooLarge(bytesMax))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    let done = false
    request.on('data', (chunk: Buffer) => {
      if (done) return
      bytes += chunk.length
      if (bytes > bytesMax) {
        done = true
        request.pause()
        reject(tooLarge(bytesMax))
        return
      }
      chunks.push(chunk)
    })
    request.on('error', (error) => {
      if (!done) reject(new HttpError(400, `request body: ${error.message}`))
      done = true
    })
    request.on('end', () => {
      if (done) return
      done = true
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.trim() === '' && allowEmpty) {
        resolve(null)
        return
      }
      try {
        resolve(JSON.parse(text))
      } catch (error) {
        reject(new HttpError(400, `malformed JSON: ${(error as Error).message}`))
      }
    })
  })
}

function tooLarge(bytesMax: number): HttpError {
  return new HttpError(413, `request body larger than ${bytesMax} bytes`, { Connection: 'close' })
}
