// Runtime seed 402492 on real processes: a voter that was down while other
// members were replaced comes back with a log that lists their previous
// incarnations, and the only quorum left needs its vote. Five voters: one
// stays down while two others are replaced, one at a time (a quorum of live
// voters throughout), then the two never replaced are killed. Before the
// fix the stale voter dropped the replaced members' vote requests (and they
// dropped its own, stamped for their old incarnations): no leader, ever. It
// must now help elect one, then catch up from it and serve every
// acknowledged write.
import t from 'tap'
import { missingOn, replace, writeKeys } from './node-replacement.js'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

t.test('5 nodes: a voter back from an outage helps elect a member replaced while it was down', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(5)
  const acked = new Map<string, string>()
  const leader = await cluster.waitForLeader()
  const [stale, a, b, kept] = cluster.nodes.filter((n) => n !== leader) as [ProcessNode, ProcessNode, ProcessNode, ProcessNode]
  await writeKeys(leader, 'before', 100, acked)

  await stale.kill('SIGKILL')
  await replace(cluster, a, leader, 5)
  await replace(cluster, b, leader, 5)
  await writeKeys(await cluster.waitForLeader(), 'replaced', 100, acked)

  // Of five voters, a, b and the stale one are a quorum only together.
  await leader.kill('SIGKILL')
  await kept.kill('SIGKILL')
  stale.start()
  const next = await cluster.waitForLeader(60_000)
  t.not(next, stale, "a replaced member leads (the stale voter's log is behind)")
  await writeKeys(next, 'after', 100, acked)
  t.equal(acked.size, 300, 'every write was acknowledged')
  await cluster.waitFor(async () => (await missingOn(stale, acked)) === 0, `${stale.spec.id} to serve all ${acked.size} acknowledged writes`)
  for (const node of [a, b]) t.equal(await missingOn(node, acked), 0, `${node.spec.id} serves all ${acked.size} acknowledged writes`)
})
