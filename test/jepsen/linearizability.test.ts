import t from 'tap'
import { smallestWindow } from './anomaly-window.js'
import type { Op, OpKind, Outcome } from './history.js'
import { checkHistory, opsByKey, relevantOps, searchKey } from './linearizability.js'

let nextIndex = 0
/** An op on key `k` (unless given) from invokeMs to completeMs. */
function op(kind: OpKind, value: string | null, result: string | number | null, invokeMs: number, completeMs: number, outcome: Outcome = 'ok', key = 'k'): Op {
  return { index: nextIndex++, process: nextIndex, node: 'n1', kind, key, value, result, outcome, invokeMs, completeMs, error: null }
}
const set = (v: string, a: number, b: number, outcome: Outcome = 'ok', key = 'k'): Op => op('set', v, null, a, b, outcome, key)
const get = (r: string | null, a: number, b: number, key = 'k'): Op => op('get', null, r, a, b, 'ok', key)
const incr = (r: number, a: number, b: number, outcome: Outcome = 'ok'): Op => op('incr', null, outcome === 'ok' ? r : null, a, b, outcome)

t.test('a sequential history that follows the model is linearizable', async (t) => {
  const h = [set('a', 0, 1), get('a', 2, 3), op('getset', 'b', 'a', 4, 5), get('b', 6, 7), op('del', null, 1, 8, 9), get(null, 10, 11), op('del', null, 0, 12, 13)]
  t.equal(checkHistory(h).verdict, 'ok')
})

t.test('concurrent overlapping ops are linearizable in some order', async (t) => {
  // The write overlaps both reads: one sees the old value, the later one the new.
  const h = [set('a', 0, 1), set('b', 10, 50), get('a', 12, 20), get('b', 15, 30), get('b', 40, 60)]
  t.equal(checkHistory(h).verdict, 'ok')
})

t.test('a stale read after a newer write completed is not linearizable', async (t) => {
  const h = [set('a', 0, 1), set('b', 2, 3), get('a', 4, 5)]
  t.equal(checkHistory(h).verdict, 'fail')
})

t.test('a lost acknowledged write is not linearizable', async (t) => {
  const h = [set('a', 0, 1), get(null, 2, 3)]
  t.equal(checkHistory(h).verdict, 'fail')
})

t.test('reads going back in time during a write are not linearizable', async (t) => {
  // Both reads overlap the write, but the second starts after the first saw the new value.
  const h = [set('a', 0, 1), set('b', 10, 100), get('b', 20, 30), get('a', 40, 50)]
  t.equal(checkHistory(h).verdict, 'fail')
})

t.test('a duplicated INCR is not linearizable', async (t) => {
  const h = [incr(1, 0, 1), incr(2, 2, 3), get('3', 4, 5)]
  t.equal(checkHistory(h).verdict, 'fail')
})

t.test('an INCR of unknown outcome may explain one extra increment but not two', async (t) => {
  t.equal(checkHistory([incr(1, 0, 1), incr(0, 2, 3, 'unknown'), get('2', 4, 5)]).verdict, 'ok')
  t.equal(checkHistory([incr(1, 0, 1), incr(0, 2, 3, 'unknown'), get('3', 4, 5)]).verdict, 'fail')
})

t.test('a write of unknown outcome may take effect long after it was invoked, or never', async (t) => {
  t.equal(checkHistory([set('a', 0, 1, 'unknown'), get(null, 10, 11), get('a', 20, 21)]).verdict, 'ok')
  t.equal(checkHistory([set('a', 0, 1, 'unknown'), get(null, 10, 11), get(null, 20, 21)]).verdict, 'ok')
})

t.test('a write of unknown outcome cannot take effect before it was invoked', async (t) => {
  t.equal(checkHistory([get('a', 0, 1), set('a', 5, 6, 'unknown')]).verdict, 'fail')
})

t.test('a failed write never takes effect', async (t) => {
  t.equal(checkHistory([set('a', 0, 1, 'failed'), get('a', 2, 3)]).verdict, 'fail')
})

t.test('SET…GET must return the value it replaced', async (t) => {
  t.equal(checkHistory([set('a', 0, 1), op('getset', 'b', 'a', 2, 3), op('getset', 'c', 'a', 4, 5)]).verdict, 'fail')
})

t.test('DEL must report whether the key existed', async (t) => {
  t.equal(checkHistory([set('a', 0, 1), op('del', null, 0, 2, 3)]).verdict, 'fail')
})

t.test('keys are checked independently and a failure names its key', async (t) => {
  const h = [set('a', 0, 1, 'ok', 'x'), set('a', 0, 1, 'ok', 'y'), get('a', 2, 3, 'x'), get(null, 2, 3, 'y')]
  const v = checkHistory(h)
  t.equal(v.verdict, 'fail')
  t.same(v.keys.filter((k) => k.verdict === 'fail').map((k) => k.key), ['y'])
})

t.test('unknown blind writes nobody read are left out of the search', async (t) => {
  const h = [set('a', 0, 1, 'unknown'), set('b', 0, 1, 'unknown'), get('b', 5, 6)]
  t.same(relevantOps(h).map((o) => o.value ?? o.result), ['b', 'b'])
})

t.test('the search gives up at its step budget instead of running on', async (t) => {
  const h: Op[] = []
  for (let i = 0; i < 100; i++) h.push(set(`v${i}`, i * 10, i * 10 + 5))
  t.equal(searchKey(relevantOps(h), null, 50).verdict, 'budget')
})

t.test('many pending INCRs of unknown outcome are searched as one chain, not as subsets', async (t) => {
  const h: Op[] = []
  for (let i = 0; i < 40; i++) h.push(incr(0, i, i + 1, 'unknown'))
  h.push(get('20', 100, 101), incr(21, 102, 103), get('21', 104, 105))
  t.equal(searchKey(relevantOps(h), null, 100_000).verdict, 'ok')
  h.push(get('999', 200, 201))
  t.equal(searchKey(relevantOps(h), null, 100_000).verdict, 'fail')
})

t.test('a long concurrent history is checked quickly thanks to memoization', async (t) => {
  const h: Op[] = []
  // Five clients, each write overlapping the neighbours' ops.
  for (let i = 0; i < 2000; i++) {
    const v = `v${i}`
    h.push(set(v, i * 10, i * 10 + 25))
    h.push(get(v, i * 10 + 26, i * 10 + 29))
  }
  // Counted in search steps, not wall time: without memoization the 4000 ops
  // take exponentially many steps and hit the budget; with it, a few per op.
  const verdict = checkHistory(h, 1_000_000)
  t.equal(verdict.verdict, 'ok')
  const steps = verdict.keys[0]?.steps ?? Infinity
  t.ok(steps < 200_000, `${steps} search steps for ${h.length} ops`)
})

t.test('the smallest window around a stale read holds the few ops that show it', async (t) => {
  const h: Op[] = []
  for (let i = 0; i < 200; i++) h.push(set(`v${i}`, i * 10, i * 10 + 5), get(`v${i}`, i * 10 + 6, i * 10 + 8))
  h.push(get('v150', 2001, 2002))
  const byKey = opsByKey(h)
  const w = smallestWindow('k', byKey.get('k') ?? [])
  t.equal(w.toMs, 2002)
  t.ok(w.ops.length <= 4, `window has ${w.ops.length} ops`)
  t.equal(searchKey(relevantOps(w.ops), null).verdict, 'fail')
})
