// Membership changes, one server at a time (Raft thesis §4.1–§4.2): learners,
// promotion, removal, the leader removing itself, quorum sizes, and members
// that were removed trying to disrupt the cluster.
import t from 'tap'
import { quorumSize } from '../../lib/raft/quorum.js'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { Member } from '../../lib/raft/types.js'
import { TestCluster, data, drain, electLeaderAbove, lone, logTerms, messagesOf, normalData, ofType, stateWithLog, voters } from './harness.js'

function steady(n = 3, options = {}): { c: TestCluster; leader: string; followers: string[] } {
  const c = TestCluster.withVoters(n, options)
  const leader = c.electLeader()
  c.tick(2)
  return { c, leader, followers: [...c.nodes.keys()].filter((id) => id !== leader) }
}

/** Adds n4 as a learner through the leader and lets it catch up. */
function addLearner(c: TestCluster, leader: string, id = 'n4'): void {
  const r = c.raft(leader).proposeConfChange({ op: 'addLearner', id, addr: `${id}:1` })
  if (!r.ok) throw new Error(`addLearner refused: ${r.reason}`)
  c.add(id, RaftNode.emptyState())
  c.stabilize()
  c.tick(3)
}

t.test('§4.2.1 an added learner receives the log and applies it', async (t) => {
  const { c, leader } = steady()
  c.raft(leader).propose(data('before'))
  addLearner(c, leader)
  c.raft(leader).propose(data('after'))
  c.tick(3)
  t.same(normalData(c.node('n4').applied), ['before', 'after'])
  t.match(
    c.raft('n4').status().config.members.find((m) => m.id === 'n4'),
    { role: 'learner' },
  )
})

t.test('status names a configuration change in the log until it commits (pendingConfigIndex), then 0', async (t) => {
  const { c, leader, followers } = steady()
  t.equal(c.raft(leader).status().pendingConfigIndex, 0, 'none at first')
  for (const f of followers) c.isolate(f)
  const r = c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' })
  t.ok(r.ok)
  c.stabilize()
  const pending = c.raft(leader).status().pendingConfigIndex
  t.ok(pending > c.raft(leader).status().commit, `pending at ${pending}, above the commit index`)
  t.ok(c.raft(leader).status().config.members.some((m) => m.id === 'n4'), 'while the config in force already lists n4')
  c.heal()
  c.add('n4', RaftNode.emptyState())
  c.tick(3)
  t.equal(c.raft(leader).status().pendingConfigIndex, 0, 'committed: no longer pending')
})

t.test('§4.2.1 a learner never campaigns, even when it hears from no leader', async (t) => {
  const { c, leader } = steady()
  addLearner(c, leader)
  const term = c.raft('n4').status().term
  c.isolate('n4')
  c.tick(100, ['n4'])
  t.match(c.raft('n4').status(), { role: 'follower', term })
  t.same(c.collect(), [], 'it sent nothing')
})

t.test('§4.2.1 a learner is neither asked for a vote nor counted in one', async (t) => {
  const members: Member[] = [...voters(3), { id: 'n4', addr: 'n4:1', role: 'learner' }]
  const r = lone('n1', stateWithLog(members, [1]), { preVote: false, checkQuorum: false })
  r.campaign()
  t.same(
    ofType(messagesOf(drain(r)), 'Vote').map((m) => m.to).sort(),
    ['n2', 'n3'],
  )
  r.step({ type: 'VoteResp', from: 'n4', to: 'n1', term: 2, reject: false })
  t.equal(r.status().role, 'candidate', 'a learner\'s grant counts for nothing')
})

t.test('§4.2.1 a learner is not counted in the commit quorum', async (t) => {
  const { c, leader, followers } = steady(3, { checkQuorum: false })
  addLearner(c, leader)
  for (const f of followers) c.isolate(f)
  const p = c.raft(leader).propose(data('x'))
  c.tick(5)
  t.ok(p.ok && c.raft('n4').status().lastIndex >= p.index, 'the learner holds x')
  t.ok(p.ok && c.raft(leader).status().commit < p.index, 'leader + learner are not a quorum of 3 voters')
})

t.test('§4.2.1 a promoted learner votes and counts toward the quorum', async (t) => {
  const { c, leader, followers } = steady(3, { checkQuorum: false })
  addLearner(c, leader)
  t.ok(c.raft(leader).proposeConfChange({ op: 'promote', id: 'n4' }).ok)
  c.stabilize()
  c.tick(2)
  for (const n of c.nodes.values()) t.match(n.raft.status().config.members.find((m) => m.id === 'n4'), { role: 'voter' }, `${n.id} sees n4 as voter`)
  // Four voters: a quorum is three. Leader + n4 + one other commits.
  c.isolate(followers[0] as string)
  const p = c.raft(leader).propose(data('x'))
  c.tick(3)
  t.ok(p.ok && c.raft(leader).status().commit >= p.index, 'committed by leader, n4 and one more')
  c.isolate(followers[1] as string)
  const q = c.raft(leader).propose(data('y'))
  c.tick(3)
  t.ok(q.ok && c.raft(leader).status().commit < q.index, 'leader + n4 are not three of four')
})

t.test('§4.1 a configuration takes effect as soon as it is appended, before it commits', async (t) => {
  const { c, leader } = steady()
  t.ok(c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' }).ok)
  const st = c.raft(leader).status()
  t.ok(st.config.members.some((m) => m.id === 'n4'), 'in the leader\'s config')
  t.ok(st.progress.has('n4'), 'the leader tracks it already')
  t.ok(st.commit < st.lastIndex, 'while the entry is uncommitted')
})

t.test('§4.1 a follower that truncates an uncommitted config entry returns to the previous configuration', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }))
  const withN4 = { members: [...voters(3), { id: 'n4', addr: 'n4:1', role: 'learner' as const }] }
  r.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 1, prevTerm: 1, entries: [{ index: 2, term: 2, kind: 'config', config: withN4 }], commit: 1 })
  t.equal(r.status().config.members.length, 4)
  r.step({ type: 'Append', from: 'n3', to: 'n1', term: 3, prevIndex: 1, prevTerm: 1, entries: [{ index: 2, term: 3, kind: 'noop' }], commit: 1 })
  t.equal(r.status().config.members.length, 3, 'n4 is gone with the truncated entry')
})

t.test('§4.1 one change at a time: a second change is refused until the first commits', async (t) => {
  const { c, leader } = steady()
  t.ok(c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' }).ok)
  t.match(c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n5', addr: 'n5:1' }), { ok: false, reason: 'confChangePending' })
  c.add('n4', RaftNode.emptyState())
  c.stabilize()
  t.ok(c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n5', addr: 'n5:1' }).ok, 'accepted once the first committed')
})

t.test('§4.1 a new leader refuses changes until it has committed an entry of its own term', async (t) => {
  const c = TestCluster.withVoters(3, { preVote: false })
  c.raft('n1').campaign()
  for (let i = 0; i < 10; i++) for (const m of c.collect()) if (m.type !== 'Append') c.deliver(m)
  t.equal(c.raft('n1').status().role, 'leader')
  t.match(c.raft('n1').proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' }), { ok: false, reason: 'confChangePending' })
  c.tick(3) // heartbeat responses make n1 resend its no-op
  t.ok(c.raft('n1').proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' }).ok)
})

t.test('§4.1 invalid changes are refused with a reason', async (t) => {
  const { c, leader, followers } = steady()
  const r = c.raft(leader)
  t.match(r.proposeConfChange({ op: 'addLearner', id: followers[0] as string, addr: 'x' }), { ok: false, reason: 'invalid' }, 'add an existing member')
  t.match(r.proposeConfChange({ op: 'promote', id: followers[0] as string }), { ok: false, reason: 'invalid' }, 'promote a voter')
  t.match(r.proposeConfChange({ op: 'promote', id: 'n9' }), { ok: false, reason: 'invalid' }, 'promote a stranger')
  t.match(r.proposeConfChange({ op: 'remove', id: 'n9' }), { ok: false, reason: 'invalid' }, 'remove a stranger')
  t.match(c.raft(followers[0] as string).proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'x' }), { ok: false, reason: 'notLeader', leader })
  const solo = lone('n1', RaftNode.bootstrapState({ id: 'n1', addr: 'n1:1', role: 'voter' }))
  solo.campaign()
  drain(solo)
  t.match(solo.proposeConfChange({ op: 'remove', id: 'n1' }), { ok: false, reason: 'invalid' }, 'remove the last voter')
})

t.test('§4.2 a removed follower receives no more entries', async (t) => {
  const { c, leader, followers } = steady()
  const gone = followers[0] as string
  t.ok(c.raft(leader).proposeConfChange({ op: 'remove', id: gone }).ok)
  c.stabilize()
  c.tick(2)
  const lastBefore = c.raft(gone).status().lastIndex
  c.raft(leader).propose(data('x'))
  c.tick(5)
  t.equal(c.raft(gone).status().lastIndex, lastBefore)
  t.notOk(c.raft(leader).status().progress.has(gone))
  t.ok(c.raft(leader).status().commit === c.raft(leader).status().lastIndex, 'two voters commit on their own')
})

t.test('§4.2.3 a removed member that never learned of its removal cannot disrupt the cluster', async (t) => {
  for (const preVote of [true, false]) {
    const { c, leader, followers } = steady(3, { preVote, checkQuorum: preVote })
    const gone = followers[0] as string
    c.isolate(gone)
    t.ok(c.raft(leader).proposeConfChange({ op: 'remove', id: gone }).ok)
    c.tick(3)
    c.tick(50, [gone]) // campaigning alone, in ever higher terms without PreVote
    const term = c.raft(leader).status().term
    c.heal()
    c.tick(100)
    t.same(c.leaders().filter((id) => id !== gone), [leader], `preVote=${preVote}: same leader`)
    t.equal(c.raft(leader).status().term, term, `preVote=${preVote}: same term`)
  }
})

t.test('§4.2.2 a leader that removes itself leads until the removal commits, then steps down; the rest elect a leader', async (t) => {
  const { c, leader, followers } = steady()
  const term = c.raft(leader).status().term
  const p = c.raft(leader).proposeConfChange({ op: 'remove', id: leader })
  t.ok(p.ok)
  t.equal(c.raft(leader).status().role, 'leader', 'still leading while the entry is uncommitted')
  c.stabilize()
  t.equal(c.raft(leader).status().role, 'follower', 'stepped down once committed')
  for (const f of followers) t.ok(p.ok && c.raft(f).status().commit >= p.index, `${f} learned that the removal committed`)
  const next = electLeaderAbove(c, term)
  t.ok(followers.includes(next), `${next} leads the remaining two`)
  c.tick(50)
  t.equal(c.raft(leader).status().role, 'follower', 'the removed node never campaigns')
})

t.test('quorum math: with 1 to 7 voters, a write commits with a quorum up and not with one node fewer', async (t) => {
  for (let n = 1; n <= 7; n++) {
    const q = quorumSize(n)
    t.equal(q, Math.floor(n / 2) + 1, `${n} voters: quorum ${q}`)
    const { c, leader, followers } = steady(n, { checkQuorum: false })
    for (const f of followers.slice(0, n - q)) c.isolate(f)
    const p = c.raft(leader).propose(data('a'))
    c.tick(3)
    t.ok(p.ok && c.raft(leader).status().commit >= p.index, `${n} voters: commits with ${q} up`)
    if (q === 1) continue
    c.isolate(followers[n - q] as string)
    const p2 = c.raft(leader).propose(data('b'))
    c.tick(3)
    t.ok(p2.ok && c.raft(leader).status().commit < p2.index, `${n} voters: not with ${q - 1} up`)
  }
})

t.test('a lagging follower accepts a leader it does not know yet (added while it was away) and catches up', async (t) => {
  const { c, leader, followers } = steady()
  const away = followers[0] as string
  c.isolate(away)
  addLearner(c, leader)
  t.ok(c.raft(leader).proposeConfChange({ op: 'promote', id: 'n4' }).ok)
  c.tick(3)
  c.raft(leader).transferLeadership('n4')
  c.tick(3)
  t.same(c.leaders(), ['n4'], 'n4 leads; the away node has never heard of it')
  c.raft('n4').propose(data('x'))
  c.heal()
  c.tick(30)
  t.same(logTerms(c.raft(away)), logTerms(c.raft('n4')), 'it caught up from n4')
  t.same(c.leaders(), ['n4'])
})

t.test('§4.2.3 a removed ex-leader that still thinks it leads is told the newer term and steps down, without disturbing the cluster', async (t) => {
  const { c, leader: old, followers } = steady(3, { checkQuorum: false, preVote: false })
  const oldTerm = c.raft(old).status().term
  c.isolate(old)
  const next = electLeaderAbove(c, oldTerm)
  c.tick(2)
  t.ok(c.raft(next).proposeConfChange({ op: 'remove', id: old }).ok)
  c.tick(3)
  const term = c.raft(next).status().term
  t.equal(c.raft(old).status().role, 'leader', 'without CheckQuorum the cut-off leader never noticed')
  c.heal()
  c.tick(5)
  t.equal(c.raft(old).status().role, 'follower', 'it stepped down on the answer to its heartbeat')
  t.same(c.leaders(), [next])
  t.equal(c.raft(next).status().term, term)
  t.ok(followers.includes(next))
})

// Found by the simulator (seed 557): config takes effect on append, so the
// removed leader is no voter in its own latest config, while the remaining
// voter still needs its vote (its log lacks the removal). The removed node
// stays promotable until its removal commits: it wins with the other voter
// alone, commits the removal with its no-op, and steps down.
t.test('§4.2.2 a two-voter leader that removes itself and is cut off before the other voter hears of it does not leave the cluster leaderless', async (t) => {
  const { c, leader, followers } = steady(2)
  const other = followers[0] as string
  const term = c.raft(leader).status().term
  c.isolate(other)
  t.ok(c.raft(leader).proposeConfChange({ op: 'remove', id: leader }).ok)
  c.tick(30, [leader])
  c.heal()
  let elected = false
  for (let i = 0; i < 300 && !elected; i++) {
    c.tick()
    elected = c.raft(other).status().role === 'leader' && c.raft(other).status().term > term
  }
  t.ok(elected, `${other} leads again`)
})

t.test('§4 a node that knows no configuration (joining, or wiped) grants no votes', async (t) => {
  const { c, leader } = steady(3)
  const empty = c.add('n9', { hardState: { term: 0, vote: '', commit: 0 }, snapshot: { index: 0, term: 0, config: { members: [] } }, entries: [] })
  const st = c.raft(leader).status()
  for (const type of ['PreVote', 'Vote'] as const) {
    empty.raft.step({ type, from: leader, to: 'n9', term: st.term + 1, lastIndex: st.lastIndex, lastTerm: st.term, transfer: false })
  }
  const rd = empty.raft.ready()
  const answers = [...rd.messagesNow, ...rd.messagesAfterPersist].filter((m) => m.type === 'VoteResp' || m.type === 'PreVoteResp')
  t.equal(answers.length, 2)
  for (const m of answers) t.ok('reject' in m && m.reject, `${m.type} rejected`)
  empty.raft.advance(rd)
})

t.test('§4.2.1 a learner is promoted only once it holds the committed log', async (t) => {
  const { c, leader } = steady(3)
  c.add('n4', { hardState: { term: 0, vote: '', commit: 0 }, snapshot: { index: 0, term: 0, config: { members: [] } }, entries: [] })
  c.isolate('n4')
  t.ok(c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n4', addr: 'n4:1' }).ok)
  c.tick(3)
  t.match(c.raft(leader).proposeConfChange({ op: 'promote', id: 'n4' }), { ok: false, reason: 'learnerBehind' })
  c.heal()
  c.tick(5)
  t.match(c.raft(leader).proposeConfChange({ op: 'promote', id: 'n4' }), { ok: true })
})

t.test('a vote request from a member that only an uncommitted change removes is answered (conflicting removals do not deadlock; sim seed 3048)', async (t) => {
  // n3's log removes n1 at entry 2 (term 4), not committed; n1 campaigns with
  // a log whose entry 2 (term 5) removes someone else. n1 may be the only
  // candidate a quorum can elect, so n3 must hear it.
  const all = voters(3)
  const withoutN1 = all.filter((m) => m.id !== 'n1')
  const state = (commit: number) => ({
    hardState: { term: 5, vote: '', commit },
    snapshot: { index: 0, term: 0, config: { members: [] } },
    entries: [
      { index: 1, term: 1, kind: 'config' as const, config: { members: all } },
      { index: 2, term: 4, kind: 'config' as const, config: { members: withoutN1 } },
    ],
  })
  const vote = { type: 'Vote' as const, from: 'n1', to: 'n3', term: 6, lastIndex: 2, lastTerm: 5, transfer: false }
  const pending = lone('n3', state(1), { preVote: false, checkQuorum: false })
  pending.step(vote)
  t.match(ofType(messagesOf(drain(pending)), 'VoteResp'), [{ to: 'n1', reject: false }], 'granted while the removal is uncommitted')
  const committed = lone('n3', state(2), { preVote: false, checkQuorum: false })
  committed.step(vote)
  t.same(messagesOf(drain(committed)), [], 'ignored once the removal is committed')
})
