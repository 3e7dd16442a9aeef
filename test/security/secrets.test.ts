// Secrets never leave the node: a real node started with REQUIREPASS and
// CLUSTER_SECRET is put through everything that writes text (failed and
// good AUTH, INFO, CLIENT LIST, /status, /metrics, /cluster/status, a 401, a
// peer with the wrong secret, debug logging), and none of that text holds
// the password, the cluster secret, or a wrong password a client guessed.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from '../cluster/process-cluster.js'
import { RawClient } from '../server/helpers.js'

const PASSWORD = 'pw-Zq81-requirepass-value'
const CLUSTER_SECRET = 'cs-Hy27-cluster-secret-value'
const WRONG_GUESS = 'guess-Kd55-wrong-password'
const OTHER_SECRET = 'os-Wm93-other-cluster-secret'

async function httpText(node: ProcessNode, path: string, token: string | null): Promise<string> {
  const headers: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` }
  const response = await fetch(`http://127.0.0.1:${node.spec.httpPort}${path}`, { headers, signal: AbortSignal.timeout(5000) })
  return `${response.status} ${await response.text()}`
}

t.test('no secret appears in logs, INFO, CLIENT LIST, /status, /metrics or error messages', async (t) => {
  const cluster = new ProcessCluster({ REQUIREPASS: PASSWORD, CLUSTER_SECRET, LOG_LEVEL: 'trace' })
  t.teardown(() => cluster.stop())
  const node = await cluster.addNode('n1')
  node.start()
  await cluster.waitFor(async () => (await httpText(node, '/status', PASSWORD).catch(() => '')).includes('"role":"leader"'), 'n1 to lead')

  const seen: string[] = []
  const client = await RawClient.connect(node.spec.respPort, t)
  for (const args of [
    ['GET', 'k'],
    ['AUTH', WRONG_GUESS],
    ['AUTH', 'default', WRONG_GUESS],
    ['HELLO', '2', 'AUTH', 'default', WRONG_GUESS],
    ['AUTH', PASSWORD],
    ['SET', 'k', 'v'],
    ['INFO', 'everything'],
    ['INFO', 'all'],
    ['CLIENT', 'LIST'],
    ['CLIENT', 'INFO'],
    ['CONFIG', 'GET', 'requirepass'],
    ['CONFIG', 'GET', '*'],
    ['RAFT', 'STATUS'],
    ['HELLO', '2', 'AUTH', 'default', PASSWORD],
  ]) {
    seen.push(JSON.stringify(await client.command(...args)))
  }
  seen.push(await httpText(node, '/status', PASSWORD))
  seen.push(await httpText(node, '/metrics', PASSWORD))
  seen.push(await httpText(node, '/cluster/status', PASSWORD))
  seen.push(await httpText(node, '/status', WRONG_GUESS))
  seen.push(await httpText(node, '/status', null))

  // A node of another cluster secret knocks on the peer port.
  const stranger = await cluster.addNode('x9')
  stranger.start({ CLUSTER_SECRET: OTHER_SECRET, JOIN: node.raftAddr })
  await cluster.waitFor(async () => node.output.includes('refused peer connection'), 'the refusal to be logged')
  await stranger.kill('SIGTERM')
  await node.kill('SIGTERM')

  const everything = [...seen, node.output].join('\n')
  t.ok(everything.includes('NOAUTH'), 'the transcript is real')
  t.ok(everything.includes('"role":"leader"'))
  for (const secret of [PASSWORD, CLUSTER_SECRET, WRONG_GUESS, OTHER_SECRET]) {
    t.notOk(everything.includes(secret), `${secret.slice(0, 2)}… appears nowhere`)
  }
  t.notOk(stranger.output.includes(CLUSTER_SECRET) || stranger.output.includes(OTHER_SECRET), 'nor in the refused node’s own log')
})
