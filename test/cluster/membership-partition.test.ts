// A membership change while a follower is cut off: the majority adds and
// promotes a new node; once the partition heals, the cut-off follower learns
// the new configuration and catches up. Peer traffic runs through the fault
// suite's per-pair proxies (PEER_ADDR_OVERRIDES).
import t from 'tap'
import { JepsenCluster, statusOf } from '../jepsen/jepsen-cluster.js'
import type { ProcessNode } from './process-cluster.js'

t.test('a node joins while a follower is partitioned away, and the follower catches up after healing', async (t) => {
  const cluster = await JepsenCluster.create(3, 1, { LOG_LEVEL: 'info' }, Math.random)
  t.teardown(() => cluster.stop())
  await cluster.boot()
  const leader = await cluster.waitForLeader()
  const follower = cluster.nodes.slice(0, 3).find((n) => n !== leader) as ProcessNode
  const others = cluster.nodes.filter((n) => n !== follower).map((n) => n.spec.id)
  cluster.net.partition([[follower.spec.id], others])

  const c = leader.redis()
  t.teardown(() => c.disconnect())
  t.equal(await c.set('during-partition', '1'), 'OK', 'the majority still commits')

  const spare = cluster.node('n4')
  cluster.startNode(spare, leader.raftAddr)
  await cluster.processes.waitFor(async () => {
    const st = await statusOf(leader)
    return st !== null && st.members.some((m) => m.id === 'n4' && m.role === 'voter')
  }, 'n4 to join and be promoted while the follower is cut off')
  t.equal(await c.set('after-join', '2'), 'OK')

  cluster.net.heal()
  await cluster.processes.waitFor(async () => {
    const st = await statusOf(follower)
    return st !== null && st.members.length === 4 && st.members.some((m) => m.id === 'n4' && m.role === 'voter')
  }, 'the healed follower to learn the new configuration')
  const r = follower.redis()
  t.teardown(() => r.disconnect())
  t.equal(await r.get('after-join'), '2', 'the healed follower serves the latest write')
})
