// A small seeded fault run over the unit-test harness: message loss,
// reordering and duplication, partitions, restarts from durable state and
// compaction, with Raft's safety properties checked after every step. The
// full simulator lives in test/sim/; this catches regressions in lib/raft
// next to the rule-by-rule tests.
import t from 'tap'
import { Prng } from '../../lib/util/prng.js'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { Entry } from '../../lib/raft/types.js'
import { TestCluster, data } from './harness.js'

function entryKey(e: Entry): string {
  return `${e.term}:${e.kind}:${e.kind === 'normal' ? e.data.toString() : ''}`
}

function run(seed: number, steps: number): string | null {
  const rng = new Prng(seed)
  const c = TestCluster.withVoters(rng.int(2) === 0 ? 3 : 5, { preVote: rng.int(4) !== 0, checkQuorum: rng.int(4) !== 0 })
  let ids = [...c.nodes.keys()]
  let nextId = ids.length + 1
  const dropPct = rng.int(20)
  const leaderOfTerm = new Map<number, string>()
  const appliedAt = new Map<number, string>()
  // index -> entry term, and the term of the node that first saw it committed
  const committed = new Map<number, { term: number; seenInTerm: number }>()
  let proposals = 0
  // ReadIndex linearizability: a read must not return an index below any
  // commit that was known anywhere when it was asked.
  const readFloor = new Map<string, number>()
  let reads = 0
  const commitEver = (): number => Math.max(...[...c.nodes.values()].map((n) => n.raft.status().commit))
  for (let step = 0; step < steps; step++) {
    const roll = rng.int(100)
    if (roll < 30) {
      c.nodes.get(ids[rng.int(ids.length)] as string)?.raft.tick()
    } else if (roll < 75) {
      if (c.queue.length > 0) {
        const i = rng.int(Math.min(c.queue.length, 4)) // mild reordering
        const [m] = c.queue.splice(i, 1)
        const cut = m !== undefined && c.cut.has(`${m.from}->${m.to}`)
        if (m !== undefined && (cut || rng.int(100) < dropPct)) {
          // The runtime reports a snapshot it failed to send (reportSnapshot's contract).
          if (m.type === 'Snapshot') c.nodes.get(m.from)?.raft.reportSnapshot(m.to, false)
        } else if (m !== undefined) {
          c.deliver(m)
          if (m.type === 'Snapshot') c.nodes.get(m.from)?.raft.reportSnapshot(m.to, true)
          if (rng.int(100) < 3) c.queue.push(m) // duplicate
        }
      }
    } else if (roll < 85) {
      const leader = c.leaders()[0]
      if (leader !== undefined) c.raft(leader).propose(data(`p${proposals++}`))
    } else if (roll < 86) {
      const ctx = `r${reads++}`
      readFloor.set(ctx, commitEver())
      c.raft(ids[rng.int(ids.length)] as string).readIndex(ctx)
    } else if (roll < 87) {
      const leader = c.leaders()[0]
      if (leader !== undefined) c.raft(leader).transferLeadership(ids[rng.int(ids.length)] as string)
    } else if (roll < 88) {
      c.heal()
      if (rng.int(2) === 0) c.isolate(ids[rng.int(ids.length)] as string)
    } else if (roll < 90) {
      c.restart(ids[rng.int(ids.length)] as string)
    } else if (roll < 91) {
      const leader = c.leaders()[0]
      if (leader !== undefined) changeMembership(c, leader, rng.int(3), rng.int(8), () => `n${nextId++}`)
      ids = [...c.nodes.keys()]
    } else if (roll < 93) {
      const n = c.node(ids[rng.int(ids.length)] as string)
      const st = n.raft.status()
      if (st.applied > st.snapshotIndex + 3) {
        const meta = n.raft.snapshotMeta(st.applied)
        n.raft.compact(st.applied)
        n.durable.snapshot = meta
        n.durable.entries = n.durable.entries.filter((e) => e.index > meta.index)
      }
    }
    c.processReadies()
    // Checks.
    for (const n of c.nodes.values()) {
      const st = n.raft.status()
      if (st.role === 'leader') {
        const prev = leaderOfTerm.get(st.term)
        if (prev !== undefined && prev !== st.id) return `step ${step}: two leaders in term ${st.term}: ${prev}, ${st.id}`
        leaderOfTerm.set(st.term, st.id)
        // Leader completeness: a leader of a later term holds every committed entry.
        for (const [index, cm] of committed) {
          const have = n.raft.termAt(index)
          if (st.term > cm.seenInTerm && index > st.snapshotIndex && have !== cm.term) return `step ${step}: leader ${st.id} of term ${st.term} lacks committed ${index}@${cm.term} (has ${have})`
        }
      }
      for (let i = Math.max(st.firstIndex, st.commit - 20); i <= st.commit; i++) {
        const term = n.raft.termAt(i)
        if (term === undefined) continue
        const known = committed.get(i)
        if (known !== undefined && known.term !== term) return `step ${step}: ${st.id} committed ${i}@${term}, another ${i}@${known.term}`
        if (known === undefined) committed.set(i, { term, seenInTerm: st.term })
      }
      for (const e of n.applied) {
        const k = entryKey(e)
        const known = appliedAt.get(e.index)
        if (known !== undefined && known !== k) return `step ${step}: ${n.id} applied ${k} at ${e.index}, another ${known}`
        appliedAt.set(e.index, k)
      }
      n.applied = []
      for (const r of n.readStates) {
        const floor = readFloor.get(r.ctx)
        if (floor === undefined) return `step ${step}: ${n.id} got an unknown read ${r.ctx}`
        if (r.index >= 0 && r.index < floor) return `step ${step}: ${n.id} read ${r.ctx} at ${r.index}, below commit ${floor} known when it was asked`
      }
      n.readStates = []
    }
  }
  // Liveness: once the faults stop, a leader is elected and, with no new
  // proposal to nudge it, brings every node's log and commit up to its own.
  c.heal()
  for (const q of c.queue) if (q.type === 'Snapshot') c.nodes.get(q.from)?.raft.reportSnapshot(q.to, false)
  c.queue = []
  for (let i = 0; i < 400; i++) {
    c.tick()
    const ls = c.leaders()
    if (ls.length !== 1) continue
    const st = c.raft(ls[0] as string).status()
    if (st.config.members.every((m) => c.raft(m.id).status().commit === st.lastIndex)) return null
  }
  const state = [...c.nodes.values()].map((n) => {
    const st = n.raft.status()
    return `${st.id}:${st.role}@${st.term} ${st.commit}/${st.lastIndex}`
  })
  return `no leader with everyone caught up 400 ticks after healing: ${state.join(', ')}`
}

/** One membership change through the leader: add a learner, promote one, or remove a member. */
function changeMembership(c: TestCluster, leader: string, op: number, pick: number, freshId: () => string): void {
  const r = c.raft(leader)
  const members = r.status().config.members
  if (op === 0 && members.length < 7) {
    const id = freshId()
    if (r.proposeConfChange({ op: 'addLearner', id, addr: `${id}:1` }).ok) c.add(id, RaftNode.emptyState())
  } else if (op === 1) {
    const learner = members.find((m) => m.role === 'learner')
    if (learner !== undefined) r.proposeConfChange({ op: 'promote', id: learner.id })
  } else if (members.length > 3) {
    const victim = members[pick % members.length]
    if (victim !== undefined) r.proposeConfChange({ op: 'remove', id: victim.id })
  }
}

t.test('safety under loss, reordering, duplication, partitions, restarts, compaction and membership changes; liveness once healed (seeded)', async (t) => {
  let failures = 0
  const seeds = 80
  for (let seed = 1; seed <= seeds; seed++) {
    const err = run(seed, 1200)
    if (err !== null) {
      failures++
      t.fail(`seed ${seed}: ${err}`)
    }
  }
  t.equal(failures, 0, `${seeds} seeds`)
})
