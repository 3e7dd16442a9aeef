// TLS on the client ports: redis-cli --tls and Node's tls module on the RESP
// port, fetch over https on the HTTP shim; with a client CA, a client needs a
// certificate it signed. Certificates are made at test time.
import { execFile, execFileSync } from 'node:child_process'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import t, { type Test } from 'tap'
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { makePki, type TestPki } from '../security/tls-certs.js'
import { skipWhenMissing } from '../util/missing-tool.js'
import { FakeBackend } from './fake-backend.js'
import { encodeCommand, startTestServer } from './helpers.js'

function redisCliTls(): string | false {
  try {
    execFileSync('which', ['redis-cli'], { stdio: 'ignore' })
  } catch {
    return 'redis-cli is not on PATH (apt-get install redis-tools)'
  }
  const help = execFileSync('redis-cli', ['--help'], { encoding: 'utf8' })
  return help.includes('--tls') ? false : 'this redis-cli was built without TLS'
}
const skipCli = skipWhenMissing(redisCliTls())

function cli(port: number, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1 })
    })
  })
}

function serverTls(pki: TestPki, withClientCa: boolean): { cert: Buffer; key: Buffer; ca: Buffer | null } {
  const own = pki.issue('server')
  return { cert: own.cert, key: own.key, ca: withClientCa ? pki.ca : null }
}

/** Sends one RESP command over TLS and resolves with the raw reply text, or the error that ended the connection. */
function tlsCommand(port: number, options: tls.ConnectionOptions, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options })
    let text = ''
    socket.on('secureConnect', () => socket.write(encodeCommand(args)))
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.endsWith('\r\n')) {
        socket.destroy()
        resolve(text)
      }
    })
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error: ${error.code ?? error.message}`))
    socket.on('close', () => resolve(text === '' ? 'closed' : text))
  })
}

t.test('redis-cli --tls --cacert talks to the RESP port', { skip: skipCli }, async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, false) })
  const set = await cli(port, ['--tls', '--cacert', pki.caPath, 'SET', 'k', 'v'])
  t.equal(set.stdout, 'OK\n', set.stderr)
  t.equal((await cli(port, ['--tls', '--cacert', pki.caPath, 'GET', 'k'])).stdout, 'v\n')
})

t.test('redis-cli --tls with a client certificate works when the port requires one', { skip: skipCli }, async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, true) })
  const client = pki.issue('client')
  const ping = await cli(port, ['--tls', '--cacert', pki.caPath, '--cert', client.certPath, '--key', client.keyPath, 'PING'])
  t.equal(ping.stdout, 'PONG\n', ping.stderr)
})

t.test('redis-cli --tls with REQUIREPASS still needs the password', { skip: skipCli }, async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, false), requirePass: 'pw-for-tls' })
  t.match((await cli(port, ['--tls', '--cacert', pki.caPath, 'GET', 'k'])).stdout, /NOAUTH/)
  t.equal((await cli(port, ['--tls', '--cacert', pki.caPath, '--no-auth-warning', '-a', 'pw-for-tls', 'PING'])).stdout, 'PONG\n')
})

t.test('a client without a certificate is refused when the port requires one', async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, true) })
  const answer = await tlsCommand(port, { ca: pki.ca }, ['PING'])
  t.notMatch(answer, /PONG/)
  const client = pki.issue('client')
  t.equal(await tlsCommand(port, { ca: pki.ca, cert: client.cert, key: client.key }, ['PING']), '+PONG\r\n', 'one with a certificate is served')
})

t.test('a client certificate from another CA is refused', async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, true) })
  const answer = await tlsCommand(port, { ca: pki.ca, cert: pki.foreign.cert, key: pki.foreign.key }, ['PING'])
  t.notMatch(answer, /PONG/)
})

t.test('a plaintext client on the TLS port gets no answer and others are still served', async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, false) })
  const plain = net.connect(port, '127.0.0.1')
  plain.on('error', () => {})
  let received = ''
  plain.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
  plain.write(encodeCommand(['PING']))
  await new Promise<void>((resolve) => plain.on('close', () => resolve()))
  t.notMatch(received, /PONG/)
  t.equal(await tlsCommand(port, { ca: pki.ca }, ['PING']), '+PONG\r\n')
})

t.test('a client that opens TCP and never starts TLS is dropped after the handshake timeout', async (t) => {
  const pki = makePki(t)
  const { port } = await startTestServer(t, { tls: serverTls(pki, false), limits: { tlsHandshakeTimeoutMs: 200 } })
  const silent = net.connect(port, '127.0.0.1')
  silent.on('error', () => {})
  await new Promise<void>((resolve) => silent.on('close', () => resolve()))
  t.pass('closed')
})

async function startHttps(t: Test, pki: TestPki, withClientCa: boolean): Promise<number> {
  const server = await startHttpServer({
    addr: '127.0.0.1:0',
    backend: new FakeBackend(),
    logger: silentLogger(),
    metricsText: async () => '',
    tls: serverTls(pki, withClientCa),
  })
  t.teardown(() => server.close())
  return server.address.port
}

function httpsGet(port: number, path: string, options: https.RequestOptions): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const request = https.get({ host: '127.0.0.1', port, path, ...options }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
  })
}

t.test('the HTTP shim serves https with the configured certificate', async (t) => {
  const pki = makePki(t)
  const port = await startHttps(t, pki, false)
  const answer = await httpsGet(port, '/health', { ca: pki.ca })
  t.match(answer, { status: 200, body: /"ok":true/ })
})

t.test('https with a client CA refuses a client without a certificate and serves one with', async (t) => {
  const pki = makePki(t)
  const port = await startHttps(t, pki, true)
  t.match(await httpsGet(port, '/health', { ca: pki.ca }), { error: /./ })
  const client = pki.issue('client')
  t.match(await httpsGet(port, '/health', { ca: pki.ca, cert: client.cert, key: client.key }), { status: 200 })
})

t.test('plain http to the https port gets no answer', async (t) => {
  const pki = makePki(t)
  const port = await startHttps(t, pki, false)
  const failed = await fetch(`http://127.0.0.1:${port}/health`).then(
    (r) => `status ${r.status}`,
    () => 'failed',
  )
  t.not(failed, 'status 200')
})
