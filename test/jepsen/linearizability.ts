// A linearizability checker for the key-value model: Wing & Gong's search
// with Lowe's memoization, as Knossos and Porcupine do it. Keys are
// independent objects, so a history is linearizable iff each key's
// sub-history is (P-compositionality): each key is searched on its own.
//
// The search walks a doubly linked list of call and return events in time
// order. At a call it tries to linearize that op now (its recorded result
// must fit the model's state); at a return whose op is not yet linearized it
// backtracks. A (set of linearized ops, state) pair already explored is not
// explored again. Unknown ops have no return event: they may take effect at
// any point after their invocation, or never — so the search succeeds as
// soon as every op with a known outcome is linearized.
import { Prng } from '../../lib/util/prng.js'
import type { Op } from './history.js'
import { stateKey, stepKey, type KeyState } from './kv-model.js'

export type SearchVerdict = 'ok' | 'fail' | 'budget'

export interface SearchResult {
  verdict: SearchVerdict
  steps: number
  /** The most ops linearized at once: how far the search got. */
  linearizedMax: number
}

export interface KeyVerdict extends SearchResult {
  key: string
  /** Ops of this key in the history, and how many the search had to consider. */
  opsTotal: number
  opsChecked: number
}

export interface HistoryVerdict {
  /** 'fail' when any key fails; 'budget' when none fails but some search gave up. */
  verdict: SearchVerdict
  keys: KeyVerdict[]
}

/** Default bound on search steps per key; a search that hits it is reported as inconclusive. */
export const searchStepsMaxDefault = 20_000_000

/**
 * Drops what cannot constrain the search: failed ops (no effect), reads
 * without an answer, and — on keys written only by SET / SET…GET — unknown
 * writes whose value nobody ever read. Such a write, if it took effect, was
 * overwritten before any op looked at the key, so removing it changes no
 * other op's result; keeping it would double the search space per write.
 */
export function relevantOps(ops: readonly Op[]): Op[] {
  const kept = ops.filter((op) => op.outcome !== 'failed' && !(op.outcome === 'unknown' && op.kind === 'get'))
  if (kept.some((op) => op.kind === 'del' || op.kind === 'incr')) return kept
  const observed = new Set<string>()
  for (const op of kept) {
    if (op.outcome === 'ok' && typeof op.result === 'string') observed.add(op.result)
  }
  return kept.filter((op) => op.outcome === 'ok' || op.value === null || observed.has(op.value))
}

interface Event {
  op: number
  call: boolean
  timeMs: number
}

function buildEvents(ops: readonly Op[]): Event[] {
  const events: Event[] = []
  ops.forEach((op, i) => {
    events.push({ op: i, call: true, timeMs: op.invokeMs })
    events.push({ op: i, call: false, timeMs: op.outcome === 'ok' ? op.completeMs : Number.POSITIVE_INFINITY })
  })
  // At equal times calls come first: touching intervals count as concurrent,
  // which can only hide an anomaly, never invent one.
  events.sort((a, b) => (a.timeMs === b.timeMs ? Number(b.call) - Number(a.call) : a.timeMs < b.timeMs ? -1 : 1))
  return events
}

/** Visited (linearized set, state) pairs: a 64-bit Zobrist hash, confirmed by comparing bitsets. */
class Memo {
  private readonly seen = new Map<string, Uint32Array[]>()

  /** False when the pair was seen before. */
  add(h1: number, h2: number, state: KeyState, bits: Uint32Array): boolean {
    const key = `${h1}:${h2}:${stateKey(state)}`
    const list = this.seen.get(key)
    if (list === undefined) {
      this.seen.set(key, [bits.slice()])
      return true
    }
    if (list.some((b) => b.every((w, i) => w === bits[i]))) return false
    list.push(bits.slice())
    return true
  }
}

/** Searches one key's ops (already filtered by relevantOps) from `initial`. */
export function searchKey(ops: readonly Op[], initial: KeyState, stepsMax = searchStepsMaxDefault): SearchResult {
  const events = buildEvents(ops)
  const head = events.length
  const next = new Int32Array(head + 1)
  const prev = new Int32Array(head + 1)
  const callPos = new Int32Array(ops.length)
  const retPos = new Int32Array(ops.length)
  events.forEach((e, i) => {
    next[i] = i + 1 < head ? i + 1 : -1
    prev[i] = i === 0 ? head : i - 1
    if (e.call) callPos[e.op] = i
    else retPos[e.op] = i
  })
  next[head] = head > 0 ? 0 : -1
  const unlink = (x: number): void => {
    next[prev[x] as number] = next[x] as number
    if ((next[x] as number) !== -1) prev[next[x] as number] = prev[x] as number
  }
  const relink = (x: number): void => {
    next[prev[x] as number] = x
    if ((next[x] as number) !== -1) prev[next[x] as number] = x
  }
  const mustFollow = interchangeableChains(ops)
  const zobrist = new Prng(0x5eed)
  const z1 = Uint32Array.from(ops, () => zobrist.nextUint32())
  const z2 = Uint32Array.from(ops, () => zobrist.nextUint32())
  const bits = new Uint32Array(Math.ceil(ops.length / 32) + 1)
  const memo = new Memo()
  const stack: { op: number; state: KeyState }[] = []
  let knownLeft = ops.filter((op) => op.outcome === 'ok').length
  let state = initial
  let h1 = 0
  let h2 = 0
  let steps = 0
  let linearizedMax = 0
  let entry = next[head] as number
  while (knownLeft > 0) {
    if (++steps > stepsMax) return { verdict: 'budget', steps, linearizedMax }
    const e = events[entry] as Event
    if (e.call) {
      const op = ops[e.op] as Op
      const dep = mustFollow[e.op] as number
      const blocked = dep >= 0 && ((bits[dep >>> 5] as number) & (1 << (dep & 31))) === 0
      const after = blocked ? undefined : stepKey(state, op)
      if (after !== undefined) {
        bits[e.op >>> 5] = (bits[e.op >>> 5] as number) ^ (1 << (e.op & 31))
        h1 ^= z1[e.op] as number
        h2 ^= z2[e.op] as number
        if (memo.add(h1, h2, after, bits)) {
          stack.push({ op: e.op, state })
          linearizedMax = Math.max(linearizedMax, stack.length)
          state = after
          if (op.outcome === 'ok') knownLeft--
          unlink(callPos[e.op] as number)
          unlink(retPos[e.op] as number)
          entry = next[head] as number
          continue
        }
        bits[e.op >>> 5] = (bits[e.op >>> 5] as number) ^ (1 << (e.op & 31))
        h1 ^= z1[e.op] as number
        h2 ^= z2[e.op] as number
      }
      entry = next[entry] as number
      continue
    }
    // A return whose op is still pending: nothing linearized so far can be kept as is.
    const top = stack.pop()
    if (top === undefined) return { verdict: 'fail', steps, linearizedMax }
    state = top.state
    bits[top.op >>> 5] = (bits[top.op >>> 5] as number) ^ (1 << (top.op & 31))
    h1 ^= z1[top.op] as number
    h2 ^= z2[top.op] as number
    if ((ops[top.op] as Op).outcome === 'ok') knownLeft++
    relink(retPos[top.op] as number)
    relink(callPos[top.op] as number)
    entry = next[callPos[top.op] as number] as number
  }
  return { verdict: 'ok', steps, linearizedMax }
}

/**
 * Symmetry reduction: unknown INCRs (and unknown DELs) of one key have the
 * same effect and no visible result, so once two have been invoked they are
 * interchangeable. Any linearization can be rearranged so that those that
 * take effect do so in invocation order; so an unknown op of such a kind may
 * be linearized only after the previous one of its kind. Without this, k
 * pending unknown INCRs would be explored as up to 2^k distinct subsets.
 * Returns, per op, the op it must follow, or -1.
 */
function interchangeableChains(ops: readonly Op[]): Int32Array {
  const mustFollow = new Int32Array(ops.length).fill(-1)
  for (const kind of ['incr', 'del'] as const) {
    const chain = ops.map((op, i) => ({ op, i })).filter(({ op }) => op.outcome === 'unknown' && op.kind === kind)
    chain.sort((a, b) => a.op.invokeMs - b.op.invokeMs)
    for (let j = 1; j < chain.length; j++) mustFollow[(chain[j] as { i: number }).i] = (chain[j - 1] as { i: number }).i
  }
  return mustFollow
}

/** Groups a history by key, in invocation order within each key. */
export function opsByKey(ops: readonly Op[]): Map<string, Op[]> {
  const byKey = new Map<string, Op[]>()
  for (const op of ops) {
    const list = byKey.get(op.key)
    if (list === undefined) byKey.set(op.key, [op])
    else list.push(op)
  }
  return byKey
}

/** Checks a whole history whose keys all start absent. */
export function checkHistory(ops: readonly Op[], stepsMax = searchStepsMaxDefault): HistoryVerdict {
  const keys: KeyVerdict[] = []
  for (const [key, keyOps] of opsByKey(ops)) {
    const relevant = relevantOps(keyOps)
    keys.push({ key, opsTotal: keyOps.length, opsChecked: relevant.length, ...searchKey(relevant, null, stepsMax) })
  }
  const verdict = keys.some((k) => k.verdict === 'fail') ? 'fail' : keys.some((k) => k.verdict === 'budget') ? 'budget' : 'ok'
  return { verdict, keys }
}
