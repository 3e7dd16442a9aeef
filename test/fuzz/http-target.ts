// Fuzz target for the HTTP shim: plausible requests (the key API, status,
// cluster routes, bodies, chunked encoding, auth) mutated and sent over raw
// sockets. Every request gets an HTTP answer or a closed connection, never a
// 500, and a sentinel request is served after every batch.
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { Prng } from '../../lib/util/prng.js'
import { FakeBackend } from '../server/fake-backend.js'
import { type FuzzResult, fail, newResult } from './fuzz-result.js'
import { exchange, runSocketCases } from './fuzz-loop.js'

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'G\u0000T', 'CONNECT']
const PATHS = ['/key', '/key/k', '/key/%ZZ', '/key/', '/status', '/health', '/metrics', '/cluster/status', '/cluster/add', '/cluster/remove', '/cluster/transfer-leader', '/nope', '/key/k?consistency=stale', '/key/k?consistency=x', '*', '//', '/key/a%00b']
const BODIES = [
  '{"key":"k","value":"v"}',
  '[{"key":"a","value":"1"},{"key":"b","value":"2"}]',
  '{"key":1,"value":{}}',
  '[]',
  '{"id":"n4","addr":"127.0.0.1:1"}',
  '{',
  '"just a string"',
  '{"key":"k","value":"v","extra":[1,2,3]}',
  '',
]

export function httpSeedRequest(rng: Prng): Buffer {
  const method = rng.pick(METHODS)
  const path = rng.pick(PATHS)
  const body = rng.pick(BODIES)
  const headers = ['Host: localhost', 'Connection: close']
  if (rng.chance(0.3)) headers.push(`Authorization: Bearer ${rng.pick(['pw', 'wrong', '', ' '])}`)
  if (rng.chance(0.2)) headers.push('If-None-Match: *')
  let encoded = body
  if (rng.chance(0.25)) {
    headers.push('Transfer-Encoding: chunked')
    encoded = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
  } else {
    headers.push(`Content-Length: ${body.length}`)
  }
  if (rng.chance(0.2)) headers.push('Content-Type: application/json')
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${encoded}`, 'latin1')
}

export async function fuzzHttpServer(seed: number, cases: number, concurrency = 32): Promise<FuzzResult> {
  const result = newResult('http', cases)
  const server = await startHttpServer({
    addr: '127.0.0.1:0',
    backend: new FakeBackend(),
    logger: silentLogger(),
    metricsText: async () => '',
    limits: { headersTimeoutMs: 2000, requestTimeoutMs: 4000 },
  })
  const port = server.address.port
  const sentinelRequest = Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  try {
    await runSocketCases({
      result, seed, cases, concurrency, port,
      seedInput: httpSeedRequest,
      check: ({ bytes, closed }, i, input) => {
        const text = bytes.toString('latin1')
        if (!closed) fail(result, seed, i, 'request neither answered nor closed', input)
        if (text !== '' && !text.startsWith('HTTP/1.1 ')) fail(result, seed, i, 'answer is not HTTP', input)
        if (/^HTTP\/1\.1 500 /m.test(text)) fail(result, seed, i, 'a 500 internal error', input)
      },
      sentinel: async () => (await exchange(port, sentinelRequest, 5000)).bytes.toString('latin1').startsWith('HTTP/1.1 200'),
      sentinelRule: 'the sentinel request was not served',
    })
  } finally {
    await server.close()
  }
  return result
}
