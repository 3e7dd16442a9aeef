// A follower loses its disk and comes back under the same NODE_ID: killed,
// its DATA_DIR emptied, restarted with JOIN set. Its new data directory has a
// new incarnation, so the leader replaces the old one (removes it, re-adds
// the node as a learner, promotes it once caught up) and no member can count
// the empty node as the voter it used to be. The cluster keeps every
// acknowledged write, and the returning node serves all of them.
// Also: the operator's `add` learns the new node's incarnation from the node.
import t from 'tap'
import { ProcessCluster, clusterStatus, freePort, runCli as cli, type ProcessNode } from './process-cluster.js'

t.test('a follower wiped and restarted under its old id rejoins, catches up, and no acknowledged write is lost', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const leader = await cluster.waitForLeader()
  const victim = cluster.nodes.find((n) => n !== leader) as ProcessNode
  const acked = new Map<string, string>()

  const write = async (via: ProcessNode, count: number, prefix: string): Promise<void> => {
    const c = via.redis()
    try {
      for (let i = 0; i < count; i++) {
        const key = `${prefix}-${i}`
        if ((await c.set(key, `v-${key}`)) === 'OK') acked.set(key, `v-${key}`)
      }
    } finally {
      c.disconnect()
    }
  }

  await write(leader, 50, 'before')
  const oldIncarnation = (await clusterStatus(victim))?.incarnation ?? ''
  t.match(oldIncarnation, /^[0-9a-f]{16}$/, 'every data directory has an incarnation')

  await victim.kill('SIGKILL')
  cluster.wipe(victim)
  await write(leader, 50, 'while-down')
  victim.start()

  await cluster.waitFor(async () => {
    const st = await clusterStatus(await cluster.waitForLeader())
    const listed = st?.members.find((m) => m.id === victim.spec.id)
    return listed !== undefined && listed.role === 'voter' && listed.incarnation !== oldIncarnation && listed.incarnation !== ''
  }, `${victim.spec.id} to be a voter again under its new incarnation`)
  const newIncarnation = (await clusterStatus(victim))?.incarnation ?? ''
  t.not(newIncarnation, oldIncarnation, 'the wiped directory has a new incarnation')
  const now = await cluster.waitForLeader()
  t.match(now.output, /came back with an empty data directory: replacing its old incarnation/, 'the leader says what it did')
  const st = await clusterStatus(now)
  t.equal(st?.members.filter((m) => m.role === 'voter').length, 3, 'three voters again')

  await write(now, 20, 'after')
  // Reads on the returning node: linearizable, so served only once it has
  // applied everything committed before each read began.
  for (const node of cluster.nodes) {
    const c = node.redis()
    let missing = 0
    for (const [key, value] of acked) if ((await c.get(key)) !== value) missing++
    c.disconnect()
    t.equal(missing, 0, `${node.spec.id} serves all ${acked.size} acknowledged writes`)
  }
})

t.test('bin/raftkv add asks the node for its incarnation, and refuses a node it cannot reach', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(1)
  const n1 = cluster.nodes[0] as ProcessNode
  const n2 = await cluster.addNode('n2')
  const http = `127.0.0.1:${n1.spec.httpPort}`

  const down = await cli(['add', 'n2', n2.raftAddr, '--http', http])
  t.not(down.code, 0, 'a node that is not running cannot be added')
  t.match(down.stderr, /cannot reach n2 .* to learn its incarnation/)

  // JOIN points nowhere: only the operator's add brings it in.
  n2.start({ JOIN: `127.0.0.1:${await freePort()}` })
  await cluster.waitFor(async () => (await clusterStatus(n2)) !== null, 'n2 to serve HTTP')
  const own = (await clusterStatus(n2))?.incarnation ?? ''
  const added = await cli(['add', 'n2', n2.raftAddr, '--http', http])
  t.equal(added.code, 0, added.stderr)
  const listed = (await clusterStatus(n1))?.members.find((m) => m.id === 'n2')
  t.equal(listed?.incarnation, own, 'added with the incarnation of its data directory')
  await cluster.waitForVoters(2)
})
