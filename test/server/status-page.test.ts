// GET / serves the status page: static files with no data, open without the
// bearer token, under a CSP that keeps the page to this node; GET /status
// carries the numbers the page draws. The page in a real browser is
// test/browser/status-page.test.ts.
import https from 'node:https'
import t, { type Test } from 'tap'
import { startHttpServer, type HttpServerOptions } from '../../lib/server/http/http-server.js'
import type { StatusDetail } from '../../lib/server/http/status-body.js'
import { silentLogger } from '../../lib/util/logger.js'
import { makePki } from '../security/tls-certs.js'
import { FakeBackend } from './fake-backend.js'

async function start(t: Test, options: Partial<HttpServerOptions> = {}): Promise<{ base: string; backend: FakeBackend }> {
  const backend = new FakeBackend()
  const server = await startHttpServer({ addr: '127.0.0.1:0', backend, logger: silentLogger(), metricsText: async () => '', ...options })
  t.teardown(() => server.close())
  return { base: `http://127.0.0.1:${server.address.port}`, backend }
}

const detail: StatusDetail = {
  nowMs: 2_000_000,
  startedAtMs: 1_000_000,
  incarnation: 'inc-n1',
  firstIndex: 1,
  lastIndex: 42,
  members: new Map([
    ['n1', { match: 42, lag: 0, lastContactMs: 0, state: 'replicate', connection: 'self' }],
    ['n2', { match: 40, lag: 2, lastContactMs: 30, state: 'replicate', connection: 'connected' }],
  ]),
  load: null,
  loadHistory: [],
  leaderChanges: [{ atMs: 1_000_100, term: 3, leader: 'n1' }],
  snapshots: { saved: { count: 1, lastAtMs: 1_500_000 }, installed: { count: 0, lastAtMs: null }, sent: { count: 2, lastAtMs: 1_600_000 } },
}

t.test('GET / serves the page and its files without a token, under a same-origin CSP', async (t) => {
  const { base } = await start(t, { requirePass: 'secret-pass' })
  const page = await fetch(`${base}/`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /^text\/html/)
  const csp = page.headers.get('content-security-policy') ?? ''
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'self'/)
  t.match(csp, /connect-src 'self'/)
  t.equal(page.headers.get('x-content-type-options'), 'nosniff')
  const html = await page.text()
  t.notMatch(html, /https?:\/\//, 'nothing is loaded from another origin')
  t.notMatch(html, /<script>|<style>| style=/, 'no inline script or style (the CSP would block it)')
  const js = await fetch(`${base}/status-page/page.js`)
  t.equal(js.status, 200)
  t.match(js.headers.get('content-type'), /^text\/javascript/)
  t.match(await js.text(), /fetch\('\/status'/)
  const css = await fetch(`${base}/status-page/page.css`)
  t.equal(css.status, 200)
  t.match(css.headers.get('content-type'), /^text\/css/)
  const head = await fetch(`${base}/`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(await head.text(), '')
})

t.test('the data behind the page still needs the token; other methods on / are refused', async (t) => {
  const { base } = await start(t, { requirePass: 'secret-pass' })
  t.equal((await fetch(`${base}/status`)).status, 401)
  t.equal((await fetch(`${base}/status`, { headers: { Authorization: 'Bearer secret-pass' } })).status, 200)
  t.equal((await fetch(`${base}/status-page/other.js`, { headers: { Authorization: 'Bearer secret-pass' } })).status, 404, 'only the page files are served')
  const posted = await fetch(`${base}/`, { method: 'POST', headers: { Authorization: 'Bearer secret-pass' } })
  t.equal(posted.status, 405)
  t.equal(posted.headers.get('allow'), 'GET,HEAD')
})

t.test("GET /status adds the runtime's detail: member progress and connection, load, leader changes, snapshots", async (t) => {
  const { base } = await start(t, { statusDetail: () => detail })
  const body = (await (await fetch(`${base}/status`)).json()) as Record<string, unknown>
  t.match(body, { id: 'n1', role: 'leader', term: 3, leader: 'n1', nowMs: 2_000_000, startedAtMs: 1_000_000, incarnation: 'inc-n1', firstIndex: 1, lastIndex: 42, load: null })
  t.same(body['leaderChanges'], detail.leaderChanges)
  t.same(body['snapshots'], detail.snapshots)
  t.same(body['members'], [
    { id: 'n1', role: 'voter', raftAddr: '127.0.0.1:7101', respAddr: '127.0.0.1:7001', httpAddr: '127.0.0.1:7201', incarnation: 'inc-n1', match: 42, lag: 0, lastContactMs: 0, state: 'replicate', connection: 'self' },
    { id: 'n2', role: 'voter', raftAddr: '127.0.0.1:7102', respAddr: '127.0.0.1:7002', httpAddr: '127.0.0.1:7202', incarnation: 'inc-n2', match: 40, lag: 2, lastContactMs: 30, state: 'replicate', connection: 'connected' },
  ])
})

t.test('a member the detail does not know is shown with unknown progress, not dropped', async (t) => {
  const { base } = await start(t, { statusDetail: () => ({ ...detail, members: new Map() }) })
  const body = (await (await fetch(`${base}/status`)).json()) as { members: Record<string, unknown>[] }
  t.equal(body.members.length, 2)
  t.match(body.members[1], { id: 'n2', match: null, lag: null, lastContactMs: null, state: null, connection: 'down' })
})

t.test('with client TLS the page is served over https', async (t) => {
  const pki = makePki(t)
  const own = pki.issue('server')
  const backend = new FakeBackend()
  const server = await startHttpServer({ addr: '127.0.0.1:0', backend, logger: silentLogger(), metricsText: async () => '', tls: { cert: own.cert, key: own.key, ca: null } })
  t.teardown(() => server.close())
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: server.address.port, path: '/', ca: pki.ca }, (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk.toString()))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
  t.equal(answer.status, 200)
  t.match(answer.body, /<title>raftkv status<\/title>/)
})
