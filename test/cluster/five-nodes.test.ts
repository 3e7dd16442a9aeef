// A five-node cluster of real processes: bootstrap and join, then the loss of
// two nodes (the leader among them) leaves a quorum of three that elects a
// leader and keeps accepting writes.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

t.test('five nodes join, and three of them keep the cluster available', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(5)
  const leader = await cluster.waitForLeader()
  const c = leader.redis()
  t.equal(await c.set('five', '5'), 'OK')
  c.disconnect()

  const follower = cluster.nodes.find((n) => n !== leader) as ProcessNode
  await leader.kill('SIGKILL')
  await follower.kill('SIGKILL')
  const next = await cluster.waitForLeader(15_000)
  t.not(next.spec.id, leader.spec.id)
  const survivors = cluster.nodes.filter((n) => n.running())
  t.equal(survivors.length, 3)
  for (const node of survivors) {
    const r = node.redis()
    t.equal(await r.incr('after-two-failures'), survivors.indexOf(node) + 1, `write through ${node.spec.id}`)
    t.equal(await r.get('five'), '5', `read on ${node.spec.id}`)
    r.disconnect()
  }
})
