// Hostile and careless clients: each gets an error or a closed connection,
// and the server keeps serving everyone else.
import { spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { Prng } from '../../lib/util/prng.js'
import { RawClient, encodeCommand, startTestServer, waitFor } from './helpers.js'

async function stillServes(t: Test, port: number, password?: string): Promise<void> {
  const other = await RawClient.connect(port, t)
  if (password !== undefined) t.equal(await other.command('AUTH', password), 'OK')
  t.equal(await other.command('PING'), 'PONG', 'another client is still served')
  other.destroy()
}

async function protocolErrorCloses(t: Test, input: string | Buffer, message: string): Promise<void> {
  const { port } = await startTestServer(t)
  const client = await RawClient.connect(port, t)
  client.write(input)
  await client.waitClosed()
  t.same(client.replies, [{ error: `ERR Protocol error: ${message}` }])
  await stillServes(t, port)
}

t.test('an array count of 2^32 is refused and only that connection closes', (t) =>
  protocolErrorCloses(t, '*4294967296\r\n', 'invalid multibulk length'))

t.test('a bulk length of 999999999999 is refused before any bytes are buffered', (t) =>
  protocolErrorCloses(t, '*1\r\n$999999999999\r\n', 'invalid bulk length'))

t.test('a negative bulk length is refused', (t) => protocolErrorCloses(t, '*1\r\n$-3\r\n', 'invalid bulk length'))

t.test('deeply nested arrays are refused', (t) => protocolErrorCloses(t, '*1\r\n'.repeat(10_000), "expected '$', got '*'"))

t.test('an unbalanced quote in an inline command is refused', (t) =>
  protocolErrorCloses(t, 'SET "k v\r\n', 'unbalanced quotes in request'))

t.test('an inline line over 64 KiB is refused', (t) => protocolErrorCloses(t, 'x'.repeat(70_000), 'too big inline request'))

t.test('random bytes get errors or a closed connection and never stop the server', async (t) => {
  const { port, server } = await startTestServer(t)
  const rng = new Prng(1234)
  for (let round = 0; round < 40; round++) {
    const client = await RawClient.connect(port, t)
    const junk = Buffer.alloc(1 + rng.int(4000))
    for (let i = 0; i < junk.length; i++) junk[i] = rng.chance(0.2) ? rng.pick([42, 36, 13, 10, 45, 48, 57, 34]) : rng.int(256)
    client.write(junk)
    client.write('\r\nPING\r\n')
    await client.until(() => client.closed || client.replies.includes('PONG'), 'PONG or close')
    client.destroy()
  }
  await waitFor(() => server.clientCount() === 0, 'all junk connections to go')
  await stillServes(t, port)
})

t.test('a half-sent command then a disconnect leaves nothing behind', async (t) => {
  const { port, server } = await startTestServer(t)
  const client = await RawClient.connect(port, t)
  client.write('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc')
  await waitFor(() => server.clientCount() === 1, 'the connection')
  client.destroy()
  await waitFor(() => server.clientCount() === 0, 'the connection to be dropped')
  await stillServes(t, port)
})

t.test('more than maxclients connections: the extra one is told and closed', async (t) => {
  const { port } = await startTestServer(t, { limits: { clientsMax: 2 } })
  const a = await RawClient.connect(port, t)
  const b = await RawClient.connect(port, t)
  t.equal(await a.command('PING'), 'PONG')
  t.equal(await b.command('PING'), 'PONG')
  const c = await RawClient.connect(port, t)
  await c.waitClosed()
  t.same(c.replies, [{ error: 'ERR max number of clients reached' }])
  a.destroy()
  await waitFor(() => !a.socket.readable, 'a to close')
})

t.test('10,000 idle connections holding half a command do not stop an active client', async (t) => {
  const count = 10_000
  const { port, server } = await startTestServer(t, { limits: { clientsMax: count + 10 } })
  // The idle clients live in a child process: 20,000 sockets in one process would hit the fd limit.
  // Each sends half a command: a connection that sends nothing while the accept
  // queue is full can be lost to SYN cookies, data makes the kernel retry it.
  const script = `
    const net = require('node:net'); let open = 0; const sockets = []
    for (let i = 0; i < ${count}; i++) {
      const s = net.connect(${port}, '127.0.0.1', () => { s.write('*2\\r\\n$3\\r\\nGET\\r\\n'); if (++open === ${count}) console.log('ready') })
      s.on('error', (e) => { console.error(e.message); process.exit(1) }); sockets.push(s)
    }`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => data.toString().includes('ready') && resolve())
    child.on('exit', (code) => reject(new Error(`idle client process exited with ${code}`)))
  })
  await waitFor(() => server.clientCount() === count, `${count} connections`, 30_000)
  const active = await RawClient.connect(port, t)
  t.equal(await active.command('SET', 'k', 'v'), 'OK')
  t.equal(await active.command('GET', 'k'), 'v')
  child.kill()
  await waitFor(() => server.clientCount() === 1, 'idle connections to close', 30_000)
})

t.test('before AUTH: every command but AUTH, HELLO and QUIT answers NOAUTH', async (t) => {
  const { port } = await startTestServer(t, { requirePass: 'sesame' })
  const client = await RawClient.connect(port, t)
  t.same(await client.command('GET', 'k'), { error: 'NOAUTH Authentication required.' })
  t.same(await client.command('PING'), { error: 'NOAUTH Authentication required.' })
  t.equal(await client.command('AUTH', 'sesame'), 'OK')
  t.equal(await client.command('PING'), 'PONG')
})

t.test('a failed AUTH answers WRONGPASS after a delay, and guesses on one connection queue up', async (t) => {
  const delayMs = 50
  const { port } = await startTestServer(t, { requirePass: 'sesame', limits: { authFailDelayMs: delayMs } })
  const client = await RawClient.connect(port, t)
  const started = Date.now()
  client.write(Buffer.concat([1, 2, 3, 4].map((i) => encodeCommand(['AUTH', `guess${i}`]))))
  const replies = await client.waitReplies(4)
  t.ok(Date.now() - started >= 4 * delayMs - 5, 'four failures took at least four delays')
  t.same(replies, Array(4).fill({ error: 'WRONGPASS invalid username-password pair or user is disabled.' }))
  t.same(await client.command('AUTH', 'someone', 'sesame'), { error: 'WRONGPASS invalid username-password pair or user is disabled.' })
  t.equal(await client.command('AUTH', 'default', 'sesame'), 'OK')
})

t.test('HELLO 2 AUTH authenticates and HELLO without it stays NOAUTH', async (t) => {
  const { port } = await startTestServer(t, { requirePass: 'sesame' })
  const client = await RawClient.connect(port, t)
  t.match(await client.command('HELLO', '2'), { error: /^NOAUTH HELLO must be called/ })
  t.match(await client.command('HELLO', '2', 'AUTH', 'default', 'sesame'), ['server', 'redis'])
  t.equal(await client.command('PING'), 'PONG')
})

t.test('AUTH without a configured password says so', async (t) => {
  const { port } = await startTestServer(t)
  const client = await RawClient.connect(port, t)
  t.match(await client.command('AUTH', 'x'), { error: /^ERR AUTH <password> called without any password configured/ })
})

t.test('before AUTH more than 10 arguments is a protocol error', async (t) => {
  const { port } = await startTestServer(t, { requirePass: 'sesame' })
  const client = await RawClient.connect(port, t)
  client.write(encodeCommand(Array.from({ length: 11 }, () => 'x')))
  await client.waitClosed()
  t.same(client.replies, [{ error: 'ERR Protocol error: unauthenticated multibulk length' }])
})

t.test('an unauthenticated client that does not read its replies is closed at the output limit', async (t) => {
  const { port, server } = await startTestServer(t, { requirePass: 'sesame', limits: { unauthOutputBytesMax: 64 * 1024 } })
  const client = await RawClient.connect(port, t)
  client.socket.pause()
  const burst = Buffer.from('PING\r\n'.repeat(100_000))
  for (let i = 0; i < 5 && !client.socket.destroyed; i++) client.write(burst)
  await waitFor(() => server.clientCount() === 0, 'the server to drop the client')
  await stillServes(t, port, 'sesame')
})

t.test('a huge pipeline whose replies are not read pauses reading, then completes in order', async (t) => {
  const { port, server } = await startTestServer(t, { limits: { outputPauseBytes: 256 * 1024 } })
  const client = await RawClient.connect(port, t)
  const count = 20_000
  const payload = 'p'.repeat(1000)
  client.socket.pause()
  const commands: Buffer[] = []
  for (let i = 0; i < count; i++) commands.push(encodeCommand(['ECHO', `${i}:${payload}`]))
  client.write(Buffer.concat(commands))
  await waitFor(() => server.clientCount() === 1 && client.socket.bytesWritten > 1_000_000, 'the pipeline to be partly sent')
  client.socket.resume()
  const replies = await client.waitReplies(count)
  t.equal(replies.length, count)
  t.ok(replies.every((reply, i) => reply === `${i}:${payload}`), 'every reply in order')
})

t.test('with an idle timeout, a silent connection is closed', async (t) => {
  const { port, server } = await startTestServer(t, { limits: { idleTimeoutMs: 100 } })
  const client = await RawClient.connect(port, t)
  t.equal(await client.command('PING'), 'PONG')
  await client.waitClosed()
  await waitFor(() => server.clientCount() === 0, 'the server to forget the client')
})
