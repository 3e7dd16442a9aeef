import t from 'tap'
import type { KvApplyResult } from '../../lib/kv/command.js'
import type { ProposeFailure } from '../../lib/raft/raw-node.js'
import { ProposalWaiters, type ProposalWaiter } from '../../lib/replica/proposal-waiters.js'

class Recorder implements ProposalWaiter {
  outcome: string | null = null
  proposalApplied(result: KvApplyResult): void {
    this.set(`applied:${result.t}`)
  }
  proposalLost(): void {
    this.set('lost')
  }
  proposalRefused(reason: ProposeFailure): void {
    this.set(`refused:${reason}`)
  }
  private set(outcome: string): void {
    if (this.outcome !== null) throw new Error(`told twice: ${this.outcome}, then ${outcome}`)
    this.outcome = outcome
  }
}

const ok: KvApplyResult = { t: 'results', results: [] }

t.test('a waiter is told synchronously when its entry is applied with its term', async (t) => {
  const waiters = new ProposalWaiters()
  const w = new Recorder()
  waiters.add(5, 2, w)
  waiters.applied(4, 2, ok)
  t.equal(w.outcome, null)
  waiters.applied(5, 2, ok)
  t.equal(w.outcome, 'applied:results')
  t.equal(waiters.count(), 0)
})

t.test('an entry applied with another term means the proposal was lost', async (t) => {
  const waiters = new ProposalWaiters()
  const w = new Recorder()
  waiters.add(5, 2, w)
  waiters.applied(5, 3, ok)
  t.equal(w.outcome, 'lost')
})

t.test('a waiter whose index a later proposal reuses is told it was lost', async (t) => {
  const waiters = new ProposalWaiters()
  const old = [new Recorder(), new Recorder()]
  waiters.add(5, 2, old[0] as Recorder)
  waiters.add(6, 2, old[1] as Recorder)
  const fresh = new Recorder()
  waiters.add(5, 3, fresh)
  t.same(old.map((w) => w.outcome), ['lost', 'lost'])
  waiters.applied(5, 3, ok)
  t.equal(fresh.outcome, 'applied:results')
})

t.test('a snapshot over waiters loses them, and only them', async (t) => {
  const waiters = new ProposalWaiters()
  const ws = [new Recorder(), new Recorder(), new Recorder()]
  ws.forEach((w, i) => waiters.add(10 + i, 1, w))
  waiters.lostUpTo(11)
  t.same(ws.map((w) => w.outcome), ['lost', 'lost', null])
  t.equal(waiters.count(), 1)
})

t.test('thousands of waiters settle once each, in order, across compactions', async (t) => {
  const waiters = new ProposalWaiters()
  const ws: Recorder[] = []
  let next = 1
  let applied = 0
  for (let round = 0; round < 20; round++) {
    for (let k = 0; k < 500; k++) {
      const w = new Recorder()
      ws.push(w)
      waiters.add(next++, 1, w)
    }
    // Apply part of what is waiting, so the head moves while the tail grows.
    const upTo = applied + 300 + round * 7
    for (; applied < upTo && applied < next - 1; ) waiters.applied(++applied, 1, ok)
    t.equal(waiters.count(), next - 1 - applied, `round ${round}`)
  }
  while (applied < next - 1) waiters.applied(++applied, 1, ok)
  t.ok(ws.every((w) => w.outcome === 'applied:results'))
  t.equal(waiters.count(), 0)
})
