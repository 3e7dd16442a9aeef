// Log replication (Raft paper §5.3, Figure 2 "AppendEntries RPC"; thesis
// §10.2 for pipelining): the consistency check, conflict truncation, commit
// propagation, fast backtracking and the flow-control bounds.
import t from 'tap'
import { entryBytes } from '../../lib/raft/raft-log.js'
import type { AppendRequest, Message } from '../../lib/raft/types.js'
import { TestCluster, data, drain, lone, logTerms, messagesOf, normalData, ofType, stateWithLog, voters } from './harness.js'

const classic = { preVote: false, checkQuorum: false }

function append(from: string, term: number, prevIndex: number, prevTerm: number, entryTerms: number[], commit: number): AppendRequest {
  const entries = entryTerms.map((et, i) => ({ index: prevIndex + 1 + i, term: et, kind: 'noop' as const }))
  return { type: 'Append', from, to: 'n1', term, prevIndex, prevTerm, entries, commit }
}

t.test('§5.3 a leader appends a proposal to its log and replicates it to every follower, which apply it in order', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  for (const s of ['a', 'b', 'c']) t.ok(c.raft(leader).propose(data(s)).ok)
  c.stabilize()
  c.tick(2)
  for (const n of c.nodes.values()) {
    t.same(normalData(n.applied), ['a', 'b', 'c'], `${n.id} applied a, b, c`)
    t.same(logTerms(n.raft), logTerms(c.raft(leader)), `${n.id} holds the leader's log`)
  }
})

t.test('§5.3 consistency check: a follower refuses an append whose prevIndex/prevTerm it does not hold', async (t) => {
  for (const [prevIndex, prevTerm, why] of [
    [3, 3, 'term differs at prevIndex'],
    [5, 2, 'prevIndex beyond its log'],
  ] as const) {
    const r = lone('n1', stateWithLog(voters(3), [1, 1, 2], { term: 3 }))
    r.step(append('n2', 3, prevIndex, prevTerm, [3], 1))
    const resp = ofType(messagesOf(drain(r)), 'AppendResp')
    t.match(resp, [{ to: 'n2', reject: true, index: prevIndex }], why)
    t.ok((resp[0]?.hintIndex ?? 99) <= 3, `${why}: the hint points inside the follower's log`)
    t.same(logTerms(r), [1, 1, 2], `${why}: log unchanged`)
  }
})

t.test('§5.3 a follower deletes a conflicting entry and everything after it, then appends the new entries', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1, 1, 2, 2], { term: 3 }))
  r.step(append('n2', 3, 2, 1, [3], 1))
  const rd = r.ready()
  t.match(rd.entries, [{ index: 3, term: 3 }], 'storage is told to truncate from index 3')
  t.match(rd.messagesAfterPersist, [{ type: 'AppendResp', reject: false, index: 3 }])
  r.advance(rd)
  t.same(logTerms(r), [1, 1, 3])
})

t.test('§5.3 a follower keeps entries that a delayed or duplicated append already holds (no truncation)', async (t) => {
  const r = lone('n1', stateWithLog(voters(3), [1, 2, 2, 2], { term: 2 }))
  r.step(append('n2', 2, 1, 1, [2], 1))
  const rds = drain(r)
  t.same(logTerms(r), [1, 2, 2, 2], 'later entries survive')
  t.ok(rds.every((rd) => rd.entries.length === 0), 'nothing to write')
  t.match(ofType(messagesOf(rds), 'AppendResp'), [{ reject: false, index: 2 }], 'acks only what the append covered')
})

t.test('§5.3 a follower sets commit to min(leaderCommit, index of the last new entry)', async (t) => {
  const a = lone('n1', stateWithLog(voters(3), [1], { term: 2 }))
  a.step(append('n2', 2, 1, 1, [2, 2], 5))
  t.equal(a.status().commit, 3, 'leader commit beyond the new entries: commit the last new one')
  const b = lone('n1', stateWithLog(voters(3), [1], { term: 2 }))
  b.step(append('n2', 2, 1, 1, [2, 2], 2))
  t.equal(b.status().commit, 2, 'leader commit below: follow it')
  // Not past the entries this append vouched for, even if the follower holds more.
  const c = lone('n1', stateWithLog(voters(3), [1, 1, 1], { term: 2 }))
  c.step(append('n2', 2, 1, 1, [], 3))
  t.equal(c.status().commit, 1, 'an empty append at index 1 vouches for nothing beyond 1')
})

// Figure 7: the leader's log (term 8) and six possible follower logs.
const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
const figure7: Record<string, number[]> = {
  a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 1, 4],
  c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 1, 4, 4, 4, 4],
  f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
}

/** n1 leads term 8 with the figure's leader log, n2 holds `follower`, n3 votes for n1. */
function figure7Cluster(follower: number[]): TestCluster {
  const c = new TestCluster(classic)
  const members = voters(3)
  c.add('n1', stateWithLog(members, leaderLog, { term: 7, commit: 1 }))
  c.add('n2', stateWithLog(members, follower, { term: 7, commit: 1 }))
  c.add('n3', stateWithLog(members, leaderLog, { term: 7, commit: 1 }))
  return c
}

t.test('§5.3 Figure 7: a follower with any of the figure\'s logs ends up holding exactly the leader\'s log', async (t) => {
  for (const [name, follower] of Object.entries(figure7)) {
    const c = figure7Cluster(follower)
    c.raft('n1').campaign()
    c.stabilize()
    t.equal(c.raft('n1').status().role, 'leader', `${name}: n1 leads`)
    c.tick(3, ['n1'])
    t.same(logTerms(c.raft('n2')), [...leaderLog, 8], `${name}: n2 converged (the no-op of term 8 last)`)
  }
})

t.test('fast backtracking: conflict hints bring each Figure 7 follower in line with at most one rejection', async (t) => {
  for (const [name, follower] of Object.entries(figure7)) {
    const c = figure7Cluster(follower)
    let rejects = 0
    c.dropIf = (m: Message) => {
      if (m.type === 'AppendResp' && m.from === 'n2' && m.reject) rejects++
      return false
    }
    c.raft('n1').campaign()
    c.stabilize()
    t.ok(rejects <= 1, `${name}: ${rejects} rejection(s); one per entry would take up to ${leaderLog.length - 3}`)
    t.same(logTerms(c.raft('n2')), [...leaderLog, 8], `${name}: converged`)
  }
})

t.test('flow control: no Append carries more than appendEntriesMax entries, nor more than appendBytesMax bytes beyond its first entry', async (t) => {
  const c = TestCluster.withVoters(3, { appendEntriesMax: 4, appendBytesMax: 300 })
  const leader = c.electLeader()
  const follower = [...c.nodes.keys()].find((id) => id !== leader) as string
  c.isolate(follower)
  for (let i = 0; i < 30; i++) t.ok(c.raft(leader).propose(Buffer.alloc(50 + i * 3, 'x')).ok)
  c.stabilize()
  c.raft(leader).propose(Buffer.alloc(1000, 'y')) // one entry larger than the byte bound
  c.stabilize()
  c.heal()
  const appends: AppendRequest[] = []
  c.dropIf = (m) => {
    if (m.type === 'Append' && m.to === follower) appends.push(m)
    return false
  }
  c.tick(10)
  t.ok(appends.some((m) => m.entries.length > 0), 'the follower was caught up with appends')
  for (const m of appends) {
    const bytes = m.entries.reduce((s, e) => s + entryBytes(e), 0)
    if (m.entries.length > 4 || (m.entries.length > 1 && bytes > 300)) t.fail(`append of ${m.entries.length} entries, ${bytes} bytes`)
  }
  t.ok(appends.some((m) => m.entries.length === 1 && entryBytes(m.entries[0] as never) > 300), 'an entry above the byte bound still goes, alone')
  t.equal(c.raft(follower).status().lastIndex, c.raft(leader).status().lastIndex, 'follower caught up')
})

t.test('pipelining: at most inflightAppendsMax appends are in flight to a follower in replicate state', async (t) => {
  const c = TestCluster.withVoters(3, { inflightAppendsMax: 2, appendEntriesMax: 1 })
  const leader = c.electLeader()
  c.tick(2)
  t.equal(c.raft(leader).status().progress.get('n2' === leader ? 'n3' : 'n2')?.state, 'replicate')
  for (let i = 0; i < 5; i++) c.raft(leader).propose(data(`p${i}`))
  const queued = c.collect()
  c.queue.push(...queued)
  const sent = ofType(queued, 'Append').filter((m) => m.entries.length > 0)
  const perFollower = new Map<string, number>()
  for (const m of sent) perFollower.set(m.to, (perFollower.get(m.to) ?? 0) + 1)
  t.same([...perFollower.values()], [2, 2], 'two appends each, the window is full')
  c.stabilize()
  c.tick(3)
  for (const n of c.nodes.values()) t.equal(normalData(n.applied).length, 5, `${n.id} got all five as acks opened the window`)
})

t.test('pipelining: entry data in flight to a follower stops at inflightBytesMax, and resumes as acks come', async (t) => {
  const c = TestCluster.withVoters(3, { inflightBytesMax: 250, appendEntriesMax: 1 })
  const leader = c.electLeader()
  c.tick(2)
  const follower = leader === 'n2' ? 'n3' : 'n2'
  t.equal(c.raft(leader).status().progress.get(follower)?.state, 'replicate')
  for (let i = 0; i < 6; i++) c.raft(leader).propose(Buffer.alloc(100, i))
  const queued = c.collect()
  c.queue.push(...queued)
  const sent = ofType(queued, 'Append').filter((m) => m.to === follower && m.entries.length > 0)
  t.equal(sent.length, 3, 'three appends of 100 bytes: the third reaches 300 of 250, then nothing more')
  c.stabilize()
  c.tick(3)
  for (const n of c.nodes.values()) t.equal(normalData(n.applied).length, 6, `${n.id} got all six as acks freed the bytes`)
})

t.test('probe state: a leader sends one append at a time to a follower it has not heard from', async (t) => {
  const c = TestCluster.withVoters(3, classic)
  c.raft('n1').campaign()
  // Deliver the votes only, so n1 leads with every follower in probe.
  for (let i = 0; i < 10; i++) {
    for (const m of c.collect()) if (m.type !== 'Append') c.deliver(m)
    if (c.raft('n1').status().role === 'leader') break
  }
  t.equal(c.raft('n1').status().role, 'leader')
  for (let i = 0; i < 3; i++) c.raft('n1').propose(data(`p${i}`))
  c.processReadies()
  const appends = ofType(c.queue, 'Append')
  t.same(appends.map((m) => m.to).sort(), ['n2', 'n3'], 'one probe each, not one per proposal')
})

t.test('§5.3 the leader retries AppendEntries until the follower stores the entry: a lost append is sent again', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  const follower = leader === 'n3' ? 'n2' : 'n3'
  let dropped = 0
  c.dropIf = (m) => {
    if (m.type === 'Append' && m.to === follower && m.entries.length > 0 && dropped === 0) {
      dropped++
      return true
    }
    return false
  }
  t.ok(c.raft(leader).propose(data('x')).ok)
  c.stabilize()
  t.equal(dropped, 1, 'the append to the follower was lost')
  c.tick(5)
  t.same(normalData(c.node(follower).applied), ['x'], 'the follower got it again and applied it')
})

t.test('§5.3 a lost acknowledgement does not stall commit: the leader learns the match again', async (t) => {
  const c = TestCluster.withVoters(3)
  const leader = c.electLeader()
  c.tick(2)
  const [down, follower] = [...c.nodes.keys()].filter((id) => id !== leader) as [string, string]
  c.isolate(down)
  let dropped = 0
  c.dropIf = (m) => {
    if (m.type === 'AppendResp' && m.from === follower && !m.reject && dropped === 0) {
      dropped++
      return true
    }
    return false
  }
  const r = c.raft(leader).propose(data('x'))
  c.stabilize()
  t.equal(dropped, 1, 'the only ack that could form a quorum was lost')
  c.tick(5, [leader, follower])
  t.ok(r.ok && c.raft(leader).status().commit >= r.index, 'the entry commits on the next heartbeat round')
})

t.test('pipelining: a window whose acks were all lost drains on the next heartbeat round', async (t) => {
  const c = TestCluster.withVoters(3, { inflightAppendsMax: 2, appendEntriesMax: 1 })
  const leader = c.electLeader()
  c.tick(2)
  const [down, follower] = [...c.nodes.keys()].filter((id) => id !== leader) as [string, string]
  c.isolate(down)
  c.dropIf = (m) => m.type === 'AppendResp' && m.from === follower
  for (let i = 0; i < 5; i++) c.raft(leader).propose(data(`p${i}`))
  c.stabilize()
  const commitBefore = c.raft(leader).status().commit
  c.dropIf = null
  c.tick(8, [leader, follower])
  t.equal(c.raft(leader).status().commit, c.raft(leader).status().lastIndex, `all five commit (commit was ${commitBefore})`)
  t.same(normalData(c.node(follower).applied), ['p0', 'p1', 'p2', 'p3', 'p4'])
})
