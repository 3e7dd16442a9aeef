// Commitment (Raft paper §5.3, §5.4.2, Figure 8): an entry commits once a
// majority stores it, but a leader counts replicas only for entries of its
// own term; older entries commit indirectly, with the leader's no-op.
import t from 'tap'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { Message } from '../../lib/raft/types.js'
import { TestCluster, data, drain, lone, normalData, stateWithLog, voters } from './harness.js'

const classic = { preVote: false, checkQuorum: false }

/** Delivers queued messages except those `hold` keeps back; returns the held ones. */
function deliverExcept(c: TestCluster, hold: (m: Message) => boolean): Message[] {
  const held: Message[] = []
  for (let i = 0; i < 100; i++) {
    const ms = c.collect()
    if (ms.length === 0) break
    for (const m of ms) {
      if (hold(m)) held.push(m)
      else c.deliver(m)
    }
  }
  return held
}

t.test('§5.4.2 Figure 8: a leader never commits an entry of a previous term by counting replicas', async (t) => {
  // n1 led term 2 and appended entry 2 alone; it now wins term 3.
  const members = voters(3)
  const c = new TestCluster({ ...classic, appendEntriesMax: 1 })
  c.add('n1', stateWithLog(members, [1, 2], { term: 2 }))
  c.add('n2', stateWithLog(members, [1], { term: 2 }))
  c.add('n3', stateWithLog(members, [1], { term: 2 }))
  c.raft('n1').campaign()
  // Entry 2 (term 2) reaches n2, so a majority holds it; nothing of term 3 gets out.
  // (n1's first probe, entry 3 after index 2, is let through: n2 rejects it, lacking index 2.)
  const n2Holds2 = (): boolean => c.raft('n2').termAt(2) === 2
  const held = deliverExcept(c, (m) => m.type === 'Append' && (m.to === 'n3' || (n2Holds2() && m.entries.some((e) => e.term === 3))))
  t.match(c.raft('n1').status(), { role: 'leader', term: 3, lastIndex: 3 }, 'n1 leads term 3 with its no-op at 3')
  t.equal(c.raft('n2').termAt(2), 2, 'n2 holds entry 2')
  t.equal(c.raft('n1').status().progress.get('n2')?.match, 2, 'and n1 knows it')
  t.equal(c.raft('n1').status().commit, 1, 'entry 2 is on a majority but of term 2: not committed')
  for (const m of held) c.deliver(m)

  // Once the no-op of term 3 reaches a majority, both commit together.
  c.stabilize()
  t.equal(c.raft('n1').status().commit, 3, 'the no-op commits, and entry 2 with it')
  t.same(normalData(c.node('n1').applied), ['e2'])
})

t.test('§5.4.2 a new leader commits the entries of earlier terms with the no-op it appends on election', async (t) => {
  const members = voters(3)
  const c = new TestCluster(classic)
  c.add('n1', stateWithLog(members, [1, 2, 2], { term: 2 }))
  c.add('n2', stateWithLog(members, [1, 2, 2], { term: 2 }))
  c.add('n3', stateWithLog(members, [1], { term: 2 }))
  c.raft('n1').campaign()
  c.stabilize()
  c.tick(1)
  t.match(c.raft('n1').status(), { role: 'leader', term: 3, commit: 4 })
  t.equal(c.raft('n1').termAt(4), 3, 'entry 4 is the no-op of term 3')
  for (const n of c.nodes.values()) t.same(normalData(n.applied), ['e2', 'e3'], `${n.id} applied the term-2 entries`)
})

t.test('§5.3 an entry commits once a majority stores it, and not before', async (t) => {
  const c = TestCluster.withVoters(5, classic)
  const leader = c.electLeader()
  const others = [...c.nodes.keys()].filter((id) => id !== leader)
  c.isolate(others[0] as string)
  c.isolate(others[1] as string)
  const a = c.raft(leader).propose(data('a'))
  c.stabilize()
  t.ok(a.ok && c.raft(leader).status().commit >= a.index, '3 of 5 hold a: committed')

  c.isolate(others[2] as string)
  const b = c.raft(leader).propose(data('b'))
  c.tick(5)
  t.ok(b.ok && c.raft(leader).status().commit < b.index, '2 of 5 hold b: not committed')
  c.heal()
  c.tick(3)
  t.ok(b.ok && c.raft(leader).status().commit >= b.index, 'committed once the others are back')
})

t.test('§5.3 a leader counts its own log only once it is durable (advance)', async (t) => {
  const r = lone('n1', RaftNode.bootstrapState({ id: 'n1', addr: 'n1:1', role: 'voter' }))
  r.campaign()
  drain(r)
  t.equal(r.status().role, 'leader')
  const p = r.propose(data('x'))
  t.ok(p.ok)
  const rd = r.ready()
  t.match(rd.entries, [{ kind: 'normal' }], 'the entry is handed to storage')
  t.ok(p.ok && r.status().commit < p.index, 'not committed while its write is outstanding')
  r.advance(rd)
  t.ok(p.ok && r.status().commit === p.index, 'committed once advance() says it is durable')
  t.match(r.ready().committed, [{ kind: 'normal' }], 'and handed out for applying')
})

t.test('§5.3 followers learn a new commit index with the next append, not from an empty append of its own', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  const followers = [...c.nodes.keys()].filter((id) => id !== leader)
  const x = c.raft(leader).propose(data('x'))
  const appendsBefore = c.sentCount('Append')
  c.stabilize() // no tick: no heartbeat
  t.ok(x.ok && c.raft(leader).status().commit >= x.index, 'the leader committed x')
  t.equal(c.sentCount('Append') - appendsBefore, 2, 'one append per follower: none just for the commit')
  const y = c.raft(leader).propose(data('y'))
  c.stabilize()
  for (const f of followers) {
    t.ok(x.ok && c.raft(f).status().commit >= x.index, `${f} learned x committed from the append that carried y`)
    t.same(normalData(c.node(f).applied), ['x'], `${f} applied x`)
  }
  c.tick(1)
  for (const f of followers) t.same(normalData(c.node(f).applied), ['x', 'y'], `${f} applied y after the next heartbeat`)
  t.ok(y.ok)
})

t.test('§4.1 a committed membership change is told to the followers at once, without waiting for an append or heartbeat', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  const r = c.raft(leader).proposeConfChange({ op: 'addLearner', id: 'n9', addr: 'n9:1' })
  c.stabilize() // no tick, no later append
  for (const f of [...c.nodes.keys()].filter((id) => id !== leader)) {
    t.ok(r.ok && c.raft(f).status().commit >= r.index, `${f} knows the change committed`)
  }
})

t.test('§5.3 a follower applies committed entries in log order, exactly once', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  for (let i = 0; i < 20; i++) {
    c.raft(leader).propose(data(`v${i}`))
    if (i % 3 === 0) c.tick(1)
  }
  c.stabilize()
  c.tick(2)
  const want = Array.from({ length: 20 }, (_, i) => `v${i}`)
  for (const n of c.nodes.values()) {
    t.same(normalData(n.applied), want, `${n.id}`)
    const idx = n.applied.map((e) => e.index)
    t.ok(idx.every((x, i) => i === 0 || x === (idx[i - 1] as number) + 1), `${n.id}: contiguous indexes`)
  }
})
