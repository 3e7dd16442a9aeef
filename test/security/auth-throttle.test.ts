// Password guessing is slowed per source address, across connections: on
// RESP (AUTH) and HTTP (bearer token). A right password is never delayed.
import t from 'tap'
import { AuthThrottle } from '../../lib/server/auth-throttle.js'
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { FakeBackend } from '../server/fake-backend.js'
import { RawClient, startTestServer } from '../server/helpers.js'

const WRONGPASS = { error: 'WRONGPASS invalid username-password pair or user is disabled.' }

t.test('each failure from one address doubles the delay up to the cap, and a quiet window forgets it', async (t) => {
  let now = 0
  const throttle = new AuthThrottle({ delayMsMin: 100, delayMsMax: 1000, windowMs: 60_000 }, () => now)
  t.same([1, 2, 3, 4, 5].map(() => throttle.failed('10.0.0.1')), [100, 200, 400, 800, 1000])
  t.equal(throttle.failed('10.0.0.2'), 100, 'another address starts afresh')
  now += 60_001
  t.equal(throttle.failed('10.0.0.1'), 100, 'forgotten after a quiet window')
})

t.test('RESP: wrong passwords on fresh connections from one address get slower each time', async (t) => {
  const { port } = await startTestServer(t, { requirePass: 'sesame', limits: { authFailDelayMs: 20, authFailDelayMsMax: 2000 } })
  const timings: number[] = []
  for (let i = 0; i < 5; i++) {
    const client = await RawClient.connect(port, t)
    const started = Date.now()
    t.same(await client.command('AUTH', `guess${i}`), WRONGPASS)
    timings.push(Date.now() - started)
    client.destroy()
  }
  t.ok((timings[4] as number) >= 20 * 2 ** 4 - 5, `the fifth guess waited ${timings[4]} ms (${timings.join(', ')})`)
  // Not a wall-clock bound: a sixth wrong guess (delayed 640 ms) and the right
  // password race from the same address; the right one must come back first.
  const guesser = await RawClient.connect(port, t)
  const honest = await RawClient.connect(port, t)
  const order: string[] = []
  const wrong = guesser.command('AUTH', 'guess5').then(() => order.push('wrong'))
  const right = honest.command('AUTH', 'sesame').then((reply) => {
    order.push('right')
    return reply
  })
  t.equal(await right, 'OK')
  await wrong
  t.same(order, ['right', 'wrong'], 'the right password is not held behind the throttle')
})

t.test('HTTP: a wrong bearer token waits longer each time; a missing one and the right one do not wait', async (t) => {
  const server = await startHttpServer({
    addr: '127.0.0.1:0',
    backend: new FakeBackend(),
    logger: silentLogger(),
    metricsText: async () => '',
    requirePass: 'sesame',
    limits: { authFailDelayMs: 20, authFailDelayMsMax: 2000 },
  })
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${server.address.port}/status`
  const timed = async (headers: Record<string, string>): Promise<{ status: number; ms: number }> => {
    const started = Date.now()
    const response = await fetch(url, { headers })
    await response.text()
    return { status: response.status, ms: Date.now() - started }
  }
  const wrong: number[] = []
  for (let i = 0; i < 5; i++) {
    const answer = await timed({ Authorization: `Bearer guess${i}` })
    t.equal(answer.status, 401)
    wrong.push(answer.ms)
  }
  t.ok((wrong[4] as number) >= 20 * 2 ** 4 - 5, `the fifth guess waited ${wrong[4]} ms`)
  t.equal((await timed({})).status, 401)
  // As on RESP: a sixth wrong token (delayed 640 ms) and the right one race; the right one wins.
  const order: string[] = []
  const sixth = timed({ Authorization: 'Bearer guess5' }).then(() => order.push('wrong'))
  const right = await timed({ Authorization: 'Bearer sesame' })
  order.push('right')
  t.equal(right.status, 200)
  await sixth
  t.same(order, ['right', 'wrong'], 'the right token is not held behind the throttle')
})
