// Snapshots and log compaction (Raft paper §7): the core compacts up to an
// applied index, sends a snapshot to a follower whose next entries are gone,
// and a follower installs one (Ready.snapshot) before applying what follows.
import t from 'tap'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { SnapshotRequest } from '../../lib/raft/types.js'
import { TestCluster, data, drain, lone, normalData, ofType, stateWithLog, voters } from './harness.js'

function steady(n = 3): { c: TestCluster; leader: string; followers: string[] } {
  const c = TestCluster.withVoters(n)
  const leader = c.electLeader()
  c.tick(2)
  return { c, leader, followers: [...c.nodes.keys()].filter((id) => id !== leader) }
}

t.test('§7 compaction drops the entries up to an applied index; the snapshot keeps its index, term and configuration', async (t) => {
  const { c, leader } = steady()
  for (let i = 0; i < 10; i++) c.raft(leader).propose(data(`v${i}`))
  c.stabilize()
  const r = c.raft(leader)
  const at = r.status().applied - 2
  const meta = r.snapshotMeta(at)
  t.match(meta, { index: at, term: r.termAt(at) })
  t.equal(meta.config.members.length, 3)
  r.compact(at)
  t.match(r.status(), { firstIndex: at + 1, snapshotIndex: at })
  t.equal(r.termAt(at), meta.term, 'the term at the snapshot index is still known')
  t.equal(r.termAt(at - 1), undefined, 'entries before it are gone')
  t.throws(() => r.compact(r.status().applied + 1), 'cannot compact beyond applied')
  t.throws(() => r.snapshotMeta(r.status().applied + 1), 'no snapshot beyond applied')
})

t.test('§7 the leader sends a snapshot to a follower whose next entries were compacted; the follower installs it and applies what follows', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  c.isolate(f)
  for (let i = 0; i < 10; i++) c.raft(leader).propose(data(`v${i}`))
  c.tick(2)
  const at = c.raft(leader).status().applied
  c.raft(leader).compact(at)
  c.raft(leader).propose(data('after'))
  c.tick(1)
  const appliedBefore = c.node(f).applied.length
  c.heal()
  const snaps: SnapshotRequest[] = []
  c.dropIf = (m) => {
    if (m.type === 'Snapshot') snaps.push(m)
    return false
  }
  c.tick(5)
  t.equal(snaps.length, 1, 'one snapshot sent')
  t.match(snaps[0], { to: f, snapshot: { index: at } })
  const fn = c.node(f)
  t.match(fn.installed, [{ index: at }], 'installed through Ready.snapshot')
  t.ok(fn.applied.slice(appliedBefore).every((e) => e.index > at), 'nothing at or below the snapshot was applied after it')
  t.same(normalData(fn.applied).slice(-1), ['after'], 'the entry after the snapshot was applied')
  t.equal(fn.raft.status().commit, c.raft(leader).status().commit)
  t.equal(c.raft(leader).status().progress.get(f)?.state, 'replicate', 'back to replicating')
})

t.test('§7 installing: the Ready carries the snapshot, no committed entries, and the ack only after persisting', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }))
  const snapshot = { index: 10, term: 2, config: { members: voters(3) } }
  r.step({ type: 'Snapshot', from: 'n2', to: 'n1', term: 2, snapshot })
  const rd = r.ready()
  t.same(rd.snapshot, snapshot)
  t.same(rd.committed, [], 'nothing to apply from the old log')
  t.same(rd.messagesNow, [])
  t.match(rd.messagesAfterPersist, [{ type: 'AppendResp', to: 'n2', reject: false, index: 10 }])
  r.advance(rd)
  t.match(r.status(), { snapshotIndex: 10, firstIndex: 11, lastIndex: 10, commit: 10, applied: 10 })
  // The log continues after the snapshot.
  r.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 10, prevTerm: 2, entries: [{ index: 11, term: 2, kind: 'noop' }], commit: 11 })
  t.match(drain(r).flatMap((x) => x.committed), [{ index: 11 }])
})

t.test('§7 a follower that already holds the snapshot\'s last entry keeps the entries after it', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1, 2, 2, 2], { term: 2 }))
  r.step({ type: 'Snapshot', from: 'n2', to: 'n1', term: 2, snapshot: { index: 3, term: 2, config: { members: voters(3) } } })
  const rds = drain(r)
  t.ok(rds.every((rd) => rd.snapshot === null), 'nothing to install')
  t.match(r.status(), { lastIndex: 4, commit: 3 })
  t.match(ofType(rds.flatMap((rd) => rd.messagesAfterPersist), 'AppendResp'), [{ reject: false, index: 3 }])
})

t.test('§7 a snapshot at or below the follower\'s commit index is acknowledged and ignored', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1, 2, 2], { term: 2, commit: 3 }))
  r.step({ type: 'Snapshot', from: 'n2', to: 'n1', term: 2, snapshot: { index: 2, term: 2, config: { members: voters(3) } } })
  const rds = drain(r)
  t.ok(rds.every((rd) => rd.snapshot === null))
  t.match(r.status(), { lastIndex: 3, commit: 3, snapshotIndex: 0 })
})

t.test('§7 a member added after compaction starts from a snapshot, which tells it the configuration', async (t) => {
  const { c, leader } = steady()
  for (let i = 0; i < 5; i++) c.raft(leader).propose(data(`v${i}`))
  c.stabilize()
  c.tick(1)
  const at = c.raft(leader).status().applied
  c.raft(leader).compact(at)
  t.ok(c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' }).ok)
  c.add('n4', RaftNode.emptyState())
  c.stabilize()
  c.tick(3)
  const n4 = c.node('n4')
  t.match(n4.installed, [{ index: at }])
  t.equal(n4.raft.status().config.members.length, 4, 'it knows every member, itself included')
  t.equal(n4.raft.status().commit, c.raft(leader).status().commit)
})

t.test('§7 a follower restarted after installing a snapshot comes back from it', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  c.isolate(f)
  for (let i = 0; i < 5; i++) c.raft(leader).propose(data(`v${i}`))
  c.tick(2)
  c.raft(leader).compact(c.raft(leader).status().applied)
  c.heal()
  c.tick(3)
  const before = c.raft(f).status()
  const restarted = c.restart(f)
  t.match(restarted.raft.status(), { snapshotIndex: before.snapshotIndex, lastIndex: before.lastIndex, term: before.term })
  c.raft(leader).propose(data('later'))
  c.tick(3)
  t.same(normalData(restarted.applied).slice(-1), ['later'])
})

t.test('§7 a follower brought fully up to date by a snapshot goes back to replicate state and the exchange ends', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  c.isolate(f)
  for (let i = 0; i < 5; i++) c.raft(leader).propose(data(`v${i}`))
  c.tick(2)
  c.raft(leader).compact(c.raft(leader).status().applied) // the snapshot ends at the leader's last index
  c.heal()
  let messages = 0
  c.dropIf = () => {
    messages++
    return false
  }
  c.tick(1) // throws "did not stabilize" if leader and follower keep probing each other
  t.ok(messages < 30, `${messages} messages in one tick`)
  t.match(c.raft(leader).status().progress.get(f), { state: 'replicate', match: c.raft(leader).status().lastIndex })
})
