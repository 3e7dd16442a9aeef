import t, { type Test } from 'tap'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { LinkProxy } from './fault-proxy.js'

/** An echo server: answers every chunk with itself, so both directions of the proxy are exercised. */
async function echoServer(t: Test): Promise<number> {
  const server: Server = createServer((s) => {
    s.on('error', () => {})
    s.pipe(s)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const a = server.address()
  return typeof a === 'object' && a !== null ? a.port : 0
}

async function proxyTo(t: Test, port: number): Promise<LinkProxy> {
  const p = await LinkProxy.start('a', 'b', port, () => 0)
  t.teardown(() => p.close())
  return p
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s))
    s.once('error', reject)
  })
}

/** Resolves with everything received until `bytes` have arrived. */
function receive(s: Socket, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    let got = ''
    const on = (d: Buffer): void => {
      got += d.toString()
      if (got.length >= bytes) {
        s.off('data', on)
        resolve(got)
      }
    }
    s.on('data', on)
  })
}

function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (cond() ? resolve() : void setTimeout(check, 10))
    check()
  })
}

function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))
}

t.test('a healthy link passes bytes both ways', async (t) => {
  const p = await proxyTo(t, await echoServer(t))
  const s = await open(p.port)
  t.teardown(() => s.destroy())
  s.write('hello')
  t.equal(await receive(s, 5), 'hello')
})

t.test('cutting a link destroys its connections and refuses new ones', async (t) => {
  const p = await proxyTo(t, await echoServer(t))
  const s = await open(p.port)
  s.on('error', () => {})
  p.set({ cut: true })
  await closed(s)
  const again = await open(p.port)
  again.on('error', () => {})
  await closed(again)
  t.equal(p.stats.connectionsRefused, 1)
})

t.test('a delayed link holds chunks for the delay and keeps their order', async (t) => {
  const p = await proxyTo(t, await echoServer(t))
  p.set({ delayMs: 100 })
  const s = await open(p.port)
  t.teardown(() => s.destroy())
  const started = Date.now()
  s.write('one,')
  setTimeout(() => s.write('two'), 10)
  t.equal(await receive(s, 7), 'one,two')
  // There and back: each direction is delayed.
  t.ok(Date.now() - started >= 190, `${Date.now() - started} ms`)
})

t.test('a one-way block discards one direction while the connection stays up', async (t) => {
  const p = await proxyTo(t, await echoServer(t))
  const s = await open(p.port)
  t.teardown(() => s.destroy())
  p.set({ blockBackward: true })
  s.write('lost')
  await until(() => p.stats.chunksBlocked > 0)
  t.notOk(s.destroyed, 'still connected')
})

t.test('healing closes connections that lost bytes, so streams restart whole', async (t) => {
  const p = await proxyTo(t, await echoServer(t))
  const s = await open(p.port)
  s.on('error', () => {})
  p.set({ blockForward: true })
  s.write('lost')
  await until(() => p.stats.chunksBlocked > 0)
  p.heal()
  await closed(s)
  t.pass('closed')
})
