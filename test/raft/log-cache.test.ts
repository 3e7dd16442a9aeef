// The log's memory bound (LOG_CACHE_BYTES): a leader that released the data
// of applied, durable entries reads them back through its entry source to
// bring a lagging follower up to date, and sends a snapshot when the source
// cannot supply them.
import t from 'tap'
import type { EntrySource, Member, NodeId, SnapshotRequest } from '../../lib/raft/types.js'
import { TestCluster, data, normalData } from './harness.js'

/** Three voters whose entry sources serve what each made durable, counting the entries read back. */
function cachedCluster(reads: Map<NodeId, number>, readable: () => boolean = () => true): TestCluster {
  const c = new TestCluster({ logCacheBytes: 2048 })
  const members: Member[] = ['n1', 'n2', 'n3'].map((id) => ({ id, addr: `${id}:1`, role: 'voter' }))
  for (const m of members) {
    const source: EntrySource = {
      entries(lo, hi) {
        if (!readable()) return null
        const out = c.node(m.id).durable.entries.filter((e) => e.index >= lo && e.index < hi)
        reads.set(m.id, (reads.get(m.id) ?? 0) + out.length)
        return out.length > 0 ? out : null
      },
    }
    c.add(m.id, {
      hardState: { term: 1, vote: '', commit: 1 },
      snapshot: { index: 0, term: 0, config: { members: [] } },
      entries: [{ index: 1, term: 1, kind: 'config', config: { members } }],
    }, { entrySource: source })
  }
  return c
}

const value = (i: number): Buffer => data(`v${i}:${'x'.repeat(300)}`)

t.test('a leader reads released entries back through its source for a lagging follower', async (t) => {
  const reads = new Map<NodeId, number>()
  const c = cachedCluster(reads)
  const leader = c.electLeader()
  const f = [...c.nodes.keys()].find((id) => id !== leader) as string
  c.isolate(f)
  for (let i = 0; i < 60; i++) c.raft(leader).propose(value(i))
  c.tick(2)
  t.equal(reads.get(leader) ?? 0, 0, 'nothing read back while every follower keeps up')
  c.heal()
  c.tick(5)
  t.ok((reads.get(leader) ?? 0) >= 50, `the leader read the follower's missing entries back (${reads.get(leader) ?? 0})`)
  t.same(normalData(c.node(f).applied), Array.from({ length: 60 }, (_, i) => value(i).toString()), 'the follower applied every entry, in order')
  t.equal(c.sentCount('Snapshot'), 0, 'no snapshot needed')
})

t.test('released entries the source cannot supply are sent as a snapshot', async (t) => {
  const reads = new Map<NodeId, number>()
  let readable = true
  const c = cachedCluster(reads, () => readable)
  const leader = c.electLeader()
  const f = [...c.nodes.keys()].find((id) => id !== leader) as string
  c.tick(2)
  for (let i = 0; i < 5; i++) c.raft(leader).propose(value(i))
  c.tick(2)
  const at = c.raft(leader).status().applied
  c.raft(leader).compact(at)
  c.isolate(f)
  for (let i = 5; i < 60; i++) c.raft(leader).propose(value(i))
  c.tick(2)
  readable = false
  const snaps: SnapshotRequest[] = []
  c.dropIf = (m) => {
    if (m.type === 'Snapshot') snaps.push(m)
    return false
  }
  c.heal()
  c.tick(3)
  t.ok(snaps.length >= 1, 'a snapshot was sent')
  t.match(snaps[0], { to: f, snapshot: { index: at } })
})
