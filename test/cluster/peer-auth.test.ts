// A node that does not know the cluster secret cannot join or talk to the
// cluster: it is refused with a log line on the member, and the cluster
// keeps serving.
import t from 'tap'
import { ProcessCluster } from './process-cluster.js'

t.test('a node with the wrong CLUSTER_SECRET is refused and the cluster keeps serving', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(1)
  const n1 = cluster.node('n1')
  const intruder = await cluster.addNode('n2')
  intruder.start({ CLUSTER_SECRET: 'not-the-right-secret' })
  await cluster.waitFor(async () => /join request failed|join refused/.test(intruder.output), 'the intruder to be refused')
  await cluster.waitFor(async () => /refus/i.test(n1.output), 'the member to log the refusal')
  const st = await n1.status()
  t.equal(st?.members.length, 1, 'the intruder was not added')
  const c = n1.redis()
  t.teardown(() => c.disconnect())
  t.equal(await c.set('still', 'serving'), 'OK')
})
