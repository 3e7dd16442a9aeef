// PreVote (thesis §9.6) and CheckQuorum with the leader lease (thesis §6.2,
// §4.2.3), and the cases where the two together could leave a cluster
// without a leader (etcd's TestFreeStuckCandidateWithCheckQuorum,
// TestPreVoteWithCheckQuorum, TestPreVoteMigration*).
import t from 'tap'
import type { RaftOptions } from '../../lib/raft/raw-node.js'
import { TestCluster, data, drain, electLeaderAbove, lone, logTerms, messagesOf, ofType, stateWithLog, voters } from './harness.js'

/** Three voters at term 1; per-node options override the cluster's. */
function cluster3(perNode: Record<string, Partial<RaftOptions>> = {}): TestCluster {
  const c = new TestCluster()
  for (const id of ['n1', 'n2', 'n3']) c.add(id, stateWithLog(voters(3), [1]), perNode[id] ?? {})
  return c
}

function others(c: TestCluster, ...not: string[]): string[] {
  return [...c.nodes.keys()].filter((id) => !not.includes(id))
}

t.test('PreVote: a node cut off from the cluster does not raise its term', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  const term = c.raft(leader).status().term
  const f = others(c, leader)[0] as string
  c.isolate(f)
  c.tick(100)
  t.match(c.raft(f).status(), { term, role: 'precandidate' }, 'it pre-campaigns again and again in the same term')
})

t.test('PreVote: a node rejoining after a partition does not disrupt the leader', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  const term = c.raft(leader).status().term
  const f = others(c, leader)[0] as string
  c.isolate(f)
  c.tick(50)
  c.raft(leader).propose(data('while-away'))
  c.heal()
  c.tick(30)
  t.same(c.leaders(), [leader], 'same leader')
  t.equal(c.raft(leader).status().term, term, 'same term')
  t.match(c.raft(f).status(), { role: 'follower', leader, term })
  t.same(logTerms(c.raft(f)), logTerms(c.raft(leader)), 'and it caught up')
})

t.test('PreVote: a pre-candidate whose log is behind gets no pre-votes, so no term moves for it', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  const term = c.raft(leader).status().term
  const [stale, fresh] = others(c, leader) as [string, string]
  c.isolate(stale)
  c.raft(leader).propose(data('x'))
  c.tick(2)
  c.heal()
  c.isolate(leader) // the leader is gone; `stale` lacks x, `fresh` holds it
  const next = electLeaderAbove(c, term)
  t.equal(next, fresh, 'only the up-to-date node can win')
  t.equal(c.raft(next).status().term, term + 1, 'elected in the next term: the stale pre-campaigns cost nothing')
})

t.test('CheckQuorum: a leader that hears from no quorum for an election timeout steps down', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.isolate(leader)
  // Peers were active in the check period under way, so it passes one more check.
  c.tick(9, [leader])
  t.equal(c.raft(leader).status().role, 'leader', 'still leading within the timeout')
  c.tick(11, [leader])
  t.match(c.raft(leader).status(), { role: 'follower', leader: null })
  t.match(c.raft(leader).propose(data('x')), { ok: false, reason: 'notLeader' })
})

t.test('CheckQuorum: a leader keeps leading while a quorum answers, with a minority cut off', async (t) => {
  const c = TestCluster.withVoters(5)
  const leader = c.electLeader()
  const term = c.raft(leader).status().term
  const [a, b] = others(c, leader) as [string, string]
  c.isolate(a)
  c.isolate(b)
  c.tick(60)
  t.same(c.leaders(), [leader])
  t.equal(c.raft(leader).status().term, term)
})

t.test('leader lease: a follower that heard from its leader within the election timeout ignores a higher-term (pre-)vote request', async (t) => {
  for (const type of ['Vote', 'PreVote'] as const) {
    const r = lone('n1', stateWithLog(voters(3), [1], { term: 2 }), { preVote: type === 'PreVote', checkQuorum: true })
    r.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 1, readSeq: 0 })
    drain(r)
    r.step({ type, from: 'n3', to: 'n1', term: 3, lastIndex: 1, lastTerm: 1, transfer: false })
    t.same(messagesOf(drain(r)), [], `${type}: no answer`)
    t.match(r.status(), { term: 2, leader: 'n2' }, `${type}: term and leader unchanged`)
    // Once the lease ran out (no heartbeat for an election timeout) it may vote.
    for (let i = 0; i < 10; i++) r.tick()
    drain(r)
    r.step({ type, from: 'n3', to: 'n1', term: 3, lastIndex: 1, lastTerm: 1, transfer: false })
    const resp = ofType(messagesOf(drain(r)), type === 'Vote' ? 'VoteResp' : 'PreVoteResp')
    t.match(resp, [{ to: 'n3', reject: false, term: 3 }], `${type}: granted after the lease`)
  }
})

t.test('CheckQuorum without PreVote: a node whose term rose while cut off frees itself — the leader steps down on its answer and a leader is elected', async (t) => {
  const c = TestCluster.withVoters(3, { preVote: false, checkQuorum: true })
  const leader = c.electLeader()
  const f = others(c, leader)[0] as string
  c.isolate(f)
  c.tick(60)
  const stuckTerm = c.raft(f).status().term
  t.ok(stuckTerm > c.raft(leader).status().term, `cut-off node campaigned up to term ${stuckTerm}`)
  c.heal()
  const next = electLeaderAbove(c, stuckTerm - 1)
  t.ok(c.raft(next).status().term > stuckTerm, 'a leader in a term above the stuck one')
  t.same(c.leaders(), [next], 'the old leader stepped down')
  c.raft(next).propose(data('after'))
  c.tick(3)
  for (const n of c.nodes.values()) t.same(logTerms(n.raft), logTerms(c.raft(next)), `${n.id} in sync`)
})

t.test('PreVote + CheckQuorum: when the leader is cut off, the remaining voters elect a new one', async (t) => {
  for (let seed = 0; seed < 5; seed++) {
    const c = TestCluster.withVoters(3)
    c.tick(seed)
    const leader = c.electLeader()
    c.isolate(leader)
    let next = ''
    for (let i = 0; i < 100 && next === ''; i++) {
      c.tick()
      next = c.leaders().find((id) => id !== leader) ?? ''
    }
    t.not(next, '', `run ${seed}: ${next} elected without ${leader}`)
  }
})

t.test('PreVote + CheckQuorum: a node with a higher term rejoins (it ran without PreVote); the cluster keeps a leader that can count on it', async (t) => {
  // n3 runs without PreVote (an upgrade in progress): cut off, it raises its
  // term. Lower-term appends and pre-votes it receives are answered with its
  // term, so it cannot be shut out; then the third node fails and n3 is
  // needed for every quorum.
  const c = cluster3({ n3: { preVote: false } })
  c.raft('n1').campaign()
  c.stabilize()
  t.equal(c.leaders()[0], 'n1')
  c.isolate('n3')
  c.raft('n1').propose(data('x'))
  c.tick(60)
  t.ok(c.raft('n3').status().term > c.raft('n1').status().term, 'n3 ran ahead in term')
  c.heal()
  c.tick(40)
  c.isolate('n2')
  let leader = ''
  for (let i = 0; i < 200 && leader === ''; i++) {
    c.tick()
    leader = c.leaders().find((id) => id !== 'n2') ?? ''
  }
  t.equal(leader, 'n1', 'n1 and n3 elect n1 (n3 lacks x)')
  const p = c.raft(leader).propose(data('y'))
  c.tick(3)
  t.ok(p.ok && c.raft('n3').status().commit >= p.index, 'a write commits with n3 as the only follower')
})

t.test('PreVote migration: a voter with a higher term but a shorter log cannot win, and its rejections move the others to its term so one of them can', async (t) => {
  const members = voters(3)
  const c = new TestCluster()
  c.add('n1', stateWithLog(members, [1, 2, 2], { term: 2, commit: 3 }))
  c.add('n2', stateWithLog(members, [1, 2, 2], { term: 2, commit: 3 }))
  c.add('n3', stateWithLog(members, [1], { term: 5 }))
  // n1 and n2 would elect each other anyway; keep n2 out of the first
  // rounds so every election needs n3.
  c.isolate('n2')
  let leader = ''
  for (let i = 0; i < 200 && leader === ''; i++) {
    c.tick()
    leader = c.leaders()[0] ?? ''
  }
  t.equal(leader, 'n1', 'n1 wins with n3\'s vote')
  t.ok(c.raft('n1').status().term > 5, 'in a term above n3\'s')
  c.heal()
  c.tick(5)
  t.same(logTerms(c.raft('n3')), logTerms(c.raft('n1')), 'n3 caught up')
})
