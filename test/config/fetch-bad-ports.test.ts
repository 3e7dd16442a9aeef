// The blocked-port list matches what Node's fetch refuses, and start-up warns about an HTTP port on it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { startNode } from '../../lib/app/start-node.js'
import { FETCH_BAD_PORTS, fetchBlockedPortWarning } from '../../lib/config/fetch-bad-ports.js'
import { parseNodeConfig } from '../../lib/config/node-config.js'
import { canListen, freePort } from '../cluster/process-cluster.js'
import { minimalEnv } from './fixtures/minimal-env.js'

/** Whether Node's fetch refuses 127.0.0.1:port as a bad port (before connecting). */
async function refusedAsBadPort(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })
    return false
  } catch (err) {
    return /bad port/.test(String((err as { cause?: unknown }).cause))
  }
}

t.test('Node\'s fetch refuses every port on the list', async (t) => {
  const notRefused: number[] = []
  for (const port of FETCH_BAD_PORTS) if (!(await refusedAsBadPort(port))) notRefused.push(port)
  t.same(notRefused, [])
})

t.test('the ports next to listed ones are not refused as bad ports', async (t) => {
  // Nothing listens on most of these; a refused connection (or the 2 s timeout) is not "bad port".
  const neighbours = [...FETCH_BAD_PORTS].flatMap((p) => [p - 1, p + 1]).filter((p) => p > 0 && !FETCH_BAD_PORTS.has(p))
  const refused: number[] = []
  await Promise.all(neighbours.map(async (port) => {
    if (await refusedAsBadPort(port)) refused.push(port)
  }))
  t.same(refused, [])
})

t.test('an HTTP port on the list gets a warning naming the variable and the port', async (t) => {
  const warning = fetchBlockedPortWarning('HTTP_ADDR', 10080)
  t.match(warning, /^HTTP_ADDR port 10080 .*browsers and fetch\(\) refuse/)
})

t.test('an HTTP port off the list gets no warning', async (t) => {
  t.equal(fetchBlockedPortWarning('HTTP_ADDR', 8080), null)
  t.equal(fetchBlockedPortWarning('HTTP_ADDR', 10081), null)
})

t.test('a node whose HTTP_ADDR is on the list logs the warning at start-up', async (t) => {
  // The first unprivileged listed port free on this machine (most are).
  let port = 0
  for (const p of FETCH_BAD_PORTS) {
    if (p >= 1024 && (await canListen(p))) {
      port = p
      break
    }
  }
  t.not(port, 0, 'a listed port above 1023 is free')
  const root = mkdtempSync(join(tmpdir(), 'raftkv-badport-'))
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
  const config = parseNodeConfig({
    ...minimalEnv,
    RAFT_ADDR: `127.0.0.1:${await freePort()}`,
    RESP_ADDR: `127.0.0.1:${await freePort()}`,
    HTTP_ADDR: `127.0.0.1:${port}`,
    DATA_DIR: join(root, 'n1'),
  })
  const node = await startNode(config, logger, { processMetrics: false })
  try {
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40)
    t.ok(warnings.some((w) => w.msg.startsWith(`HTTP_ADDR port ${port} `)), `the warning is logged for port ${port}`)
  } finally {
    await node.stop()
    rmSync(root, { recursive: true, force: true })
  }
})
