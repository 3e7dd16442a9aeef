// Vote safety (Raft paper §5.2, §5.4.1): a voter grants one vote per term, only
// to a candidate whose log is at least as up-to-date as its own, and makes
// that vote durable before the candidate can learn of it.
import t from 'tap'
import { TestCluster, drain, lone, messagesOf, ofType, stateWithLog, voters } from './harness.js'

const classic = { preVote: false, checkQuorum: false }

t.test('§5.4.1 a vote is granted only to a candidate whose log is at least as up-to-date', async (t) => {
  // The voter's log: terms [1, 1, 2] (last index 3, last term 2), term 2.
  const cases: { lastIndex: number; lastTerm: number; grant: boolean; why: string }[] = [
    { lastIndex: 2, lastTerm: 1, grant: false, why: 'lower last term' },
    { lastIndex: 9, lastTerm: 1, grant: false, why: 'lower last term, longer log' },
    { lastIndex: 2, lastTerm: 2, grant: false, why: 'same last term, shorter log' },
    { lastIndex: 3, lastTerm: 2, grant: true, why: 'same last term, same length' },
    { lastIndex: 4, lastTerm: 2, grant: true, why: 'same last term, longer log' },
    { lastIndex: 2, lastTerm: 3, grant: true, why: 'higher last term, shorter log' },
  ]
  for (const cs of cases) {
    const r = lone('n1', stateWithLog(voters(3), [1, 1, 2]), classic)
    r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 3, lastIndex: cs.lastIndex, lastTerm: cs.lastTerm, transfer: false })
    const resp = ofType(messagesOf(drain(r)), 'VoteResp')
    t.equal(resp.length, 1, cs.why)
    t.equal(resp[0]?.reject, !cs.grant, `${cs.why}: ${cs.grant ? 'granted' : 'rejected'}`)
    t.equal(r.status().term, 3, `${cs.why}: the voter adopts the higher term either way`)
    t.equal(r.status().vote, cs.grant ? 'n2' : '', `${cs.why}: vote recorded only when granted`)
  }
})

t.test('§5.2 a voter grants at most one vote per term, first come first served', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  r.step({ type: 'Vote', from: 'n3', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  const resp = ofType(messagesOf(drain(r)), 'VoteResp')
  t.match(resp, [
    { to: 'n2', reject: false },
    { to: 'n3', reject: true },
  ])
  t.equal(r.status().vote, 'n2')
})

t.test('§5.2 a repeated request from the candidate it voted for is granted again (a lost response is not a lost vote)', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  t.same(
    ofType(messagesOf(drain(r)), 'VoteResp').map((m) => m.reject),
    [false, false],
  )
})

t.test('§5.2 a voter in a later term may vote again', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  r.step({ type: 'Vote', from: 'n3', to: 'n1', term: 3, lastIndex: 1, lastTerm: 1, transfer: false })
  t.same(
    ofType(messagesOf(drain(r)), 'VoteResp').map((m) => [m.to, m.term, m.reject]),
    [
      ['n2', 2, false],
      ['n3', 3, false],
    ],
  )
  t.match(r.status(), { term: 3, vote: 'n3' })
})

t.test('§5.2 durable vote: the VoteResp leaves only after persisting, in the Ready that carries the new term and vote', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  t.ok(r.hasReady())
  const rd = r.ready()
  t.same(rd.hardState, { term: 2, vote: 'n2', commit: 1 }, 'term and vote to persist')
  t.same(rd.messagesNow, [], 'nothing may leave before the vote is durable')
  t.match(rd.messagesAfterPersist, [{ type: 'VoteResp', to: 'n2', term: 2, reject: false }])
  r.advance(rd)
  t.notOk(r.hasReady())
})

t.test('§5.2 durable vote: a candidate persists its new term and its own vote before asking for votes', async (t) => {
  for (const preVote of [false, true]) {
    const r = lone('n1', stateWithLog(voters(3), [1]), { preVote, checkQuorum: false })
    r.campaign()
    if (preVote) {
      // A pre-candidate changes no durable state: its requests may leave at once (after an empty persist).
      const rd = r.ready()
      t.equal(rd.hardState, null, 'preVote: no hard state change')
      t.same(ofType([...rd.messagesNow, ...rd.messagesAfterPersist], 'PreVote').length, 2)
      r.advance(rd)
      r.step({ type: 'PreVoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
    }
    const rd = r.ready()
    t.same(rd.hardState, { term: 2, vote: 'n1', commit: 1 }, `preVote=${preVote}: term and self-vote to persist`)
    t.same(rd.messagesNow, [], `preVote=${preVote}: no request before the vote is durable`)
    t.same(
      ofType(rd.messagesAfterPersist, 'Vote').map((m) => m.to).sort(),
      ['n2', 'n3'],
    )
    r.advance(rd)
  }
})

t.test('§5.2 durable vote: a voter restarted from its durable state still refuses a second candidate in that term', async (t) => {
  const c = TestCluster.withVoters(3, classic)
  c.raft('n1').step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  c.collect()
  t.same(c.node('n1').durable.hardState, { term: 2, vote: 'n2', commit: 1 })
  const restarted = c.restart('n1')
  restarted.raft.step({ type: 'Vote', from: 'n3', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  const resp = ofType(c.collect(), 'VoteResp')
  t.match(resp, [{ to: 'n3', reject: true }])
  t.equal(restarted.raft.status().vote, 'n2')
})

t.test('§5.2 a follower that knows a leader in its term refuses votes in that term', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }), classic)
  r.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 1, readSeq: 0 })
  r.step({ type: 'Vote', from: 'n3', to: 'n1', term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n3', reject: true }])
})
