// The status page in a real browser (headless Chromium): a 3-node cluster of
// real processes, the page of a follower, the leader killed; then the node
// serving the page killed. And the REQUIREPASS flow against the HTTP shim.
// Screenshots go to test/artifacts/ (gitignored) for a look after a CI run.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Page } from 'playwright-core'
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { silentLogger } from '../../lib/util/logger.js'
import { ProcessCluster, repoRoot, type ProcessNode } from '../cluster/process-cluster.js'
import { FakeBackend } from '../server/fake-backend.js'
import { skipWhenMissing } from '../util/missing-tool.js'
import { findChromium, launchChromium, type Browser } from './chromium.js'

const chromiumPath = findChromium()
const artifactsDir = join(repoRoot, 'test', 'artifacts')
/** Generous: an election takes about a second here; the page polls once a second. */
const seeMs = 30_000

/** Polls a condition on the page from the test (no DOM types needed here) until it holds or seeMs pass. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seeMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${seeMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// .ci/run installs chromium; under CI=true a missing browser fails here instead of skipping.
const missing = skipWhenMissing(chromiumPath === null ? 'chromium is not on PATH (apt-get install -y chromium)' : false)
if (missing !== false || chromiumPath === null) {
  t.plan(0, missing || 'chromium is not on PATH')
} else {
  // Launched while the first test starts its cluster; both take seconds.
  const launched: Promise<Browser> = launchChromium(chromiumPath)
  t.teardown(async () => {
    await (await launched).close()
  })
  const newPage = async (): Promise<Page> => {
    const page = await (await launched).context.newPage()
    page.setDefaultTimeout(seeMs)
    return page
  }

  t.test('the page shows three members and one leader, then the new leader and term after the leader is killed', async (t) => {
    const cluster = new ProcessCluster()
    t.teardown(() => cluster.stop())
    await cluster.start(3)
    const leader = await cluster.waitForLeader()
    const viewed = cluster.nodes.find((n) => n !== leader) as ProcessNode
    const before = await viewed.status()
    t.ok(before, 'the viewed node answers /status')
    // A little traffic so the charts and the match column have something to show.
    const client = viewed.redis()
    await Promise.all(Array.from({ length: 200 }, (_, i) => client.set(`key${i}`, `value${i}`)))
    await Promise.all(Array.from({ length: 100 }, (_, i) => client.get(`key${i}`)))
    client.disconnect()

    const page = await newPage()
    t.teardown(() => page.close())
    await page.goto(`http://127.0.0.1:${viewed.spec.httpPort}/`)
    const rows = page.locator('#members tbody tr')
    await until(async () => (await rows.count()) === 3)
    t.equal(await rows.count(), 3, 'three members listed')
    await page.locator('#leader', { hasText: leader.spec.id }).waitFor()
    t.equal(await page.locator('#members tr.is-leader').count(), 1, 'exactly one member marked leader')
    t.equal(await page.locator('#members tr.is-leader').getAttribute('data-member'), leader.spec.id, 'the leader row is the leader /status names')
    const termBefore = Number(await page.locator('#term').textContent())
    t.equal(termBefore, before?.term, 'the term is the one /status reports')

    const killedAtMs = Date.now()
    await leader.kill('SIGKILL')
    await until(async () => {
      const shown = (await page.locator('#leader').textContent()) ?? ''
      return shown !== leader.spec.id && shown !== 'none' && shown !== '' && Number(await page.locator('#term').textContent()) > termBefore
    })
    const seenAfterMs = Date.now() - killedAtMs
    const newLeaderShown = (await page.locator('#leader').textContent()) ?? ''
    const termAfter = Number(await page.locator('#term').textContent())
    const newLeader = await cluster.waitForLeader()
    t.equal(newLeaderShown, newLeader.spec.id, 'the page names the leader the cluster elected')
    t.ok(termAfter > termBefore, `the term moved on (${termBefore} -> ${termAfter})`)
    await page.locator(`#changes li[data-term="${termAfter}"][data-leader="${newLeaderShown}"]`).waitFor()
    t.pass('the leadership timeline lists the new term and leader')
    t.comment(`failover seen on the page: leader ${leader.spec.id} term ${termBefore} -> ${newLeaderShown} term ${termAfter}, ${seenAfterMs} ms after SIGKILL`)
    mkdirSync(artifactsDir, { recursive: true })
    await page.screenshot({ path: join(artifactsDir, 'status-page-failover.png'), fullPage: true })

    // Now the node serving the page dies: the page says so and links the others.
    await viewed.kill('SIGKILL')
    await page.locator('#down').waitFor({ state: 'visible' })
    t.match(await page.locator('#down-text').textContent(), new RegExp(`This node, ${viewed.spec.id} .* is not answering`), 'the page says its node is not answering')
    const hrefs = await Promise.all((await page.locator('#down-links a').all()).map(async (a) => (await a.getAttribute('href')) ?? ''))
    const others = cluster.nodes.filter((n) => n !== viewed).map((n) => `http://127.0.0.1:${n.spec.httpPort}/`)
    t.same(hrefs.sort(), others.sort(), "it offers the other members' pages")
    await page.screenshot({ path: join(artifactsDir, 'status-page-node-down.png'), fullPage: true })
  })

  t.test('with REQUIREPASS the page asks for the password once and then shows the node', async (t) => {
    const backend = new FakeBackend()
    const server = await startHttpServer({ addr: '127.0.0.1:0', backend, logger: silentLogger(), metricsText: async () => '', requirePass: 'sesame-123' })
    t.teardown(() => server.close())
    const page = await newPage()
    t.teardown(() => page.close())
    await page.goto(`http://127.0.0.1:${server.address.port}/`)
    await page.locator('#login').waitFor({ state: 'visible' })
    t.equal(await page.locator('#leader').textContent(), '–', 'nothing about the node is shown before the password')
    await page.fill('#login-password', 'wrong')
    await page.click('#login button')
    await page.locator('#login-error').waitFor({ state: 'visible' })
    t.pass('a wrong password is refused and said so')
    await page.fill('#login-password', 'sesame-123')
    await page.click('#login button')
    await page.locator('#leader', { hasText: 'n1' }).waitFor()
    t.equal(await page.locator('#members tbody tr').count(), 2, 'the members appear once the password is given')
    await page.reload()
    await page.locator('#leader', { hasText: 'n1' }).waitFor()
    t.ok(await page.locator('#login').isHidden(), 'a reload in the same tab does not ask again')
  })
}
