// TTLs under clock skew (issue 18), with real processes: two followers run on
// wall clocks two minutes ahead and two minutes behind the leader
// (RAFTKV_TEST_CLOCK_OFFSET_MS, test mode only). A read decides expiry on the
// cluster clock the leader stamps, not on the serving node's own: a key with a
// minute left is present on the node running ahead, its time left is the
// leader's on both, and a key the leader sees expired is gone on both.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

const skewMs = 120_000

t.test('a read on a follower whose clock is skewed by minutes decides TTL expiry on the leader\'s clock', async (t) => {
  const cluster = new ProcessCluster({ RAFTKV_TEST_MODE: 'yes' })
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const leader = await cluster.waitForLeader()
  const [ahead, behind] = cluster.nodes.filter((n) => n !== leader) as [ProcessNode, ProcessNode]
  for (const [node, offsetMs] of [[ahead, skewMs], [behind, -skewMs]] as const) {
    await node.kill('SIGTERM')
    node.start({ RAFTKV_TEST_CLOCK_OFFSET_MS: String(offsetMs) })
    await cluster.waitFor(async () => (await node.status())?.role === 'follower', `${node.spec.id} to follow again with its clock ${offsetMs} ms off`)
  }

  const onLeader = leader.redis()
  const onAhead = ahead.redis()
  const onBehind = behind.redis()
  t.teardown(() => {
    for (const c of [onLeader, onAhead, onBehind]) c.disconnect()
  })

  t.equal(await onLeader.set('minute-left', 'v1', 'PX', 60_000), 'OK')
  t.equal(await onAhead.get('minute-left'), 'v1', 'present on the node running two minutes ahead')
  t.equal(await onBehind.get('minute-left'), 'v1', 'and on the node running behind')
  // The time left is the leader's: a node two minutes behind would otherwise count three minutes.
  for (const [name, c] of [['ahead', onAhead], ['behind', onBehind]] as const) {
    const leftMs = await c.pttl('minute-left')
    t.ok(leftMs > 0 && leftMs <= 60_000, `PTTL on the node running ${name} is at most the minute the leader gave it (${leftMs} ms)`)
  }

  t.equal(await onLeader.set('brief', 'v2', 'PX', 500), 'OK')
  await cluster.waitFor(async () => (await onLeader.get('brief')) === null, 'the leader to see brief expired')
  t.equal(await onBehind.get('brief'), null, 'gone on the node running two minutes behind once the leader saw it gone')
  t.equal(await onAhead.get('brief'), null, 'and on the node running ahead')
})
