import t from 'tap'
import { TestCluster, data, normalData } from './harness.js'

t.test('a three-node cluster elects a leader and commits a proposal on every node', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  const r = c.raft(leader).propose(data('x'))
  t.ok(r.ok)
  c.stabilize()
  c.tick(2)
  for (const n of c.nodes.values()) t.same(normalData(n.applied), ['x'], `${n.id} applied x`)
})
