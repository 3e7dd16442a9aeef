// Leadership transfer (Raft thesis §3.10): the leader brings the target up
// to date, then sends TimeoutNow; the target campaigns at once, past the
// other voters' leader lease. Proposals wait while a transfer is under way,
// and a transfer that does not finish within an election timeout is dropped.
import t from 'tap'
import type { Member } from '../../lib/raft/types.js'
import { TestCluster, data, drain, lone, messagesOf, ofType, stateWithLog, voters } from './harness.js'

function steady(n = 3): { c: TestCluster; leader: string; followers: string[] } {
  const c = TestCluster.withVoters(n)
  const leader = c.electLeader()
  c.tick(2)
  return { c, leader, followers: [...c.nodes.keys()].filter((id) => id !== leader) }
}

t.test('§3.10 a transfer to a caught-up voter sends TimeoutNow at once and the target wins the next term', async (t) => {
  const { c, leader, followers } = steady()
  const target = followers[0] as string
  const term = c.raft(leader).status().term
  c.raft(leader).transferLeadership(target)
  const out = c.collect()
  t.match(ofType(out, 'TimeoutNow'), [{ to: target, term }])
  c.queue.push(...out)
  c.stabilize()
  t.same(c.leaders(), [target])
  t.equal(c.raft(target).status().term, term + 1)
  t.match(c.raft(leader).status(), { role: 'follower', leader: target })
})

t.test('§3.10 a transfer to a lagging voter first brings it up to date, then sends TimeoutNow', async (t) => {
  const { c, leader, followers } = steady()
  const target = followers[0] as string
  c.isolate(target)
  for (let i = 0; i < 5; i++) c.raft(leader).propose(data(`v${i}`))
  c.tick(2, [leader, followers[1] as string])
  c.heal()
  const lastIndex = c.raft(leader).status().lastIndex
  let targetLastAtTimeoutNow = -1
  c.dropIf = (m) => {
    if (m.type === 'TimeoutNow') targetLastAtTimeoutNow = c.raft(target).status().lastIndex
    return false
  }
  c.raft(leader).transferLeadership(target)
  t.same(ofType(c.queue, 'TimeoutNow'), [], 'no TimeoutNow yet')
  c.tick(3)
  t.equal(targetLastAtTimeoutNow, lastIndex, 'TimeoutNow only once the target held the whole log')
  t.same(c.leaders(), [target])
})

t.test('§3.10 proposals are refused while a transfer is under way', async (t) => {
  const { c, leader, followers } = steady()
  const target = followers[0] as string
  c.isolate(target) // the transfer cannot finish
  c.raft(leader).propose(data('x'))
  c.raft(leader).transferLeadership(target)
  t.equal(c.raft(leader).status().transferee, target)
  t.match(c.raft(leader).propose(data('y')), { ok: false, reason: 'transferring', leader })
  t.match(c.raft(leader).proposeConfChange({ op: 'remove', id: target }), { ok: false, reason: 'transferring' })
})

t.test('§3.10 a transfer that does not finish within an election timeout is abandoned; proposals are accepted again', async (t) => {
  const { c, leader, followers } = steady()
  const target = followers[0] as string
  c.isolate(target)
  c.raft(leader).propose(data('x'))
  c.raft(leader).transferLeadership(target)
  c.tick(9, [leader, followers[1] as string])
  t.equal(c.raft(leader).status().transferee, target, 'still trying within the timeout')
  c.tick(2, [leader, followers[1] as string])
  t.match(c.raft(leader).status(), { role: 'leader', transferee: null })
  t.ok(c.raft(leader).propose(data('y')).ok)
})

t.test('§3.10 the target\'s vote request passes the voters\' leader lease (CheckQuorum) because it says it is a transfer', async (t) => {
  for (const transfer of [false, true]) {
    const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }), { checkQuorum: true })
    r.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 1, readSeq: 0 })
    drain(r)
    r.step({ type: 'Vote', from: 'n3', to: 'n1', term: 3, lastIndex: 1, lastTerm: 1, transfer })
    const granted = ofType(messagesOf(drain(r)), 'VoteResp').some((m) => !m.reject)
    t.equal(granted, transfer, transfer ? 'granted within the lease' : 'ignored within the lease')
  }
})

t.test('§3.10 TimeoutNow makes the target campaign without PreVote, in the next term', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }), { preVote: true })
  r.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 1, readSeq: 0 })
  r.step({ type: 'TimeoutNow', from: 'n2', to: 'n1', term: 2 })
  t.match(r.status(), { role: 'candidate', term: 3, vote: 'n1' })
  const votes = ofType(messagesOf(drain(r)), 'Vote')
  t.equal(votes.length, 2)
  t.ok(votes.every((m) => m.transfer && m.term === 3))
})

t.test('§3.10 a transfer to itself, a learner or a stranger is ignored; a learner ignores TimeoutNow', async (t) => {
  const { c, leader } = steady()
  for (const to of [leader, 'n9']) {
    c.raft(leader).transferLeadership(to)
    t.equal(c.raft(leader).status().transferee, null, `to ${to}`)
  }
  const members: Member[] = [...voters(3), { id: 'n4', addr: 'n4:1', role: 'learner' }]
  const learner = lone('n4', stateWithLog(members, [1], { term: 2 }))
  learner.step({ type: 'TimeoutNow', from: 'n1', to: 'n4', term: 2 })
  t.match(learner.status(), { role: 'follower', term: 2 })
  const l = lone('n1', stateWithLog(members, [1]), { preVote: false })
  l.campaign()
  drain(l)
  l.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  l.transferLeadership('n4')
  t.equal(l.status().transferee, null, 'not to a learner')
})
