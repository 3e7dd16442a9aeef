// Incarnations: a node whose data directory was wiped comes back under its old
// NodeId with a new incarnation. Every message is stamped with the sender's
// incarnation and the one the sender's configuration holds for the receiver;
// a node drops messages meant for another incarnation of itself, and messages
// from an incarnation of the sender that its own configuration does not list
// (but for leader messages and vote requests stamped for it exactly: below).
// Without this, a wiped node still catching up could vote for (or ack appends
// from) a stale member whose log lists its previous incarnation, and that
// member could lead without committed entries (simulator seed 4471).
import t from 'tap'
import type { Entry, InitialState, Member, Message, VoteRequest } from '../../lib/raft/types.js'
import { TestCluster, drain, lone, messagesOf, ofType } from './harness.js'

const classic = { preVote: false, checkQuorum: false }

/** Voters n1..n3 at incarnations a1, b1, c1. */
const members: readonly Member[] = [
  { id: 'n1', addr: 'n1:1', role: 'voter', incarnation: 'a1' },
  { id: 'n2', addr: 'n2:1', role: 'voter', incarnation: 'b1' },
  { id: 'n3', addr: 'n3:1', role: 'voter', incarnation: 'c1' },
]

/** A log of `count` entries, all term 1; entry 1 configures `config`. */
function stateOf(config: readonly Member[], count: number, term = 1, commit = 1): InitialState {
  const entries: Entry[] = []
  for (let i = 1; i <= count; i++) {
    entries.push(i === 1 ? { index: 1, term: 1, kind: 'config', config: { members: config } } : { index: i, term: 1, kind: 'normal', data: Buffer.from(`e${i}`) })
  }
  return { hardState: { term, vote: '', commit }, snapshot: { index: 0, term: 0, config: { members: [] } }, entries }
}

const vote = (over: Partial<VoteRequest> = {}): VoteRequest => ({
  type: 'Vote', from: 'n1', to: 'n3', term: 2, lastIndex: 5, lastTerm: 1, transfer: false, fromIncarnation: 'a1', toIncarnation: 'c1', ...over,
})

t.test('a vote request stamped for an old incarnation is dropped', async (t) => {
  // n3 was wiped (now c2) and replayed part of the log, which still lists c1 as a voter.
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c2' })
  r.step(vote())
  t.same(messagesOf(drain(r)), [], 'no answer at all, not even a rejection')
  const st = r.status()
  t.equal(st.term, 1, 'the stale candidate did not move our term')
  t.equal(st.vote, '', 'no vote recorded')
  t.equal(st.droppedForOtherIncarnation, 1, 'counted')
  t.same(st.otherIncarnationSeen, { from: 'n1', incarnation: 'c1' }, 'status says who still addresses our old incarnation')
})

t.test('the same vote request stamped for this incarnation is granted (the check is not a blanket refusal)', async (t) => {
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c1' })
  r.step(vote())
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n1', reject: false, fromIncarnation: 'c1', toIncarnation: 'a1' }])
})

t.test('a pre-vote request stamped for an old incarnation is dropped', async (t) => {
  const r = lone('n3', stateOf(members, 3), { incarnation: 'c2' })
  r.step({ ...vote(), type: 'PreVote' } as Message)
  t.same(messagesOf(drain(r)), [])
  t.equal(r.status().droppedForOtherIncarnation, 1)
})

t.test('appends, heartbeats, snapshots and TimeoutNow stamped for an old incarnation are dropped', async (t) => {
  const r = lone('n3', stateOf(members, 2), { ...classic, incarnation: 'c2' })
  const stamps = { from: 'n1', to: 'n3', term: 1, fromIncarnation: 'a1', toIncarnation: 'c1' }
  const e3: Entry = { index: 3, term: 1, kind: 'normal', data: Buffer.from('x') }
  r.step({ ...stamps, type: 'Append', prevIndex: 2, prevTerm: 1, entries: [e3], commit: 3 })
  r.step({ ...stamps, type: 'Heartbeat', commit: 2, readSeq: 1 })
  r.step({ ...stamps, type: 'Snapshot', snapshot: { index: 9, term: 1, config: { members: [...members] } } })
  r.step({ ...stamps, type: 'TimeoutNow' })
  t.same(messagesOf(drain(r)), [], 'no ack, no campaign')
  const st = r.status()
  t.equal(st.lastIndex, 2, 'nothing appended')
  t.equal(st.commit, 1, 'commit not moved')
  t.equal(st.role, 'follower')
  t.equal(st.leader, null, 'the stale leader is not followed')
  t.equal(st.droppedForOtherIncarnation, 4)
})

t.test('a request from an incarnation of the sender that our configuration does not list is dropped', async (t) => {
  // n1's log lists n3 at c1; the sender is n3's next incarnation c2.
  const r = lone('n1', stateOf(members, 3), { ...classic, incarnation: 'a1' })
  r.step({ type: 'ReadIndex', from: 'n3', to: 'n1', term: 2, ctx: 'q1', fromIncarnation: 'c2', toIncarnation: 'a1' })
  t.same(messagesOf(drain(r)), [])
  t.equal(r.status().droppedFromStaleIncarnation, 1)
  t.equal(r.status().term, 1, 'its term is not taken')
})

// Runtime seed 402492: a voter back from an outage whose log lists the
// previous incarnation of a member replaced meanwhile. When the only quorum
// left needs its vote, refusing that member elects no one, for good.

t.test('a vote request from an incarnation our configuration does not list is answered, to the incarnation that asked', async (t) => {
  // n1's log lists n3 at c1; n3 was replaced (c2), and c2's log lists n1 as a1.
  const r = lone('n1', stateOf(members, 3), { ...classic, incarnation: 'a1' })
  r.step({ type: 'Vote', from: 'n3', to: 'n1', term: 2, lastIndex: 9, lastTerm: 2, transfer: false, fromIncarnation: 'c2', toIncarnation: 'a1' })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n3', reject: false, term: 2, fromIncarnation: 'a1', toIncarnation: 'c2' }])
  t.equal(r.status().vote, 'n3')
  t.equal(r.status().droppedFromStaleIncarnation, 0)
})

t.test('a pre-vote request from an incarnation our configuration does not list is answered, to the incarnation that asked', async (t) => {
  const r = lone('n1', stateOf(members, 3), { incarnation: 'a1' })
  r.step({ type: 'PreVote', from: 'n3', to: 'n1', term: 2, lastIndex: 9, lastTerm: 2, transfer: false, fromIncarnation: 'c2', toIncarnation: 'a1' })
  t.match(ofType(messagesOf(drain(r)), 'PreVoteResp'), [{ to: 'n3', reject: false, term: 2, toIncarnation: 'c2' }])
  t.equal(r.status().term, 1, 'a pre-vote moves no term')
})

t.test('a vote request from outside our configuration, stamped for this incarnation, from a log at least as up to date as ours, is answered', async (t) => {
  // n4 (d1) was added by entries we have not received; its configuration lists us as a1.
  const r = lone('n1', stateOf(members, 3), { ...classic, incarnation: 'a1' })
  const ask = { type: 'Vote', from: 'n4', to: 'n1', term: 2, lastIndex: 5, lastTerm: 1, transfer: false, fromIncarnation: 'd1', toIncarnation: 'a1' } as const
  r.step(ask)
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n4', reject: false, toIncarnation: 'd1' }])
  t.equal(r.status().vote, 'n4')
  r.step(ask)
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n4', reject: true }], 'no repeat: the vote record cannot say which incarnation of n4 had it')
})

t.test('a vote request from outside our configuration from a log behind ours is ignored (a removed member cannot disturb us)', async (t) => {
  const r = lone('n1', stateOf(members, 3), { ...classic, incarnation: 'a1' })
  r.step({ type: 'Vote', from: 'n4', to: 'n1', term: 5, lastIndex: 2, lastTerm: 1, transfer: false, fromIncarnation: 'd1', toIncarnation: 'a1' })
  t.same(messagesOf(drain(r)), [])
  t.equal(r.status().term, 1, 'its term is not taken')
})

t.test('a vote request from an unlisted incarnation stamped for another incarnation of us is still dropped', async (t) => {
  const r = lone('n1', stateOf(members, 3), { ...classic, incarnation: 'a2' })
  r.step({ type: 'Vote', from: 'n3', to: 'n1', term: 2, lastIndex: 9, lastTerm: 2, transfer: false, fromIncarnation: 'c2', toIncarnation: 'a1' })
  t.same(messagesOf(drain(r)), [])
  t.equal(r.status().droppedForOtherIncarnation, 1)
})

t.test('a vote given in this term is not given again to an incarnation of the same member that our configuration does not list', async (t) => {
  // Our vote record holds n3's id, not which incarnation of n3 it went to.
  const r = lone('n1', stateOf(members, 3), { ...classic, incarnation: 'a1' })
  const ask = { type: 'Vote', from: 'n3', to: 'n1', term: 2, lastIndex: 9, lastTerm: 2, transfer: false, toIncarnation: 'a1' } as const
  r.step({ ...ask, fromIncarnation: 'c1' })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ reject: false, toIncarnation: 'c1' }], 'the listed incarnation gets the vote')
  r.step({ ...ask, fromIncarnation: 'c2' })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ reject: true, toIncarnation: 'c2' }], 'its successor does not get it again')
  r.step({ ...ask, fromIncarnation: 'c1' })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ reject: false, toIncarnation: 'c1' }], 'the listed incarnation asking again does (a lost answer)')
})

t.test('a leader ignores an append response from a stale incarnation', async (t) => {
  const c = new TestCluster(classic)
  for (const m of members) c.add(m.id, stateOf(members, 1), { incarnation: m.incarnation ?? '' })
  const leader = c.electLeader()
  const other = members.find((m) => m.id !== leader) as Member
  // Stop replication so that the leader's own view decides the outcome.
  c.isolate(other.id)
  for (const m of members) if (m.id !== leader && m.id !== other.id) c.isolate(m.id)
  const r = c.raft(leader)
  const before = r.status()
  const pr = before.progress.get(other.id)
  t.ok(pr !== undefined)
  r.propose(Buffer.from('w'))
  c.processReadies()
  const last = r.status().lastIndex
  // An ack of everything, from the other member's next incarnation.
  r.step({ type: 'AppendResp', from: other.id, to: leader, term: before.term, reject: false, index: last, hintIndex: 0, hintTerm: 0, fromIncarnation: `${other.incarnation ?? ''}-wiped`, toIncarnation: members.find((m) => m.id === leader)?.incarnation ?? '' })
  c.processReadies()
  const after = r.status()
  t.equal(after.progress.get(other.id)?.match, pr?.match, 'match not advanced')
  t.ok(after.commit < last, 'the entry is not committed on the strength of that ack')
  t.equal(after.droppedFromStaleIncarnation, 1)
  // The same ack from the incarnation in the config counts.
  r.step({ type: 'AppendResp', from: other.id, to: leader, term: before.term, reject: false, index: last, hintIndex: 0, hintTerm: 0, fromIncarnation: other.incarnation ?? '', toIncarnation: members.find((m) => m.id === leader)?.incarnation ?? '' })
  c.processReadies()
  t.equal(r.status().progress.get(other.id)?.match, last, 'the current incarnation\'s ack counts')
  t.equal(r.status().commit, last, 'and commits')
})

t.test('a candidate ignores a vote from a stale incarnation', async (t) => {
  const r = lone('n1', stateOf(members, 1), { ...classic, incarnation: 'a1' })
  r.campaign()
  drain(r)
  t.equal(r.status().role, 'candidate')
  const term = r.status().term
  r.step({ type: 'VoteResp', from: 'n3', to: 'n1', term, reject: false, fromIncarnation: 'c2', toIncarnation: 'a1' })
  drain(r)
  t.equal(r.status().role, 'candidate', 'still short of a quorum')
  r.step({ type: 'VoteResp', from: 'n3', to: 'n1', term, reject: false, fromIncarnation: 'c1', toIncarnation: 'a1' })
  drain(r)
  t.equal(r.status().role, 'leader', 'the listed incarnation\'s vote counts')
})

t.test('every message is stamped with the sender\'s incarnation and the receiver\'s as the sender\'s config lists it', async (t) => {
  const r = lone('n1', stateOf(members, 1), { ...classic, incarnation: 'a1' })
  r.campaign()
  const votes = ofType(messagesOf(drain(r)), 'Vote')
  t.same(
    votes.map((m) => [m.to, m.fromIncarnation, m.toIncarnation]),
    [
      ['n2', 'a1', 'b1'],
      ['n3', 'a1', 'c1'],
    ],
  )
})

t.test('a wiped node whose log lists its previous incarnation as a voter does not campaign', async (t) => {
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c2' })
  for (let i = 0; i < 100; i++) r.tick()
  r.campaign()
  t.equal(r.status().role, 'follower')
  t.same(ofType(messagesOf(drain(r)), 'Vote'), [], 'no vote requests')
})

t.test('unknown incarnations (data from before incarnations, or an older peer) are not checked', async (t) => {
  const legacy: Member[] = members.map(({ id, addr, role }) => ({ id, addr, role }))
  const r = lone('n3', stateOf(legacy, 3), { ...classic, incarnation: 'c2' })
  // A sender whose config lists no incarnation for us stamps '': not checked.
  r.step(vote({ toIncarnation: '' }))
  // A peer from before incarnations stamps nothing.
  const { fromIncarnation: _f, toIncarnation: _t, ...unstamped } = vote({ from: 'n2', term: 3 })
  r.step(unstamped)
  t.same(ofType(messagesOf(drain(r)), 'VoteResp').map((m) => [m.to, m.reject]), [['n1', false], ['n2', false]])
  t.equal(r.status().droppedForOtherIncarnation, 0)
})

t.test('a stale member cannot win with the vote of a wiped node still catching up (seed 4471 in miniature)', async (t) => {
  // n1 was cut off while n3 was removed, wiped and re-added as c2; its log
  // still lists n3 at c1. n3's partial log (it replayed entries 1-3 so far)
  // is no more up-to-date than n1's, so without the stamps it would vote.
  const c = new TestCluster(classic)
  c.add('n1', stateOf(members, 3, 1, 3), { incarnation: 'a1' })
  c.add('n3', stateOf(members, 3, 1, 3), { incarnation: 'c2' })
  c.add('n2', stateOf(members, 5, 1, 5), { incarnation: 'b1' })
  c.isolate('n2')
  c.raft('n1').campaign()
  c.stabilize()
  t.not(c.raft('n1').status().role, 'leader', 'n1 does not lead without n2')
  t.equal(c.raft('n3').status().vote, '', 'n3 voted for nobody')
  t.ok(c.raft('n3').status().droppedForOtherIncarnation > 0)
})

// Issue 21: a node that rejoins empty through a leader that was itself
// replaced replays entries listing that leader's previous incarnation. It
// must still follow the leader that addresses its own current incarnation.

/** n3 (now c2) has replayed entries 1-3, which list n2 at b1; n2 leads as b2. */
const replacedLeader = { from: 'n2', to: 'n3', term: 2, fromIncarnation: 'b2', toIncarnation: 'c2' }

t.test('a leader message stamped for this incarnation is followed though our log lists the leader\'s previous incarnation', async (t) => {
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c2' })
  const e4: Entry = { index: 4, term: 2, kind: 'normal', data: Buffer.from('x') }
  r.step({ ...replacedLeader, type: 'Append', prevIndex: 3, prevTerm: 1, entries: [e4], commit: 4 })
  const st = r.status()
  t.equal(st.lastIndex, 4, 'the entry is appended')
  t.equal(st.leader, 'n2', 'n2 is followed')
  t.equal(st.droppedFromStaleIncarnation, 0)
  t.match(ofType(messagesOf(drain(r)), 'AppendResp'), [{ to: 'n2', reject: false, index: 4, fromIncarnation: 'c2', toIncarnation: 'b2' }], 'the ack goes to the incarnation that sent the append')
})

t.test('heartbeats and ReadIndex requests reach the replaced leader too', async (t) => {
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c2' })
  r.step({ ...replacedLeader, type: 'Heartbeat', commit: 3, readSeq: 7 })
  r.readIndex('q1')
  const ms = messagesOf(drain(r))
  t.match(ofType(ms, 'HeartbeatResp'), [{ to: 'n2', readSeq: 7, toIncarnation: 'b2' }])
  t.match(ofType(ms, 'ReadIndex'), [{ to: 'n2', ctx: 'q1', toIncarnation: 'b2' }])
})

t.test('a vote request from the replaced member is answered too, to the incarnation that asked', async (t) => {
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c2' })
  r.step({ type: 'Vote', from: 'n2', to: 'n3', term: 2, lastIndex: 9, lastTerm: 2, transfer: false, fromIncarnation: 'b2', toIncarnation: 'c2' })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n2', reject: false, fromIncarnation: 'c2', toIncarnation: 'b2' }])
  t.equal(r.status().term, 2)
})

t.test('a leader message from an unlisted incarnation that does not name ours exactly is still dropped', async (t) => {
  const r = lone('n3', stateOf(members, 3), { ...classic, incarnation: 'c2' })
  r.step({ ...replacedLeader, type: 'Heartbeat', commit: 3, readSeq: 1, toIncarnation: '' })
  t.same(messagesOf(drain(r)), [], 'an unknown to-stamp proves nothing about the sender\'s config')
  t.equal(r.status().leader, null)
  t.equal(r.status().droppedFromStaleIncarnation, 1)
})

t.test('a node rejoining empty through a replaced leader catches up past the entries naming its old incarnation (issue 21 in miniature)', async (t) => {
  // Entries 1-7 as the README procedure twice leaves them: n2 replaced (b1 →
  // b2) and promoted, then n3 replaced (c1 → c2) through n2, which now leads.
  const cfg = (...ms: Member[]): Entry => ({ index: 0, term: 1, kind: 'config', config: { members: ms } })
  const [m1, m2, m3] = members as [Member, Member, Member]
  const m2b2: Member = { ...m2, incarnation: 'b2' }
  const m3c2: Member = { ...m3, incarnation: 'c2', role: 'learner' }
  const shapes: Entry[] = [
    cfg(m1, m2, m3),
    { index: 0, term: 1, kind: 'normal', data: Buffer.from('w') },
    cfg(m1, m3),
    cfg(m1, m3, { ...m2b2, role: 'learner' }),
    cfg(m1, m3, m2b2),
    cfg(m1, m2b2),
    cfg(m1, m2b2, m3c2),
  ]
  const log = shapes.map((e, i) => ({ ...e, index: i + 1 }) as Entry)
  const full: InitialState = { hardState: { term: 1, vote: '', commit: 7 }, snapshot: { index: 0, term: 0, config: { members: [] } }, entries: log }
  const c = new TestCluster(classic)
  c.add('n1', full, { incarnation: 'a1' })
  // One entry per append, as a long log arrives in many: n3 holds entry 1 (naming n2 as b1) before the entries that replace n2.
  c.add('n2', full, { incarnation: 'b2', appendEntriesMax: 1 })
  c.add('n3', { hardState: { term: 0, vote: '', commit: 0 }, snapshot: { index: 0, term: 0, config: { members: [] } }, entries: [] }, { incarnation: 'c2' })
  c.raft('n2').campaign()
  c.stabilize()
  t.equal(c.raft('n2').status().role, 'leader', 'the replaced node leads')
  const n3 = c.raft('n3').status()
  const leaderLast = c.raft('n2').status().lastIndex
  t.equal(n3.lastIndex, leaderLast, 'n3 holds the whole log, past entry 1 that names n2 as b1')
  t.equal(c.raft('n2').status().progress.get('n3')?.match, leaderLast, 'the leader counts n3 as caught up')
  t.equal(c.raft('n2').status().droppedForOtherIncarnation, 0, 'the leader dropped none of n3\'s replies')
  const promote = c.raft('n2').proposeConfChange({ op: 'promote', id: 'n3' })
  t.ok(promote.ok, 'n3 can be promoted')
  c.stabilize()
  t.same(
    c.raft('n3').status().config.members.map((m) => [m.id, m.role, m.incarnation]),
    [['n1', 'voter', 'a1'], ['n2', 'voter', 'b2'], ['n3', 'voter', 'c2']],
    'three voters, each at its current incarnation',
  )
})
