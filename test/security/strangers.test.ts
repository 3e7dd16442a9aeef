// Messages from outside the configuration. In the raft core (driven from
// outside, with test/raft/harness.ts): vote requests from a node that is not
// a member, or from a removed node, carrying a higher term change no node's
// term, vote, role or log. At the transport: a node of another cluster is
// refused before anything reaches raft.
import t from 'tap'
import type { Message, NodeId } from '../../lib/raft/types.js'
import { TestCluster } from '../raft/harness.js'
import { CLUSTER, heartbeat, startNode, waitFor } from '../transport/fixtures/harness.js'

interface Snapshot {
  term: number
  role: string
  lastIndex: number
  commit: number
  vote: string
}

function snapshotOf(c: TestCluster): Map<NodeId, Snapshot> {
  const out = new Map<NodeId, Snapshot>()
  for (const [id, node] of c.nodes) {
    const st = node.raft.status()
    out.set(id, { term: st.term, role: st.role, lastIndex: st.lastIndex, commit: st.commit, vote: node.durable.hardState.vote })
  }
  return out
}

function steady(): { c: TestCluster; leader: NodeId } {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  c.stabilize()
  return { c, leader }
}

function voteRequests(from: NodeId, to: NodeId, term: number): Message[] {
  return [
    { type: 'PreVote', from, to, term, lastIndex: 1_000_000, lastTerm: term, transfer: false },
    { type: 'Vote', from, to, term, lastIndex: 1_000_000, lastTerm: term, transfer: false },
    { type: 'Vote', from, to, term, lastIndex: 1_000_000, lastTerm: term, transfer: true },
  ]
}

/** Steps each node straight (past any cut link), then lets the cluster settle. */
function sendToAll(c: TestCluster, make: (to: NodeId) => Message[]): void {
  for (const id of c.nodes.keys()) for (const m of make(id)) c.raft(id).step(m)
  c.stabilize()
}

t.test('vote requests from a node that is not a member, at a much higher term, change nothing', async (t) => {
  const { c } = steady()
  const before = snapshotOf(c)
  sendToAll(c, (to) => voteRequests('stranger', to, 1000))
  t.same(snapshotOf(c), before)
  t.notOk(c.queue.some((m) => m.to === 'stranger'), 'the stranger got no answer')
})

t.test('a removed node campaigning at a higher term changes nothing', async (t) => {
  const { c, leader } = steady()
  const gone = [...c.nodes.keys()].find((id) => id !== leader) as NodeId
  t.ok(c.raft(leader).proposeConfChange({ op: 'remove', id: gone }).ok)
  c.stabilize()
  c.tick(3)
  c.stabilize()
  c.isolate(gone)
  const before = snapshotOf(c)
  before.delete(gone)
  sendToAll(c, (to) => (to === gone ? [] : voteRequests(gone, to, 500)))
  const after = snapshotOf(c)
  after.delete(gone)
  t.same(after, before)
})

t.test('a TimeoutNow from a node that is not a member does not start an election', async (t) => {
  const { c, leader } = steady()
  const before = snapshotOf(c)
  sendToAll(c, (to) => (to === leader ? [] : [{ type: 'TimeoutNow', from: 'stranger', to, term: 50 }]))
  t.same(snapshotOf(c), before)
})

t.test('a node of another cluster is refused at the handshake and nothing reaches raft', async (t) => {
  const b = await startNode(t, 'b')
  const foreign = await startNode(t, 'n9', { clusterId: `${CLUSTER}-other` })
  foreign.transport.setPeers(new Map([['b', b.addr]]))
  foreign.transport.send('b', { type: 'Vote', from: 'n9', to: 'b', term: 1000, lastIndex: 1_000_000, lastTerm: 1000, transfer: true })
  foreign.transport.send('b', heartbeat('n9', 'b'))
  await waitFor(() => b.transport.counters.connectionsRefused >= 1, 'a refusal')
  t.equal(b.received.length, 0)
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'cluster', peer: 'n9' })
})

// raw-node.ts takes Append, Heartbeat and Snapshot from unknown senders only
// when it has no live leader of its own (a lagging follower following a
// leader added while it was away): a healthy cluster is not deposed.
t.test('an Append from a node that is not a member, at a higher term, changes nothing', async (t) => {
  const { c, leader } = steady()
  const before = snapshotOf(c)
  const term = c.raft(leader).status().term + 10
  sendToAll(c, (to) => [
    { type: 'Heartbeat', from: 'stranger', to, term, commit: 0, readSeq: 1 },
    { type: 'Append', from: 'stranger', to, term, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 },
  ])
  t.same(snapshotOf(c), before)
})
