// Operating a cluster with bin/raftkv and the /cluster routes: status fields,
// learners promoted once caught up, removing the leader, a removed node that
// keeps running, and refusing to re-add a member id by accident.
import t from 'tap'
import { ProcessCluster, runCli as cli, type ProcessNode } from './process-cluster.js'


function httpOf(node: ProcessNode): string {
  return `127.0.0.1:${node.spec.httpPort}`
}

t.test('operating a cluster', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(3)

  await t.test('status --json reports every field of every member', async (t) => {
    const leader = await cluster.waitForLeader()
    const r = await cli(['status', '--http', httpOf(leader), '--json'])
    t.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as Record<string, unknown>
    t.equal(s['id'], leader.spec.id)
    t.equal(s['role'], 'leader')
    t.equal(s['leader'], leader.spec.id)
    for (const field of ['term', 'commitIndex', 'appliedIndex', 'snapshotIndex', 'firstIndex', 'lastIndex']) {
      t.type(s[field], 'number', `${field} is a number`)
    }
    const members = s['members'] as Record<string, unknown>[]
    t.equal(members.length, 3)
    for (const m of members) {
      t.equal(m['role'], 'voter')
      t.type(m['match'], 'number', `match of ${String(m['id'])}`)
      t.type(m['lag'], 'number', `lag of ${String(m['id'])}`)
      t.type(m['lastContactMs'], 'number', `last contact of ${String(m['id'])}`)
      t.match(m['raftAddr'], /^127\.0\.0\.1:\d+$/)
      t.match(m['respAddr'], /^127\.0\.0\.1:\d+$/)
    }
  })

  await t.test('status prints a table with one row per member', async (t) => {
    const r = await cli(['status', '--http', httpOf(cluster.nodes[0] as ProcessNode)])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /^ID\s+ROLE\s+RAFT ADDR/m)
    for (const id of ['n1', 'n2', 'n3']) t.match(r.stdout, new RegExp(`^${id}\\s+voter`, 'm'))
  })

  await t.test('a node that joins is added as a learner and promoted once caught up', async (t) => {
    const n4 = await cluster.addNode('n4')
    n4.start()
    await cluster.waitForVoters(4)
    const st = await (await cluster.waitForLeader()).status()
    t.ok(st?.members.some((m) => m.id === 'n4' && m.role === 'voter'))
  })

  await t.test('adding an id that is already a member is refused with a clear message', async (t) => {
    const r = await cli(['add', 'n4', '127.0.0.1:1', '--http', httpOf(cluster.nodes[1] as ProcessNode)])
    t.not(r.code, 0)
    t.match(r.stderr, /already a member.*remove it first/)
  })

  await t.test('removing the leader hands leadership over and the cluster keeps serving', async (t) => {
    const leader = await cluster.waitForLeader()
    const other = cluster.nodes.find((n) => n !== leader && n.running()) as ProcessNode
    const r = await cli(['remove', leader.spec.id, '--http', httpOf(other)])
    t.equal(r.code, 0, r.stderr)
    const next = await cluster.waitForLeader()
    t.not(next.spec.id, leader.spec.id)
    const st = await next.status()
    t.notOk(st?.members.some((m) => m.id === leader.spec.id), 'old leader is no longer a member')
    const c = next.redis()
    t.teardown(() => c.disconnect())
    t.equal(await c.set('after-removal', 'yes'), 'OK')

    await t.test('the removed node keeps running but cannot disrupt the cluster', async (t) => {
      t.ok(leader.running(), 'removed node still runs')
      const before = await next.status()
      // Several election timeouts (0.5–1 s each) while the removed node times out.
      await cluster.waitFor(async () => {
        const s = await leader.status()
        return s !== null && s.role !== 'leader'
      }, 'the removed node not to lead')
      // Not a wall-clock window: a loaded machine may hold a heartbeat back long
      // enough for an honest election among the members. What the removed node
      // must never do is win one, or be counted again.
      await cluster.waitFor(async () => /this node was removed from the cluster/.test(leader.output), 'the removed node to log that it was removed')
      const removed = leader.redis()
      t.teardown(() => removed.disconnect())
      await t.rejects(removed.get('after-removal'), { message: /^CLUSTERDOWN this node was removed from the cluster/ }, 'a read on the removed node says it was removed')
      await t.rejects(removed.set('on-removed', 'x'), { message: /^CLUSTERDOWN this node was removed from the cluster/ }, 'so does a write')
      for (let poll = 0; poll < 16; poll++) {
        const s = await leader.status()
        t.not(s?.role, 'leader', 'the removed node never leads again')
        if (s?.role === 'leader') break
        await new Promise((r) => setTimeout(r, 250))
      }
      const now = await cluster.waitForLeader()
      t.not(now.spec.id, leader.spec.id, 'a member leads')
      const after = await now.status()
      t.notOk(after?.members.some((m) => m.id === leader.spec.id), 'the removed node is still not a member')
      if (after?.term !== before?.term) t.comment(`an election among the members happened (term ${before?.term} -> ${after?.term}); the removed node did not win it`)
    })
  })
})

t.test('GET /metrics reports raft state, requests, fsync and client connections', async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(1)
  const node = cluster.nodes[0] as ProcessNode
  const c = node.redis()
  t.teardown(() => c.disconnect())
  await c.set('m', '1')
  await c.get('m')
  const text = await (await fetch(`http://127.0.0.1:${node.spec.httpPort}/metrics`)).text()
  for (const pattern of [
    /^raftkv_role\{node="n1"\} 3$/m,
    /^raftkv_term\{node="n1"\} \d+$/m,
    /^raftkv_commit_index\{node="n1"\} \d+$/m,
    /^raftkv_applied_index\{node="n1"\} \d+$/m,
    /^raftkv_requests_total\{command="set",outcome="ok",node="n1"\} 1$/m,
    /^raftkv_requests_total\{command="get",outcome="ok",node="n1"\} 1$/m,
    /^raftkv_write_latency_seconds_count\{node="n1"\} 1$/m,
    /^raftkv_fsync_seconds_count\{node="n1"\} [1-9]\d*$/m,
    /^raftkv_client_connections\{node="n1"\} [1-9]\d*$/m,
  ]) {
    t.match(text, pattern)
  }
})
