// The smallest window of one key's history that still cannot be linearized,
// to put in front of a human. Cutting a history is only sound when the cut
// can hide an anomaly but never invent one, so a window [t0, t1] is built as:
//   - ops invoked and completed inside it are kept as they are;
//   - writes that overlap an edge become unknown (they may take effect
//     inside the window or never), reads that overlap an edge are dropped;
//   - everything that completed before t0 is summarized by "any" initial state.
// Every linearization of the whole history restricted to the window is then
// a linearization of the window, so a failing window proves the anomaly.
import type { Op } from './history.js'
import { anyState, type KeyState } from './kv-model.js'
import { relevantOps, searchKey } from './linearizability.js'

export interface AnomalyWindow {
  key: string
  fromMs: number
  toMs: number
  initial: 'absent' | 'any'
  ops: Op[]
}

export function windowOps(keyOps: readonly Op[], fromMs: number, toMs: number): Op[] {
  const out: Op[] = []
  for (const op of keyOps) {
    if (op.outcome === 'failed' || op.invokeMs > toMs) continue
    const endMs = op.outcome === 'ok' ? op.completeMs : Number.POSITIVE_INFINITY
    if (endMs < fromMs) continue
    if (op.invokeMs >= fromMs && endMs <= toMs) out.push(op)
    else if (op.kind !== 'get') out.push({ ...op, outcome: 'unknown', result: null, completeMs: Number.POSITIVE_INFINITY })
  }
  return out
}

function fails(keyOps: readonly Op[], fromMs: number, toMs: number, stepsMax: number): boolean {
  const initial: KeyState = fromMs === Number.NEGATIVE_INFINITY ? null : anyState
  return searchKey(relevantOps(windowOps(keyOps, fromMs, toMs)), initial, stepsMax).verdict === 'fail'
}

/**
 * Binary search for the earliest end, then the latest start, that still
 * fail. Both are monotone: a wider window only adds constraints.
 */
export function smallestWindow(key: string, keyOps: readonly Op[], stepsMax = 2_000_000): AnomalyWindow {
  const ends = [...new Set(keyOps.filter((op) => op.outcome === 'ok').map((op) => op.completeMs))].sort((a, b) => a - b)
  let lo = 0
  let hi = ends.length - 1
  let toMs = Number.POSITIVE_INFINITY
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const t = ends[mid] as number
    if (fails(keyOps, Number.NEGATIVE_INFINITY, t, stepsMax)) {
      toMs = t
      hi = mid - 1
    } else lo = mid + 1
  }
  const starts = [...new Set(keyOps.map((op) => op.invokeMs).filter((t) => t <= toMs))].sort((a, b) => a - b)
  let fromMs = Number.NEGATIVE_INFINITY
  lo = 0
  hi = starts.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const t = starts[mid] as number
    if (fails(keyOps, t, toMs, stepsMax)) {
      fromMs = t
      lo = mid + 1
    } else hi = mid - 1
  }
  return { key, fromMs, toMs, initial: fromMs === Number.NEGATIVE_INFINITY ? 'absent' : 'any', ops: windowOps(keyOps, fromMs, toMs) }
}
