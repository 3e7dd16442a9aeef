// A linearizable read is confirmed by a heartbeat round to just enough
// followers to make a quorum (lib/raft/read-only.ts, askQuorum): in three
// nodes, one follower. Whichever follower dies, reads must go on: the leader
// asks every voter at the next tick while a round is unconfirmed, and then
// asks the follower that answered. Real processes, real SIGKILL.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

const READS_PER_BURST = 300

t.test('linearizable GETs go on answering when either follower of three is killed', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const leader = await cluster.waitForLeader()
  const client = leader.redis()
  t.teardown(() => client.disconnect())
  t.equal(await client.set('rounds', 'v1'), 'OK')

  for (const follower of cluster.nodes.filter((n) => n !== leader)) {
    const id = follower.spec.id
    // A burst of reads in flight while the follower dies, then reads after it.
    const during = Array.from({ length: READS_PER_BURST }, () => client.get('rounds'))
    await follower.kill('SIGKILL')
    const after = Array.from({ length: READS_PER_BURST }, () => client.get('rounds'))
    const answers = await Promise.all([...during, ...after])
    t.equal(answers.filter((a) => a === 'v1').length, 2 * READS_PER_BURST, `every read answered v1 with ${id} killed`)
    t.equal(await client.set('rounds', 'v1'), 'OK', `writes go on without ${id}`)

    follower.start()
    await waitCaughtUp(cluster, follower, leader)
  }
})

/** Until `node` follows `leader` and has applied everything the leader has committed. */
async function waitCaughtUp(cluster: ProcessCluster, node: ProcessNode, leader: ProcessNode): Promise<void> {
  await cluster.waitFor(async () => {
    const [mine, theirs] = await Promise.all([node.status(), leader.status()])
    return mine !== null && theirs !== null && mine.role === 'follower' && mine.leader === theirs.id && mine.appliedIndex >= theirs.commitIndex
  }, `${node.spec.id} to catch up`)
}
