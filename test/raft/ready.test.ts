// The Ready contract (types.ts, after etcd's Ready): what a batch may send
// before it is persisted, what must wait, and advance()'s bookkeeping. These
// are the rules behind "term, vote and entries are durable before anyone
// learns of them" (DESIGN §3).
import t from 'tap'
import { RaftNode } from '../../lib/raft/raw-node.js'
import { TestCluster, data, drain, lone, stateWithLog, voters } from './harness.js'

const classic = { preVote: false, checkQuorum: false }

function soloLeader(options = {}): RaftNode {
  const r = lone('n1', RaftNode.bootstrapState({ id: 'n1', addr: 'n1:1', role: 'voter' }), options)
  r.campaign()
  drain(r)
  return r
}

t.test('Ready: a leader whose term is durable sends its appends before its own write (thesis §10.2.1)', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  const r = c.raft(leader)
  r.propose(data('x'))
  const rd = r.ready()
  t.equal(rd.hardState, null, 'nothing new about term or vote')
  t.match(rd.entries, [{ kind: 'normal' }], 'x to persist')
  t.equal(rd.messagesNow.filter((m) => m.type === 'Append' && m.entries.length === 1).length, 2, 'x goes to both followers now')
  t.same(rd.messagesAfterPersist, [])
  r.advance(rd)
})

t.test('Ready: a leader whose new term is not yet durable sends nothing before persisting it', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  r.campaign()
  // The vote arrives before the candidate handled its first Ready.
  r.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  t.equal(r.status().role, 'leader')
  const rd = r.ready()
  t.same(rd.hardState, { term: 2, vote: 'n1', commit: 1 })
  t.same(rd.messagesNow, [], 'not even appends: a crash now would forget the term')
  t.ok(rd.messagesAfterPersist.some((m) => m.type === 'Append'))
  r.advance(rd)
})

t.test('Ready: a follower acknowledges entries only after persisting them, in the Ready that carries them', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }))
  r.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 1, prevTerm: 1, entries: [{ index: 2, term: 2, kind: 'noop' }], commit: 1 })
  const rd = r.ready()
  t.match(rd.entries, [{ index: 2 }])
  t.same(rd.messagesNow, [])
  t.match(rd.messagesAfterPersist, [{ type: 'AppendResp', index: 2, reject: false }])
  r.advance(rd)
})

t.test('Ready: hasReady() is false while a Ready is outstanding, and ready() before advance() is a programming error', async (t) => {
  const r = soloLeader()
  r.propose(data('x'))
  t.ok(r.hasReady())
  const rd = r.ready()
  r.propose(data('y'))
  t.notOk(r.hasReady(), 'new work waits for advance()')
  t.throws(() => r.ready(), /advance/)
  r.advance(rd)
  t.ok(r.hasReady())
  t.throws(() => {
    r.advance(rd)
  }, 'advance() without an outstanding Ready')
})

t.test('Ready: every entry is handed to storage once and to the application once; advance() moves applied', async (t) => {
  const r = soloLeader()
  const p = r.propose(data('x'))
  if (!p.ok) throw new Error('not leader')
  const rd1 = r.ready()
  t.match(rd1.entries, [{ index: p.index }])
  t.same(rd1.committed, [], 'not committed before it is durable')
  r.advance(rd1)
  const rd2 = r.ready()
  t.same(rd2.entries, [], 'not handed to storage twice')
  t.match(rd2.committed, [{ index: p.index }])
  t.equal(r.status().applied < p.index, true, 'applied moves only on advance()')
  r.advance(rd2)
  t.equal(r.status().applied, p.index)
  t.notOk(r.hasReady(), 'nothing left')
})

t.test('Ready: committed entries per Ready are bounded by applyEntriesMax', async (t) => {
  const r = soloLeader({ applyEntriesMax: 2 })
  for (let i = 0; i < 5; i++) r.propose(data(`v${i}`))
  const rds = drain(r)
  t.ok(rds.every((rd) => rd.committed.length <= 2))
  t.equal(rds.flatMap((rd) => rd.committed).filter((e) => e.kind === 'normal').length, 5, 'all of them, over several Readies')
})

t.test('Ready: the hard state appears only when it changed; an idle node has no Ready', async (t) => {
  const c = TestCluster.withVoters(3)
  c.electLeader()
  c.tick(2)
  for (const n of c.nodes.values()) t.notOk(n.raft.hasReady(), `${n.id} idle`)
  const f = [...c.nodes.values()].find((n) => n.raft.status().role === 'follower')
  if (f === undefined) throw new Error('no follower')
  f.raft.tick()
  const rd = f.raft.ready()
  t.equal(rd.hardState, null)
  f.raft.advance(rd)
})

t.test('Ready: a proposal while a Ready is outstanding is persisted by the next one', async (t) => {
  const r = soloLeader()
  const a = r.propose(data('a'))
  const rd1 = r.ready()
  const b = r.propose(data('b'))
  r.advance(rd1)
  const rd2 = r.ready()
  t.ok(a.ok && b.ok)
  t.match(rd2.entries, [{ index: b.ok ? b.index : -1 }], 'b, and only b')
  r.advance(rd2)
  drain(r)
  t.equal(r.status().applied, b.ok ? b.index : -1)
})

t.test('Ready: a restarted node applies again what it had committed (applied is not durable in the core)', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.raft(leader).propose(data('x'))
  c.stabilize()
  c.tick(1)
  const f = [...c.nodes.keys()].find((id) => id !== leader) as string
  const restarted = c.restart(f)
  c.processReadies()
  t.ok(restarted.applied.some((e) => e.kind === 'normal' && e.data.toString() === 'x'))
})

t.test('interim: while a leader\'s Ready is outstanding, appends for a new proposal go out at once (thesis §10.2.1)', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  const r = c.raft(leader)
  r.propose(data('a'))
  const rd = r.ready() // its fsync "in flight"
  r.propose(data('b'))
  t.notOk(r.hasReady())
  t.ok(r.hasInterim())
  const im = r.interim()
  t.ok(im.messages.some((m) => m.type === 'Append' && m.entries.some((e) => e.kind === 'normal' && e.data.toString() === 'b')), 'b is on its way')
  t.same(im.committed, [], 'nothing committed yet')
  r.advance(rd)
  t.match(r.ready().entries, [{ kind: 'normal' }], 'b is still persisted by the next Ready')
})

t.test('interim: withholds messages while the term or vote is not durable', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  r.campaign()
  r.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  t.equal(r.status().role, 'leader')
  const rd = r.ready()
  r.propose(data('x'))
  t.same(r.interim().messages, [], 'term 2 is not durable yet')
  t.ok(rd.messagesAfterPersist.some((m) => m.type === 'Append'), 'the no-op appends leave after the persist')
  r.advance(rd)
})

t.test('interim: applies nothing after a snapshot that is still being installed', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }))
  r.step({ type: 'Snapshot', from: 'n2', to: 'n1', term: 2, snapshot: { index: 10, term: 2, config: { members: voters(3) } } })
  const rd = r.ready()
  t.ok(rd.snapshot !== null)
  r.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 10, prevTerm: 2, entries: [{ index: 11, term: 2, kind: 'noop' }], commit: 11 })
  t.same(r.interim().committed, [], 'entry 11 waits for the snapshot')
  r.advance(rd)
  t.match(drain(r).flatMap((x) => x.committed), [{ index: 11 }])
})
