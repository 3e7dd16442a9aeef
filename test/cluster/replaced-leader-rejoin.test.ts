// Issue 21, as an operator hit it: the README's "a node lost its disk"
// procedure, twice. n2 is wiped and rejoins; leadership moves to n2; then n3
// is wiped and rejoins through n2. n3 replays the log from index 1, through
// entries that name n2 by its previous incarnation, while n2 (the new
// incarnation) leads. It must still catch up, be promoted, and serve every
// acknowledged write; before the fix it stopped for good at the first entry
// naming n2's old incarnation and the cluster was left with one voter short.
import t from 'tap'
import { missingOn, replace, writeKeys } from './node-replacement.js'
import { ProcessCluster, clusterStatus, runCli } from './process-cluster.js'

/** More entries than one append carries (appendEntriesMax, 512): a rejoining node gets the log in several batches. */
const keysBeforeFirstWipe = 700

for (const size of [3, 5]) {
  t.test(`${size} nodes: a node wiped and rejoined through a replaced leader catches up and is promoted`, async (t) => {
    const cluster = new ProcessCluster()
    t.teardown(() => cluster.stop())
    await cluster.start(size)
    const acked = new Map<string, string>()
    const n1 = cluster.node('n1')
    const n2 = cluster.node('n2')
    const n3 = cluster.node('n3')
    await writeKeys(await cluster.waitForLeader(), 'before', keysBeforeFirstWipe, acked)

    await replace(cluster, n2, n1, size)
    const moved = await runCli(['transfer-leader', 'n2', '--http', `127.0.0.1:${n1.spec.httpPort}`])
    t.equal(moved.code, 0, moved.stderr)
    await cluster.waitFor(async () => (await n2.status())?.role === 'leader', 'n2, the replaced node, to lead')

    await replace(cluster, n3, n2, size)
    await writeKeys(await cluster.waitForLeader(), 'after', 300, acked)

    const leader = await cluster.waitForLeader()
    const st = await clusterStatus(leader)
    t.equal(st?.members.filter((m) => m.role === 'voter').length, size, `${size} voters`)
    t.equal(acked.size, keysBeforeFirstWipe + 300, 'every write was acknowledged')
    for (const node of cluster.nodes) t.equal(await missingOn(node, acked), 0, `${node.spec.id} serves all ${acked.size} acknowledged writes`)
  })
}
