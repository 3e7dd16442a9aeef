// Seven real processes: all join, and the cluster stays available after
// losing three of them (the leader among them), as a quorum of four remains.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

t.test('seven nodes join, and four of them keep the cluster available', async (t) => {
  const cluster = new ProcessCluster({ LOG_LEVEL: 'warn' })
  t.teardown(() => cluster.stop())
  await cluster.start(7)
  const leader = await cluster.waitForLeader()
  const c = leader.redis()
  t.equal(await c.set('seven', '7'), 'OK')
  c.disconnect()
  const victims = [leader, ...cluster.nodes.filter((n) => n !== leader).slice(0, 2)]
  for (const v of victims) await v.kill('SIGKILL')
  const next = await cluster.waitForLeader(20_000)
  t.notOk(victims.includes(next), 'a surviving node leads')
  const survivors = cluster.nodes.filter((n) => n.running()) as ProcessNode[]
  t.equal(survivors.length, 4)
  const r = (survivors[0] as ProcessNode).redis()
  t.teardown(() => r.disconnect())
  t.equal(await r.set('after-three-failures', 'yes'), 'OK')
  t.equal(await r.get('seven'), '7')
})
