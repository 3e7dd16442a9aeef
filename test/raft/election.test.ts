// Leader election (Raft paper §5.1, §5.2): each test checks one rule of
// Figure 2 ("Rules for Servers", "RequestVote RPC") on a lone node fed by
// hand or on a small fault-free cluster.
import t from 'tap'
import { TestCluster, drain, lone, messagesOf, ofType, stateWithLog, voters } from './harness.js'
import type { RaftNode } from '../../lib/raft/raw-node.js'

// The paper's election, without the PreVote and CheckQuorum extensions.
const classic = { preVote: false, checkQuorum: false }

function tickUntilNotFollower(r: RaftNode, ticksMax = 100): number {
  let ticks = 0
  while (r.status().role === 'follower' && ticks < ticksMax) {
    r.tick()
    ticks++
  }
  return ticks
}

/** A lone n1 of `n` voters that has just become candidate in term 2. */
function candidate(n: number): RaftNode {
  const r = lone('n1', stateWithLog(voters(n), [1]), classic)
  r.campaign()
  drain(r)
  return r
}

t.test('§5.2 a follower that hears from no leader for an election timeout becomes candidate, votes for itself and asks every voter', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), classic)
  const ticks = tickUntilNotFollower(r)
  t.ok(ticks >= 10 && ticks < 20, `campaigned after ${ticks} ticks, within [e, 2e)`)
  const st = r.status()
  t.equal(st.role, 'candidate')
  t.equal(st.term, 2, 'term incremented')
  t.equal(st.vote, 'n1', 'voted for itself')
  const votes = ofType(messagesOf(drain(r)), 'Vote')
  t.same(votes.map((m) => m.to).sort(), ['n2', 'n3'])
  for (const m of votes) t.match(m, { term: 2, lastIndex: 1, lastTerm: 1, transfer: false })
})

t.test('§5.2 election timeouts are randomized in [e, 2e) from the injected seed', async (t) => {
  const seen = new Set<number>()
  for (let seed = 1; seed <= 40; seed++) {
    const r = lone('n1', stateWithLog(voters(3), [1]), classic, seed)
    const ticks = tickUntilNotFollower(r)
    t.ok(ticks >= 10 && ticks < 20, `seed ${seed}: ${ticks} ticks`)
    seen.add(ticks)
  }
  t.ok(seen.size >= 5, `spread over ${seen.size} distinct timeouts`)
  // The same seed gives the same timeout.
  const a = tickUntilNotFollower(lone('n1', stateWithLog(voters(3), [1]), classic, 7))
  const b = tickUntilNotFollower(lone('n1', stateWithLog(voters(3), [1]), classic, 7))
  t.equal(a, b)
})

t.test('§5.2 a candidate that receives votes from a majority of voters becomes leader', async (t) => {
  const r3 = candidate(3)
  r3.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  t.equal(r3.status().role, 'leader', '2 of 3')

  const r5 = candidate(5)
  r5.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  t.equal(r5.status().role, 'candidate', '2 of 5 is not a majority')
  r5.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  t.equal(r5.status().role, 'candidate', 'a repeated vote counts once')
  r5.step({ type: 'VoteResp', from: 'n3', to: 'n1', term: 2, reject: false })
  t.equal(r5.status().role, 'leader', '3 of 5')
})

t.test('§5.2 a candidate rejected by a majority of voters returns to follower in the same term', async (t) => {
  const r = candidate(3)
  r.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: true })
  t.equal(r.status().role, 'candidate', 'one rejection of 3 decides nothing')
  r.step({ type: 'VoteResp', from: 'n3', to: 'n1', term: 2, reject: true })
  t.match(r.status(), { role: 'follower', term: 2 })
})

t.test('§5.2 a candidate that receives AppendEntries from a leader of its term becomes its follower', async (t) => {
  const r = candidate(3)
  r.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 1, prevTerm: 1, entries: [], commit: 1 })
  t.match(r.status(), { role: 'follower', term: 2, leader: 'n2' })
})

t.test('§5.2 a candidate whose election times out without a winner starts a new election in the next term', async (t) => {
  const r = candidate(3)
  tickUntilNotFollower(r)
  for (let i = 0; i < 20 && r.status().term === 2; i++) r.tick()
  t.match(r.status(), { role: 'candidate', term: 3, vote: 'n1' })
  t.ok(ofType(messagesOf(drain(r)), 'Vote').every((m) => m.term === 3))
})

t.test('§5.1 a node that sees a higher term adopts it and becomes follower (follower, candidate and leader)', async (t) => {
  const follower = lone('n1', stateWithLog(voters(3), [1]), classic)
  const cand = candidate(3)
  const leader = candidate(3)
  leader.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  t.equal(leader.status().role, 'leader')
  for (const [name, r] of [['follower', follower], ['candidate', cand], ['leader', leader]] as const) {
    r.step({ type: 'Append', from: 'n3', to: 'n1', term: 5, prevIndex: 1, prevTerm: 1, entries: [], commit: 1 })
    t.match(r.status(), { role: 'follower', term: 5, leader: 'n3' }, name)
  }
  // A response with a higher term deposes too (it carries no leader).
  const l2 = candidate(3)
  l2.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  l2.step({ type: 'AppendResp', from: 'n2', to: 'n1', term: 7, reject: true, index: 0, hintIndex: 0, hintTerm: 0 })
  t.match(l2.status(), { role: 'follower', term: 7, leader: null, vote: '' })
})

t.test('§5.1 an AppendEntries with a stale term is refused with the current term and changes nothing', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 3 }))
  r.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 1, prevTerm: 1, entries: [{ index: 2, term: 2, kind: 'noop' }], commit: 2 })
  const resp = ofType(messagesOf(drain(r)), 'AppendResp')
  t.match(resp, [{ to: 'n2', term: 3, reject: true }])
  t.match(r.status(), { term: 3, lastIndex: 1, commit: 1, leader: null })
})

t.test('§5.1 a vote request with a stale term is not granted', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 3 }), classic)
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 5, lastTerm: 2, transfer: false })
  t.notOk(ofType(messagesOf(drain(r)), 'VoteResp').some((m) => !m.reject))
  t.match(r.status(), { term: 3, vote: '' })
})

t.test('§5.1 a vote request with a stale term is answered with the current term (simulator seed 15504)', async (t) => {
  // A candidate our configuration holds as a learner never hears our own
  // campaigns: the answer is how it learns the term it must beat.
  const r = lone('n1', stateWithLog(voters(3), [1], { term: 3 }), classic)
  r.step({ type: 'Vote', from: 'n2', to: 'n1', term: 2, lastIndex: 5, lastTerm: 2, transfer: false })
  t.match(ofType(messagesOf(drain(r)), 'VoteResp'), [{ to: 'n2', term: 3, reject: true }])
})

t.test('§5.2 a leader sends a heartbeat to every follower each heartbeat interval', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1]), { ...classic, heartbeatIntervalTicks: 2 })
  r.campaign()
  drain(r)
  r.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: 2, reject: false })
  drain(r)
  r.tick()
  t.same(ofType(messagesOf(drain(r)), 'Heartbeat'), [], 'none after 1 tick')
  r.tick()
  const hbs = ofType(messagesOf(drain(r)), 'Heartbeat')
  t.same(hbs.map((m) => m.to).sort(), ['n2', 'n3'])
  t.ok(hbs.every((m) => m.term === 2))
})

t.test('§5.2 a cluster elects a leader while a majority is up, and none without one', async (t) => {
  for (const preVote of [false, true]) {
    const c5 = TestCluster.withVoters(5, { preVote, checkQuorum: preVote })
    c5.isolate('n4')
    c5.isolate('n5')
    const leader = c5.electLeader()
    t.ok(['n1', 'n2', 'n3'].includes(leader), `preVote=${preVote}: 3 of 5 elect ${leader}`)

    const c3 = TestCluster.withVoters(5, { preVote, checkQuorum: preVote })
    for (const id of ['n3', 'n4', 'n5']) c3.isolate(id)
    c3.tick(100)
    t.same(c3.leaders(), [], `preVote=${preVote}: 2 of 5 elect nobody`)
  }
})

t.test('§5.2 election safety: at most one leader per term, over seeded runs with partitions', async (t) => {
  for (let seed = 1; seed <= 10; seed++) {
    const c = TestCluster.withVoters(5, classic)
    const leaderOfTerm = new Map<number, string>()
    let x = seed
    for (let step = 0; step < 200; step++) {
      x = (x * 1103515245 + 12345) % 2147483648
      if (step % 25 === 0) {
        c.heal()
        c.isolate(`n${1 + (x % 5)}`)
      }
      c.tick()
      for (const n of c.nodes.values()) {
        const st = n.raft.status()
        if (st.role !== 'leader') continue
        const prev = leaderOfTerm.get(st.term)
        if (prev !== undefined && prev !== st.id) t.fail(`seed ${seed}: term ${st.term} has leaders ${prev} and ${st.id}`)
        leaderOfTerm.set(st.term, st.id)
      }
    }
    t.ok(leaderOfTerm.size > 1, `seed ${seed}: ${leaderOfTerm.size} terms with a leader`)
  }
})
