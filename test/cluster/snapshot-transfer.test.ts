// Snapshots between real processes: a wiped follower, removed and re-added,
// is restored from the leader's snapshot; a large state (100 MB) reaches a
// new node in bounded chunks while the cluster keeps serving.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

async function post(node: ProcessNode, op: string, body: Record<string, string>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}/cluster/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`${op}: ${res.status} ${await res.text()}`)
}

t.test('a wiped follower is removed, re-added empty and restored from a snapshot', async (t) => {
  const cluster = new ProcessCluster({ SNAPSHOT_ENTRIES: '100' })
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const leader = await cluster.waitForLeader()
  const c = leader.redis()
  t.teardown(() => c.disconnect())
  const pipe = c.pipeline()
  for (let i = 0; i < 300; i++) pipe.set(`key:${i}`, `value:${i}`)
  await pipe.exec()
  const victim = cluster.nodes.find((n) => n !== leader) as ProcessNode
  await victim.kill('SIGKILL')
  cluster.wipe(victim)
  await post(leader, 'remove', { id: victim.spec.id })
  victim.start()
  await cluster.waitFor(async () => {
    const st = await victim.status()
    return st !== null && st.snapshotIndex >= 100 && st.members.some((m) => m.id === victim.spec.id && m.role === 'voter')
  }, 'the wiped node to be restored and promoted')
  const r = victim.redis()
  t.teardown(() => r.disconnect())
  t.equal(await r.get('key:0'), 'value:0')
  t.equal(await r.get('key:299'), 'value:299')
  t.match(victim.output, /installed snapshot from the leader/)
  // GET /status counts them as the status page shows them: taken and sent on the leader, installed on the victim.
  const counts = async (n: ProcessNode): Promise<Record<'saved' | 'sent' | 'installed', { count: number }>> =>
    ((await (await fetch(`http://127.0.0.1:${n.spec.httpPort}/status`)).json()) as { snapshots: Record<'saved' | 'sent' | 'installed', { count: number }> }).snapshots
  await cluster.waitFor(async () => (await counts(leader)).sent.count >= 1, 'the leader to count the snapshot it sent')
  t.ok((await counts(leader)).saved.count >= 1, 'the leader counts the snapshots it took')
  t.ok((await counts(victim)).installed.count >= 1, 'the restored node counts the snapshot it installed')
})

t.test('a 100 MB state reaches a new node without timeouts', async (t) => {
  // SNAPSHOT_LOG_PERCENT 0: a snapshot every 50 entries, so one comes past index 350
  // (by default a growing keyspace waits for a log of half its bytes: the last before 400 would be at ~338).
  const cluster = new ProcessCluster({ SNAPSHOT_ENTRIES: '50', SNAPSHOT_LOG_PERCENT: '0', REQUEST_TIMEOUT_MS: '20000' })
  t.teardown(() => cluster.stop())
  await cluster.start(1)
  const leader = cluster.nodes[0] as ProcessNode
  const c = leader.redis()
  t.teardown(() => c.disconnect())
  const value = 'x'.repeat(256 * 1024)
  // 400 values of 256 KiB: 100 MiB of state, written in batches to bound memory.
  for (let batch = 0; batch < 20; batch++) {
    const pipe = c.pipeline()
    for (let i = 0; i < 20; i++) pipe.set(`big:${batch * 20 + i}`, value)
    const results = await pipe.exec()
    t.ok(results?.every(([err]) => err === null), `batch ${batch} written`)
  }
  await cluster.waitFor(async () => ((await leader.status())?.snapshotIndex ?? 0) >= 350, 'a snapshot of the big state')
  const joiner = await cluster.addNode('n2')
  joiner.start()
  await cluster.waitFor(async () => {
    const st = await joiner.status()
    return st !== null && st.appliedIndex >= 350
  }, 'the new node to install the 100 MB snapshot', 120_000)
  // The entries after the leader's snapshot (up to 50 values of 256 KiB) come
  // by the log, a few MiB per round trip: the read below is a follower's
  // local read, so it waits for all of them (it raced them: the joiner had
  // applied 392 of 404 when it read, in 4 failing runs of 4 on one day).
  const written = (await leader.status())?.commitIndex ?? Infinity
  await cluster.waitFor(async () => ((await joiner.status())?.appliedIndex ?? 0) >= written, 'the new node to apply every write', 120_000)
  // The cluster kept serving while the snapshot streamed.
  t.equal(await c.set('during', 'ok'), 'OK')
  const r = joiner.redis()
  t.teardown(() => r.disconnect())
  await r.readonly()
  t.equal((await r.get('big:399'))?.length, value.length)
  t.match(joiner.output, /installed snapshot from the leader/)
})
