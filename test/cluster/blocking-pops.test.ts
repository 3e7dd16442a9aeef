// Blocking pops on a real 3-node cluster, through ioredis: a client blocked
// on a follower is released by a push through another node, a pop lost to
// another client keeps its client waiting, a timeout answers null, and a
// blocked client keeps waiting across a leader change and gets the element
// pushed through the new leader. Every push waits first until the node shows
// its clients blocked (INFO clients' blocked_clients, as Redis reports it), so
// each test proves a wait was released, not a pop that found data at once.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

/** `blocked_clients` of the node's INFO clients, asked over a connection of its own. */
async function blockedClients(node: ProcessNode): Promise<number> {
  const probe = node.redis()
  try {
    const info = await probe.info('clients')
    return Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? NaN)
  } finally {
    probe.disconnect()
  }
}

t.test('blocking pops on a three-node cluster', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const leader = await cluster.waitForLeader()
  const followers = cluster.nodes.filter((n) => n !== leader) as [ProcessNode, ProcessNode]

  const waitBlocked = (node: ProcessNode, count: number): Promise<void> =>
    cluster.waitFor(async () => (await blockedClients(node)) === count, `${count} blocked client(s) on ${node.spec.id}`)

  await t.test('BLPOP on a follower is released by an RPUSH through another node', async (t) => {
    const waiter = followers[0].redis()
    const pusher = followers[1].redis()
    t.teardown(() => { waiter.disconnect(); pusher.disconnect() })
    const popped = waiter.blpop('queue', 0)
    // The waiter is blocked on an empty list; the push through another follower releases it.
    await waitBlocked(followers[0], 1)
    const lister = followers[0].redis()
    t.teardown(() => lister.disconnect())
    t.match(String(await lister.client('LIST')), /flags=b /, 'CLIENT LIST flags the waiter b')
    t.equal(await pusher.exists('queue'), 0)
    t.equal(await pusher.rpush('queue', 'job-1'), 1)
    t.same(await popped, ['queue', 'job-1'])
    t.equal(await pusher.llen('queue'), 0)
  })

  await t.test('two clients wait for one element: one gets it, the other goes on waiting', async (t) => {
    const a = followers[0].redis()
    const b = followers[1].redis()
    const pusher = leader.redis()
    t.teardown(() => { a.disconnect(); b.disconnect(); pusher.disconnect() })
    const first = a.brpop('jobs', 0)
    const second = b.brpop('jobs', 0)
    await Promise.all([waitBlocked(followers[0], 1), waitBlocked(followers[1], 1)])
    await pusher.lpush('jobs', 'one')
    const winner = await Promise.race([first, second])
    t.same(winner, ['jobs', 'one'])
    // The loser is blocked again (or still) on its node, and no one else is.
    await cluster.waitFor(async () => (await blockedClients(followers[0])) + (await blockedClients(followers[1])) === 1, 'the other client to go on waiting')
    await pusher.lpush('jobs', 'two')
    const both = (await Promise.all([first, second])).map((r) => (r as [string, string])[1]).sort()
    t.same(both, ['one', 'two'])
  })

  await t.test('a timeout answers null; BLMOVE and BZPOPMIN wait the same way', async (t) => {
    const c = followers[1].redis()
    const pusher = followers[0].redis()
    t.teardown(() => { c.disconnect(); pusher.disconnect() })
    t.equal(await c.blpop('never', 0.2), null)
    const moved = c.blmove('src', 'dst', 'LEFT', 'RIGHT', 0)
    const d = followers[0].redis()
    t.teardown(() => d.disconnect())
    const zpopped = d.bzpopmin('scores', 0)
    await Promise.all([waitBlocked(followers[1], 1), waitBlocked(followers[0], 1)])
    await pusher.rpush('src', 'm')
    await pusher.zadd('scores', 2, 'b', 1, 'a')
    t.equal(await moved, 'm')
    t.same(await pusher.lrange('dst', 0, -1), ['m'])
    t.same(await zpopped, ['scores', 'a', '1'])
  })

  await t.test('a client blocked on a follower keeps waiting across a leader change', async (t) => {
    const waiterNode = followers[0]
    const waiter = waiterNode.redis()
    t.teardown(() => waiter.disconnect())
    const popped = waiter.blpop('failover-queue', 0)
    await waitBlocked(waiterNode, 1)
    await leader.kill('SIGKILL')
    const next = await cluster.waitForLeader(20_000)
    t.not(next.spec.id, leader.spec.id)
    const pusher = next.redis()
    t.teardown(() => pusher.disconnect())
    t.equal(await blockedClients(waiterNode), 1, 'still blocked under the new leader')
    await pusher.rpush('failover-queue', 'after-failover')
    t.same(await popped, ['failover-queue', 'after-failover'])
  })
})
