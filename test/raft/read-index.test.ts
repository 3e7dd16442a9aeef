// Linearizable reads with ReadIndex (Raft thesis §6.4): the leader records its
// commit index, confirms it still leads with one quorum round, and the read is
// served once applied ≥ that index. Reads at followers go through the leader.
import t from 'tap'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { Message } from '../../lib/raft/types.js'
import { TestCluster, data, drain, electLeaderAbove, lone, ofType } from './harness.js'

function steady(n = 3, options = {}): { c: TestCluster; leader: string; followers: string[] } {
  const c = TestCluster.withVoters(n, options)
  const leader = c.electLeader()
  c.tick(2)
  return { c, leader, followers: [...c.nodes.keys()].filter((id) => id !== leader) }
}

t.test('§6.4 a new leader answers reads only after committing its no-op (until then it does not know the commit index)', async (t) => {
  const c = TestCluster.withVoters(3, { preVote: false })
  c.raft('n1').campaign()
  // Deliver votes only: n1 leads with its no-op uncommitted.
  const held: Message[] = []
  for (let i = 0; i < 10; i++) for (const m of c.collect()) m.type === 'Append' ? held.push(m) : c.deliver(m)
  t.equal(c.raft('n1').status().role, 'leader')
  const noop = c.raft('n1').status().lastIndex
  c.raft('n1').readIndex('r1')
  c.processReadies()
  t.same(c.node('n1').readStates, [], 'no answer yet')
  t.notOk(ofType(c.queue, 'Heartbeat').some((m) => m.readSeq > 0), 'no read round started yet')
  c.queue.push(...held)
  c.stabilize()
  t.match(c.node('n1').readStates, [{ ctx: 'r1', index: noop }], 'answered with the no-op\'s index once it committed')
})

t.test('§6.4 the read index is the commit index when the read arrived, released only after a quorum confirms leadership', async (t) => {
  const { c, leader } = steady()
  c.raft(leader).propose(data('w'))
  c.stabilize()
  const commit = c.raft(leader).status().commit
  c.raft(leader).readIndex('r')
  const round = c.collect()
  t.same(c.node(leader).readStates, [], 'not before the round')
  t.equal(ofType(round, 'Heartbeat').filter((m) => m.readSeq > 0).length, 1, 'a heartbeat to one follower: with the leader, a quorum')
  for (const m of round) c.deliver(m)
  c.stabilize()
  t.same(c.node(leader).readStates, [{ ctx: 'r', index: commit }])
})

t.test('§6.4 one quorum round serves every read queued before it', async (t) => {
  const { c, leader } = steady(5)
  for (const ctx of ['a', 'b', 'c']) c.raft(leader).readIndex(ctx)
  const round = c.collect()
  const hbs = ofType(round, 'Heartbeat')
  t.equal(hbs.length, 2, 'one heartbeat to each of two followers (with the leader, a quorum of five) for three reads')
  t.equal(new Set(hbs.map((m) => m.readSeq)).size, 1, 'all in one round')
  for (const m of round) c.deliver(m)
  c.stabilize()
  t.same(c.node(leader).readStates.map((r) => r.ctx), ['a', 'b', 'c'])
})

t.test('§6.4 a read needs a quorum of acks, not all: one slow follower of three does not hold it back', async (t) => {
  const { c, leader, followers } = steady()
  c.raft(leader).readIndex('first')
  const round = ofType(c.collect(), 'Heartbeat')
  const asked = round[0]?.to as string
  const other = followers.find((f) => f !== asked) as string
  for (const m of round) c.deliver(m)
  c.stabilize()
  c.isolate(other)
  c.raft(leader).readIndex('r')
  c.stabilize()
  t.match(c.node(leader).readStates.map((r) => r.ctx), ['first', 'r'], 'the follower that answers is asked again and confirms it alone')
  t.ok((c.node(leader).readStates[1]?.index ?? -1) >= 0)
})

t.test('§6.4 a read round asks only a quorum; when an asked follower does not answer, the next tick asks every voter', async (t) => {
  const { c, leader, followers } = steady()
  c.raft(leader).readIndex('r')
  const round = ofType(c.collect(), 'Heartbeat')
  t.equal(round.length, 1, 'one follower asked')
  const other = followers.find((f) => f !== round[0]?.to)
  c.isolate(round[0]?.to as string)
  c.stabilize()
  t.same(c.node(leader).readStates, [], 'not confirmed: the asked follower is gone')
  c.tick(1, [leader])
  c.stabilize()
  t.match(c.node(leader).readStates, [{ ctx: 'r' }], 'confirmed by the other follower, asked at the tick')
  t.ok((c.node(leader).readStates[0]?.index ?? -1) >= 0)
  c.raft(leader).readIndex('next')
  t.match(ofType(c.collect(), 'Heartbeat').map((m) => m.to), [other], 'the next round asks the follower that answered')
})

t.test('§6.4 a read at a follower goes to the leader and comes back with the leader\'s commit index', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  c.raft(leader).propose(data('w'))
  c.stabilize()
  c.raft(f).readIndex('fr')
  const asked = c.collect()
  t.match(asked, [{ type: 'ReadIndex', from: f, to: leader, ctx: 'fr' }])
  for (const m of asked) c.deliver(m)
  c.stabilize()
  const commit = c.raft(leader).status().commit
  t.same(c.node(f).readStates, [{ ctx: 'fr', index: commit }])
  t.same(c.node(leader).readStates, [], 'the leader keeps no read state for it')
  t.ok(c.raft(f).status().applied >= commit, 'the follower has applied up to it (serve now)')
})

t.test('§6.4 a deposed leader fails its pending reads (its own and forwarded ones) with index -1', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  c.raft(leader).readIndex('mine')
  c.raft(f).readIndex('theirs')
  // Let the follower's request reach the leader, but no heartbeat round complete.
  for (const m of c.collect()) if (m.type === 'ReadIndex') c.deliver(m)
  c.collect()
  const term = c.raft(leader).status().term
  c.raft(leader).step({ type: 'Heartbeat', from: followers[1] as string, to: leader, term: term + 1, commit: 0, readSeq: 0 })
  t.equal(c.raft(leader).status().role, 'follower')
  const out = c.collect()
  t.same(c.node(leader).readStates, [{ ctx: 'mine', index: -1 }])
  t.match(ofType(out, 'ReadIndexResp'), [{ to: f, ctx: 'theirs', index: -1 }])
})

t.test('§6.4 a leader cut off by a partition cannot serve a read, even after the others commit new writes', async (t) => {
  for (const checkQuorum of [true, false]) {
    const { c, leader, followers } = steady(3, { checkQuorum, preVote: checkQuorum })
    const oldTerm = c.raft(leader).status().term
    c.isolate(leader)
    c.raft(leader).readIndex('stale?')
    const next = electLeaderAbove(c, oldTerm)
    t.ok(followers.includes(next), `checkQuorum=${checkQuorum}: ${next} took over`)
    c.raft(next).propose(data('newer'))
    c.tick(30)
    const served = c.node(leader).readStates.filter((r) => r.index >= 0)
    t.same(served, [], `checkQuorum=${checkQuorum}: the read was never served`)
    if (checkQuorum) t.same(c.node(leader).readStates, [{ ctx: 'stale?', index: -1 }], 'it failed when the leader stepped down')
  }
})

t.test('§6.4 a node with no known leader fails a read at once', async (t) => {
  const c = TestCluster.withVoters(3)
  c.raft('n1').readIndex('r')
  c.processReadies()
  t.same(c.node('n1').readStates, [{ ctx: 'r', index: -1 }])
})

t.test('§6.4 a leader that is the only voter answers at once (it is its own quorum)', async (t) => {
  const r = lone('n1', RaftNode.bootstrapState({ id: 'n1', addr: 'n1:1', role: 'voter' }))
  r.campaign()
  drain(r)
  r.readIndex('solo')
  const rds = drain(r)
  t.same(
    rds.flatMap((rd) => rd.readStates),
    [{ ctx: 'solo', index: r.status().commit }],
  )
})

t.test('bounded: reads beyond pendingReadsMax fail at once with -1', async (t) => {
  const { c, leader } = steady(3, { pendingReadsMax: 2 })
  for (const ctx of ['a', 'b', 'c']) c.raft(leader).readIndex(ctx)
  const held: Message[] = c.collect()
  t.same(c.node(leader).readStates, [{ ctx: 'c', index: -1 }], 'the third is refused')
  for (const m of held) c.deliver(m)
  c.stabilize()
  t.same(c.node(leader).readStates.map((r) => [r.ctx, r.index >= 0]), [['c', false], ['a', true], ['b', true]])
})

t.test('§6.4 a read forwarded to a node that is no longer leader (it moved to a higher term) fails with -1 instead of hanging', async (t) => {
  const { c, leader, followers } = steady()
  const [f, other] = followers as [string, string]
  const term = c.raft(leader).status().term
  c.raft(leader).step({ type: 'Heartbeat', from: other, to: leader, term: term + 1, commit: 0, readSeq: 0 })
  c.collect()
  t.equal(c.raft(f).status().leader, leader, 'the follower still believes in the old leader')
  c.raft(f).readIndex('r')
  for (let i = 0; i < 5; i++) for (const m of c.collect()) c.deliver(m)
  t.same(c.node(f).readStates, [{ ctx: 'r', index: -1 }])
})

t.test('§6.4 a node without a leader answers a forwarded read with -1', async (t) => {
  const c = TestCluster.withVoters(3)
  c.raft('n1').step({ type: 'ReadIndex', from: 'n2', to: 'n1', term: 1, ctx: 'r' })
  t.match(ofType(c.collect(), 'ReadIndexResp'), [{ to: 'n2', ctx: 'r', index: -1 }])
})

t.test('§6.4 a read index the leader granted still reaches a follower that has since started to campaign', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  c.raft(f).readIndex('r')
  for (const m of c.collect()) c.deliver(m)
  const answers = []
  for (let i = 0; i < 5; i++) {
    for (const m of c.collect()) {
      if (m.type === 'ReadIndexResp') answers.push(m)
      else c.deliver(m)
    }
  }
  t.equal(answers.length, 1)
  c.raft(f).campaign() // PreVote: same term, now a pre-candidate
  t.equal(c.raft(f).status().role, 'precandidate')
  for (const m of answers) c.deliver(m)
  c.processReadies()
  t.match(c.node(f).readStates, [{ ctx: 'r', index: c.raft(leader).status().commit }])
})

t.test('§6.4 a follower whose read is answered before it holds the read index is sent the commit index once it acks the entries', async (t) => {
  const { c, leader, followers } = steady()
  const f = followers[0] as string
  const w = c.raft(leader).propose(data('w'))
  const held: Message[] = []
  // f misses w's append (held back) and the heartbeats of the read round, so
  // the leader answers f's read while f does not hold w yet.
  c.dropIf = (m) => {
    if (m.to === f && m.type === 'Append') {
      held.push(m)
      return true
    }
    return m.to === f && m.type === 'Heartbeat'
  }
  c.stabilize()
  t.ok(w.ok && c.raft(leader).status().commit >= w.index, 'w committed through the leader and g')
  c.raft(f).readIndex('fr')
  c.stabilize()
  c.tick(1, [leader]) // should the round have asked f alone, the tick asks g
  c.stabilize()
  t.ok(w.ok && (c.node(f).readStates[0]?.index ?? -1) >= w.index, 'the read is answered with an index at or past w')
  t.ok(w.ok && c.raft(f).status().commit < w.index, 'f does not know w is committed yet')
  c.dropIf = null
  for (const m of held) c.deliver(m) // carries the commit index from before w committed
  c.stabilize() // no tick: no heartbeat
  t.ok(w.ok && c.raft(f).status().applied >= w.index, 'f learned the commit and applied w without waiting for a heartbeat')
})

t.test('§6.4 a follower that acks the read index during the read round is sent the commit index with the answer', async (t) => {
  const { c, leader, followers } = steady()
  // A round asks the follower that confirmed the last one: a first read makes that g.
  c.raft(leader).readIndex('first')
  const firstRound = ofType(c.collect(), 'Heartbeat')
  for (const m of firstRound) c.deliver(m)
  c.stabilize()
  const g = firstRound[0]?.to as string
  const f = followers.find((id) => id !== g) as string
  const w = c.raft(leader).propose(data('w'))
  const held: Message[] = []
  c.dropIf = (m) => {
    if (m.to !== f || m.type !== 'Append') return false
    held.push(m)
    return true
  }
  c.stabilize() // w commits through the leader and g; f misses it
  c.dropIf = null
  c.raft(f).readIndex('fr')
  for (const m of c.collect()) c.deliver(m) // the ReadIndex request
  const round = c.collect()
  t.same(ofType(round, 'Heartbeat').map((m) => m.to), [g], 'the read round asks g')
  for (const m of held) c.deliver(m) // f receives w now, with the commit index from before w committed
  for (const m of c.collect()) c.deliver(m) // f's ack reaches the leader before the round completes
  t.ok(w.ok && c.raft(f).status().commit < w.index, 'f holds w but does not know it is committed')
  for (const m of round) c.deliver(m)
  c.stabilize() // no tick: no heartbeat
  t.match(c.node(f).readStates, [{ ctx: 'fr' }])
  t.ok(w.ok && c.raft(f).status().applied >= w.index, 'f applied w with the answer, without waiting for the next heartbeat')
})
