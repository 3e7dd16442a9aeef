import http from 'node:http'
import t from 'tap'
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { FakeBackend } from './fake-backend.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

async function start(t: Teardown, options: { requirePass?: string; bodyBytesMax?: number } = {}) {
  const backend = new FakeBackend()
  const server = await startHttpServer({
    addr: '127.0.0.1:0',
    backend,
    logger: silentLogger(),
    metricsText: async () => '# HELP raftkv_up 1\nraftkv_up 1\n',
    ...options,
  })
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${server.address.port}`
  return { backend, base }
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url, init)
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON (metrics)
  }
  return { status: response.status, body, headers: response.headers }
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

t.test('POST /key then GET /key/<key> returns the value', async (t) => {
  const { base } = await start(t)
  const posted = await call(`${base}/key`, post({ key: 'k', value: 'v' }))
  t.equal(posted.status, 201)
  t.same(posted.body, { ok: true })
  const got = await call(`${base}/key/k`)
  t.equal(got.status, 200)
  t.same(got.body, { k: 'v' })
})

t.test('GET of a missing key is 404 with a JSON error', async (t) => {
  const { base } = await start(t)
  const got = await call(`${base}/key/nope`)
  t.equal(got.status, 404)
  t.match(got.body, { error: 'not found' })
})

t.test('GET of a key holding another type is 409 naming the type, and insert-only POST sees it exists', async (t) => {
  const { base, backend } = await start(t)
  backend.applyNow({ ops: [{ t: 'call', name: 'hset', args: [Buffer.from('h'), Buffer.from('f'), Buffer.from('v')], seed: 0 }], watches: [] })
  const got = await call(`${base}/key/h`)
  t.equal(got.status, 409)
  t.same(got.body, { error: 'key holds a hash, not a string', key: 'h', type: 'hash' })
  const inserted = await call(`${base}/key`, post([{ key: 'h', value: '1' }, { key: 'fresh', value: '2' }], { 'If-None-Match': '*' }))
  t.equal(inserted.status, 409)
  t.match(inserted.body, { keys: ['h'] })
})

t.test('keys in the path are URL-decoded', async (t) => {
  const { base } = await start(t)
  await call(`${base}/key`, post({ key: 'a b/c', value: 'v' }))
  t.same((await call(`${base}/key/${encodeURIComponent('a b/c')}`)).body, { 'a b/c': 'v' })
  t.equal((await call(`${base}/key/%E0%A4%A`)).status, 400)
})

t.test('a JSON array is written atomically as one write', async (t) => {
  const { base, backend } = await start(t)
  const got = await call(`${base}/key`, post([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]))
  t.equal(got.status, 201)
  t.equal(backend.calls.filter((c) => c.kind === 'write').length, 1)
  t.same((await call(`${base}/key/b`)).body, { b: '2' })
})

t.test('POST overwrites an existing key like SET', async (t) => {
  const { base } = await start(t)
  await call(`${base}/key`, post({ key: 'k', value: '1' }))
  t.equal((await call(`${base}/key`, post({ key: 'k', value: '2' }))).status, 201)
  t.same((await call(`${base}/key/k`)).body, { k: '2' })
})

t.test('If-None-Match: * inserts only; an existing key is 409', async (t) => {
  const { base } = await start(t)
  t.equal((await call(`${base}/key`, post({ key: 'k', value: '1' }, { 'If-None-Match': '*' }))).status, 201)
  t.equal((await call(`${base}/key`, post({ key: 'k', value: '2' }, { 'If-None-Match': '*' }))).status, 409)
  t.same((await call(`${base}/key/k`)).body, { k: '1' })
})

t.test('If-None-Match: * with an array writes nothing when any key exists', async (t) => {
  const { base } = await start(t)
  await call(`${base}/key`, post({ key: 'b', value: 'old' }))
  const got = await call(`${base}/key`, post([{ key: 'a', value: '1' }, { key: 'b', value: '2' }], { 'If-None-Match': '*' }))
  t.equal(got.status, 409)
  t.match(got.body, { keys: ['b'] })
  t.equal((await call(`${base}/key/a`)).status, 404)
  t.equal((await call(`${base}/key`, post([{ key: 'x', value: '1' }, { key: 'y', value: '2' }], { 'If-None-Match': '*' }))).status, 201)
})

t.test('malformed JSON is 400 and nothing is written', async (t) => {
  const { base, backend } = await start(t)
  const got = await call(`${base}/key`, post('{"key": "k", "value": '))
  t.equal(got.status, 400)
  t.match(got.body, { error: /malformed JSON/ })
  t.equal((await call(`${base}/key`, post({ key: 'k', value: 5 }))).status, 400)
  t.equal((await call(`${base}/key`, post([]))).status, 400)
  t.equal((await call(`${base}/key`, post([{ key: 'a', value: '1' }, 'x']))).status, 400)
  t.equal(backend.calls.filter((c) => c.kind === 'write').length, 0)
})

t.test('a body over the limit is 413', async (t) => {
  const { base, backend } = await start(t, { bodyBytesMax: 1024 })
  const got = await call(`${base}/key`, post({ key: 'k', value: 'x'.repeat(2000) }))
  t.equal(got.status, 413)
  t.equal(backend.calls.length, 0)
})

t.test('a chunked body over the limit is 413 without reading it all', async (t) => {
  const { base } = await start(t, { bodyBytesMax: 1024 })
  const status = await new Promise<number>((resolve, reject) => {
    const request = http.request(`${base}/key`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', reject)
    request.write('{"key":"k","value":"')
    request.write('x'.repeat(4096))
  })
  t.equal(status, 413)
})

t.test('DELETE /key/<key> is 200, then 404', async (t) => {
  const { base } = await start(t)
  await call(`${base}/key`, post({ key: 'k', value: 'v' }))
  t.equal((await call(`${base}/key/k`, { method: 'DELETE' })).status, 200)
  t.equal((await call(`${base}/key/k`, { method: 'DELETE' })).status, 404)
})

t.test('?consistency=stale reads locally; a bad value is 400', async (t) => {
  const { base, backend } = await start(t)
  await call(`${base}/key/k?consistency=stale`)
  t.same(backend.calls.filter((c) => c.kind === 'read').map((c) => c.consistency), ['stale'])
  t.equal((await call(`${base}/key/k?consistency=eventual`)).status, 400)
})

t.test('GET /status reports the node view', async (t) => {
  const { base } = await start(t)
  const got = await call(`${base}/status`)
  t.equal(got.status, 200)
  t.match(got.body, { id: 'n1', role: 'leader', term: 3, leader: 'n1', commitIndex: 0, appliedIndex: 0, members: [{ id: 'n1' }, { id: 'n2' }] })
})

t.test('GET /status shows each member\'s incarnation, as /cluster/status does', async (t) => {
  const { base } = await start(t)
  const status = (await call(`${base}/status`)).body as { members: { id: string; incarnation: string }[] }
  const cluster = (await call(`${base}/cluster/status`)).body as { members: { id: string; incarnation: string }[] }
  t.same(status.members.map((m) => [m.id, m.incarnation]), [['n1', 'inc-n1'], ['n2', 'inc-n2']])
  t.same(status.members.map((m) => [m.id, m.incarnation]), cluster.members.map((m) => [m.id, m.incarnation]))
})

t.test('GET /health is 200 with a leader and 503 with Retry-After without', async (t) => {
  const { base, backend } = await start(t)
  t.equal((await call(`${base}/health`)).status, 200)
  backend.follow(null)
  const got = await call(`${base}/health`)
  t.equal(got.status, 503)
  t.equal(got.headers.get('retry-after'), '1')
})

t.test('GET /metrics serves the Prometheus text', async (t) => {
  const { base } = await start(t)
  const got = await call(`${base}/metrics`)
  t.equal(got.status, 200)
  t.match(got.body, /raftkv_up 1/)
})

t.test('no leader is 503 with Retry-After; unknown outcome is 504', async (t) => {
  const { base, backend } = await start(t)
  backend.clusterDown = true
  const down = await call(`${base}/key`, post({ key: 'k', value: 'v' }))
  t.equal(down.status, 503)
  t.equal(down.headers.get('retry-after'), '1')
  t.equal((await call(`${base}/key/k`)).status, 503)
  backend.clusterDown = false
  backend.unknownOutcome = true
  const unknown = await call(`${base}/key`, post({ key: 'k', value: 'v' }))
  t.equal(unknown.status, 504)
  t.match(unknown.body, { error: /may or may not have been applied/ })
})

t.test('bearer auth: 401 without or with a wrong token, 200 with it; /health stays open', async (t) => {
  const { base } = await start(t, { requirePass: 'sesame' })
  t.equal((await call(`${base}/key/k`)).status, 401)
  t.equal((await call(`${base}/key/k`, { headers: { Authorization: 'Bearer wrong' } })).status, 401)
  t.equal((await call(`${base}/key/k`, { headers: { Authorization: 'Bearer sesame' } })).status, 404)
  t.equal((await call(`${base}/health`)).status, 200)
})

t.test('an unknown path is a JSON 404 and a wrong method a 405', async (t) => {
  const { base } = await start(t)
  const got = await call(`${base}/nope`)
  t.equal(got.status, 404)
  t.match(got.body, { error: /no route/ })
  const wrong = await call(`${base}/key`, { method: 'GET' })
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.get('allow'), 'POST')
})

t.test('/cluster routes call backend.admin and map its errors', async (t) => {
  const { base, backend } = await start(t)
  t.same((await call(`${base}/cluster/status`)).body, JSON.parse(backend.statusJson()))
  t.equal((await call(`${base}/cluster/add`, post({ id: 'n3', raftAddr: '127.0.0.1:7103' }))).status, 200)
  t.same(backend.adminCalls.at(-1), { op: 'add', args: ['n3', '127.0.0.1:7103'] })
  t.equal((await call(`${base}/cluster/remove`, post({ id: 'nobody' }))).status, 400)
  t.equal((await call(`${base}/cluster/remove`, post({}))).status, 400)
  t.equal((await call(`${base}/cluster/bogus`)).status, 404)
  t.equal((await call(`${base}/cluster/snapshot`)).status, 405)
})
