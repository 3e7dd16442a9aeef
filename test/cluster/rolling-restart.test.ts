// A rolling restart of all five nodes (SIGTERM, restart, wait until caught
// up, next) under a steady write load. A leader stopping on SIGTERM hands
// leadership over first, so no write fails once a client retries as the
// README documents (on -CLUSTERDOWN, -TIMEOUT or a lost connection, against
// another node).
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

const retriesMax = 20

t.test('a rolling restart of five nodes under write load loses no write', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(5)

  let acknowledged = 0
  const acknowledgedKeys: string[] = []
  let failedAfterRetries = 0
  let retried = 0
  let stop = false
  const clients = new Map<ProcessNode, ReturnType<ProcessNode['redis']>>()
  const clientFor = (node: ProcessNode): ReturnType<ProcessNode['redis']> => {
    let c = clients.get(node)
    if (c === undefined || c.status === 'end') {
      c = node.redis()
      clients.set(node, c)
    }
    return c
  }
  const writer = (async () => {
    let n = 0
    while (!stop) {
      n++
      let done = false
      for (let attempt = 0; attempt < retriesMax && !done; attempt++) {
        const running = cluster.nodes.filter((x) => x.running())
        const node = running[(n + attempt) % running.length] as ProcessNode
        try {
          // SET of a unique key is idempotent, so retrying an unknown outcome is safe.
          await clientFor(node).set(`roll:${n}`, String(n))
          done = true
        } catch {
          retried++
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      if (done) {
        acknowledged++
        acknowledgedKeys.push(`roll:${n}`)
      }
      else failedAfterRetries++
    }
    return n
  })()

  for (const node of cluster.nodes) {
    await node.kill('SIGTERM')
    t.equal(node.exitCode, 0, `${node.spec.id} stopped cleanly`)
    node.start()
    await cluster.waitFor(async () => {
      const leader = await cluster.leader()
      const [st, lst] = await Promise.all([node.status(), leader?.status()])
      return st !== null && lst !== null && lst !== undefined && st.appliedIndex >= lst.commitIndex - 5
    }, `${node.spec.id} to catch up`)
  }
  stop = true
  const attempted = await writer
  for (const c of clients.values()) c.disconnect()
  t.comment(`${attempted} writes, ${acknowledged} acknowledged, ${retried} retries`)
  t.equal(failedAfterRetries, 0, 'no write failed beyond the documented retries')
  t.ok(acknowledged > 0, 'writes were acknowledged during the restarts')

  const leader = await cluster.waitForLeader()
  const c = leader.redis()
  t.teardown(() => c.disconnect())
  const values = await c.mget(...acknowledgedKeys)
  const missing = acknowledgedKeys.filter((k, i) => values[i] !== k.slice('roll:'.length))
  t.same(missing, [], `every acknowledged write is present (${acknowledged} checked)`)
})
