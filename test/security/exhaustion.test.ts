// Resource exhaustion: slow-loris clients, connection floods and pipelines
// whose replies are never read are all bounded by a limit or a timeout, and
// the node keeps serving everyone else. The timeouts are shortened through
// the same options the defaults live in, so each test takes under a second
// of waiting; trickling is "one byte per tick" with a short tick.
import http from 'node:http'
import net from 'node:net'
import t, { type Test } from 'tap'
import { startHttpServer, type HttpLimits } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { FakeBackend } from '../server/fake-backend.js'
import { RawClient, encodeCommand, startTestServer, waitFor } from '../server/helpers.js'
import { heartbeat, rawConnect, startNode, waitFor as waitForTransport } from '../transport/fixtures/harness.js'

/** Writes `text` one byte per `tickMs` until the socket closes; resolves with how many bytes went out. */
function trickle(socket: net.Socket, text: string, tickMs: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0
    const timer = setInterval(() => {
      if (socket.destroyed || sent >= text.length) return
      socket.write(text[sent] as string)
      sent++
    }, tickMs)
    socket.on('close', () => {
      clearInterval(timer)
      resolve(sent)
    })
  })
}

function rawSocket(t: Test, port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', () => {})
    t.teardown(() => socket.destroy())
  })
}

async function startHttp(t: Test, limits: Partial<HttpLimits>): Promise<number> {
  const server = await startHttpServer({ addr: '127.0.0.1:0', backend: new FakeBackend(), logger: silentLogger(), metricsText: async () => '', limits })
  t.teardown(() => server.close())
  return server.address.port
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', () => resolve(0))
  })
}

t.test('RESP: a client trickling bytes before AUTH is closed at the pre-AUTH deadline', async (t) => {
  const { port, server } = await startTestServer(t, { requirePass: 'pw', limits: { unauthTimeoutMs: 300 } })
  const socket = await rawSocket(t, port)
  const request = encodeCommand(['AUTH', 'x'.repeat(1000)]).toString()
  const sent = await trickle(socket, request, 20)
  t.ok(sent > 5, `it kept sending (${sent} bytes) and was closed anyway`)
  t.ok(sent < request.length, 'closed before the request was whole: the deadline, not the end of the request, closed it')
  await waitFor(() => server.clientCount() === 0, 'the server to forget it')
  const other = await RawClient.connect(port, t)
  t.equal(await other.command('AUTH', 'pw'), 'OK', 'others are served')
})

t.test('RESP: an authenticated client is not subject to the pre-AUTH deadline', async (t) => {
  const { port, server } = await startTestServer(t, { requirePass: 'pw', limits: { unauthTimeoutMs: 100 } })
  const client = await RawClient.connect(port, t)
  t.equal(await client.command('AUTH', 'pw'), 'OK')
  // Wait for a connection opened later to pass its own deadline: ours must still be open.
  const late = await RawClient.connect(port, t)
  await late.waitClosed()
  t.notOk(client.closed)
  t.equal(await client.command('PING'), 'PONG')
  t.equal(server.clientCount(), 1)
})

t.test('RESP: a flood of connections beyond maxclients is turned away and the server recovers', async (t) => {
  const { port, server } = await startTestServer(t, { limits: { clientsMax: 50 } })
  const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(port, t)))
  await waitFor(() => clients.filter((c) => c.closed).length === 150, '150 refusals')
  t.equal(server.clientCount(), 50)
  for (const c of clients) c.destroy()
  await waitFor(() => server.clientCount() === 0, 'every connection to go')
  const after = await RawClient.connect(port, t)
  t.equal(await after.command('PING'), 'PONG')
})

t.test('RESP: a pipeline of 200,000 commands whose replies are never read holds bounded output, and others are served', async (t) => {
  const { port, server } = await startTestServer(t, { limits: { outputPauseBytes: 256 * 1024, pipelineCommandsMax: 1024 } })
  const greedy = await rawSocket(t, port)
  greedy.pause()
  const pipeline = encodeCommand(['ECHO', 'y'.repeat(100)])
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => pipeline))
  for (let i = 0; i < 200; i++) greedy.write(batch)
  const other = await RawClient.connect(port, t)
  t.equal(await other.command('PING'), 'PONG', 'another client is served while the pipeline is stuck')
  await waitFor(() => server.clientCount() === 2, 'both connected')
  // The server stopped reading the greedy client, so most of its pipeline
  // still waits in the client's own buffer rather than in the server.
  await waitFor(() => greedy.writableLength > 8 * 1024 * 1024, 'backpressure to reach the client')
  t.ok(greedy.writableLength > 8 * 1024 * 1024, `${greedy.writableLength} bytes still unsent`)
})

t.test('HTTP: a client sending headers one byte at a time is cut off at the headers timeout', async (t) => {
  const port = await startHttp(t, { headersTimeoutMs: 300, requestTimeoutMs: 600 })
  const socket = await rawSocket(t, port)
  let answer = ''
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
  const sent = await trickle(socket, `GET /health HTTP/1.1\r\nHost: x\r\n${'X-Pad: y\r\n'.repeat(100)}\r\n`, 20)
  t.ok(sent > 5, `it kept sending (${sent} bytes) and was closed anyway`)
  t.match(answer, /^(HTTP\/1\.1 408|)/, 'a 408 or just a close')
  t.equal(await healthStatus(port), 200, 'others are served')
})

t.test('HTTP: a body trickled after quick headers is cut off at the request timeout', async (t) => {
  const port = await startHttp(t, { headersTimeoutMs: 300, requestTimeoutMs: 500 })
  const socket = await rawSocket(t, port)
  socket.write('POST /key HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n')
  let answer = ''
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
  const sent = await trickle(socket, '{'.repeat(10000), 20)
  t.ok(sent < 10000, `closed after ${sent} of 10000 body bytes`)
  t.match(answer, /^(HTTP\/1\.1 408|)/, 'a 408 or just a close')
})

t.test('HTTP: a flood of connections beyond the limit is refused at accept and the server recovers', async (t) => {
  const port = await startHttp(t, { connectionsMax: 20 })
  const sockets = await Promise.all(Array.from({ length: 100 }, () => rawSocket(t, port)))
  await waitFor(() => sockets.filter((s) => s.destroyed || s.readableEnded).length >= 80, 'the extra connections to be dropped')
  for (const s of sockets) s.destroy()
  let status = 0
  for (let attempt = 0; attempt < 100 && status !== 200; attempt++) status = await healthStatus(port)
  t.equal(status, 200, '/health answers once the flood is gone')
})

t.test('peers: unauthenticated connections beyond the inbound limit are refused, and slots free at the handshake timeout', async (t) => {
  const b = await startNode(t, 'b', { inboundConnectionsMax: 5, handshakeTimeoutMs: 300 })
  const squatters = await Promise.all(Array.from({ length: 20 }, () => rawConnect(t, b.addr)))
  await waitForTransport(() => squatters.every((s) => s.closed), 'refused, then timed out')
  const a = await startNode(t, 'a', { backoffMsMin: 5, backoffMsMax: 20 })
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  await waitForTransport(() => b.received.length >= 1, 'an honest peer to get through')
  t.equal(b.log.warns().filter((w) => w.msg === 'too many inbound peer connections: refused one').length, 1, 'the flood is logged once')
})
