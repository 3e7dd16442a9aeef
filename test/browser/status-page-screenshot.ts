// Makes the README's picture of the status page from a real cluster:
//   node dist/test/browser/status-page-screenshot.js [out.png]   (default docs/status-page.png)
// Three nodes under a steady mixed load for about a minute, with the events
// the page exists to show: the leader killed, brought back, leadership
// handed to n3 and then to n2, a snapshot taken on n2. Then n2's page (the leader's, with
// match, lag and last contact) is saved as a PNG. Needs Debian's chromium.
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Redis } from 'ioredis'
import { ProcessCluster, repoRoot, type ProcessNode } from '../cluster/process-cluster.js'
import { findChromium, launchChromium } from './chromium.js'

const loadLoops = 12
/** Between two requests of one load loop: keeps the cluster busy without starving the machine. */
const loopPauseMs = 3

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Mixed SET/GET against every node until `stop` is set; errors during elections are expected and waited out. */
async function loadLoop(clients: readonly Redis[], index: number, stop: { done: boolean }): Promise<void> {
  let n = 0
  while (!stop.done) {
    const client = clients[(index + n) % clients.length] as Redis
    const key = `key:${index}:${n % 500}`
    try {
      if (n % 3 === 0) await client.get(key)
      else await client.set(key, `value-${n}`)
    } catch {
      await sleep(100)
    }
    n++
    await sleep(loopPauseMs)
  }
}

async function post(node: ProcessNode, path: string, body: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`POST ${path} on ${node.spec.id}: ${res.status} ${await res.text()}`)
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? join(repoRoot, 'docs', 'status-page.png'))
  const chromium = findChromium()
  if (chromium === null) throw new Error('chromium is not on PATH (apt-get install -y chromium)')
  const cluster = new ProcessCluster()
  const browser = await launchChromium(chromium, { width: 1280, height: 900 })
  const stop = { done: false }
  let clients: Redis[] = []
  try {
    await cluster.start(3)
    const [n1, n2, n3] = [cluster.node('n1'), cluster.node('n2'), cluster.node('n3')]
    const page = await browser.context.newPage()
    await page.goto(`http://127.0.0.1:${n2.spec.httpPort}/`)
    clients = cluster.nodes.map((n) => n.redis())
    const loops = Array.from({ length: loadLoops }, (_, i) => loadLoop(clients, i, stop))
    const step = (what: string): void => console.log(`${new Date().toISOString()} ${what}`)
    step('load running')
    await sleep(15_000)
    const leader = await cluster.waitForLeader()
    step(`killing the leader ${leader.spec.id}`)
    await leader.kill('SIGKILL')
    await cluster.waitForLeader()
    await sleep(10_000)
    step(`restarting ${leader.spec.id}`)
    leader.start()
    await cluster.waitFor(async () => (await leader.status())?.leader !== null, `${leader.spec.id} to follow a leader`)
    await sleep(8_000)
    // Leadership moves by transfer to n3 (unless it leads already), then to n2: the page ends on the leader's view.
    for (const target of [n3, n2]) {
      if ((await cluster.waitForLeader()) === target) continue
      step(`handing leadership to ${target.spec.id}`)
      await post(n1, '/cluster/transfer-leader', { id: target.spec.id })
      await cluster.waitFor(async () => (await target.status())?.role === 'leader', `${target.spec.id} to lead`)
      await sleep(5_000)
    }
    step('snapshot on n2')
    await post(n2, '/cluster/snapshot', {})
    await sleep(15_000)
    await page.locator('#leader', { hasText: 'n2' }).waitFor()
    mkdirSync(dirname(out), { recursive: true })
    await page.screenshot({ path: out, fullPage: true })
    step(`saved ${out}`)
    stop.done = true
    await Promise.all(loops)
  } finally {
    stop.done = true
    for (const c of clients) c.disconnect()
    await browser.close()
    await cluster.stop()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
