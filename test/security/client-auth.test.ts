// REQUIREPASS over the whole command table: every command but AUTH, HELLO
// and QUIT answers -NOAUTH before authentication, with any arguments, on the
// RESP port, and the HTTP shim answers 401 on every route but /health.
import t from 'tap'
import { allCommands } from '../../lib/server/resp/command-table.js'
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { FakeBackend } from '../server/fake-backend.js'
import { RawClient, startTestServer } from '../server/helpers.js'

const NOAUTH = { error: 'NOAUTH Authentication required.' }

t.test('only AUTH, HELLO and QUIT may run before AUTH', async (t) => {
  const open = [...allCommands()].filter((spec) => spec.flags.includes('noauth')).map((spec) => spec.name).sort()
  t.same(open, ['auth', 'hello', 'quit'])
})

t.test('every other command in the table answers NOAUTH before AUTH, and nothing reaches the backend', async (t) => {
  const { port, backend } = await startTestServer(t, { requirePass: 'sesame' })
  const client = await RawClient.connect(port, t)
  let checked = 0
  for (const spec of allCommands()) {
    if (spec.flags.includes('noauth')) continue
    const argCount = Math.max(Math.abs(spec.arity), 1)
    const args = [spec.name.toUpperCase(), ...Array.from({ length: argCount - 1 }, (_, i) => `arg${i}`)]
    t.same(await client.command(...args), NOAUTH, spec.name)
    checked++
  }
  t.ok(checked > 40, `${checked} commands checked`)
  t.same(backend.calls, [], 'the backend saw nothing')
  t.equal(await client.command('AUTH', 'sesame'), 'OK')
})

t.test('the HTTP shim answers 401 on every route but /health without the bearer token', async (t) => {
  const server = await startHttpServer({ addr: '127.0.0.1:0', backend: new FakeBackend(), logger: silentLogger(), metricsText: async () => 'secret metrics', requirePass: 'sesame' })
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${server.address.port}`
  for (const [method, path] of [['GET', '/key/k'], ['POST', '/key'], ['DELETE', '/key/k'], ['GET', '/status'], ['GET', '/metrics'], ['GET', '/cluster/status'], ['POST', '/cluster/add'], ['GET', '/nope']] as const) {
    const response = await fetch(base + path, { method, ...(method === 'POST' ? { body: '{"key":"k","value":"v"}' } : {}) })
    t.equal(response.status, 401, `${method} ${path}`)
    t.equal(response.headers.get('www-authenticate'), 'Bearer')
    await response.text()
  }
  t.equal((await fetch(`${base}/health`)).status, 200)
})
