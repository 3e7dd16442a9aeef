// A real 3-node cluster of bin/raftkv processes: bootstrap and join, writes
// through a follower, linearizable reads from every node, leader failover,
// and a killed node catching up after restart.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

t.test('a three-node cluster serves, fails over and catches up', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(3)

  const leader = await cluster.waitForLeader()
  const follower = cluster.nodes.find((n) => n !== leader) as ProcessNode

  await t.test('a write through a follower is readable on every node', async (t) => {
    const c = follower.redis()
    t.teardown(() => c.disconnect())
    t.equal(await c.set('greeting', 'hello'), 'OK')
    for (const node of cluster.nodes) {
      const r = node.redis()
      t.equal(await r.get('greeting'), 'hello', `read on ${node.spec.id}`)
      r.disconnect()
    }
  })

  await t.test('killing the leader elects a new one within two seconds of detection', async (t) => {
    const old = (await cluster.waitForLeader()) as ProcessNode
    const killedAt = Date.now()
    await old.kill('SIGKILL')
    const next = await cluster.waitForLeader(10_000)
    t.not(next.spec.id, old.spec.id)
    t.ok(Date.now() - killedAt < 5000, `new leader after ${Date.now() - killedAt} ms`)
    const c = next.redis()
    t.teardown(() => c.disconnect())
    t.equal(await c.set('after-failover', '1'), 'OK')
    t.equal(await c.incr('counter'), 1)

    await t.test('the killed node restarts and catches up', async (t) => {
      old.start()
      await cluster.waitFor(async () => {
        const st = await old.status()
        return st !== null && st.role === 'follower' && st.appliedIndex >= 1
      }, 'restarted node to follow')
      const r = old.redis()
      t.teardown(() => r.disconnect())
      t.equal(await r.get('after-failover'), '1')
      t.equal(await r.get('counter'), '1')
    })
  })
})
