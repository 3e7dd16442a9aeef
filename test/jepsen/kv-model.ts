// The sequential specification of one key, as Redis defines the commands the
// workload sends: SET, GET, SET … GET, INCR and DEL. A key's state is its
// string value or null (absent); `anyState` stands for "some value we did
// not see" at the start of a history window cut out of a longer run.
import type { Op } from './history.js'

export const anyState = Symbol('any')
export type KeyState = string | null | typeof anyState

/**
 * The state after applying `op` to `state`, or undefined when the op's
 * recorded result is impossible from that state. An unknown op's result was
 * never seen, so only its effect counts.
 */
export function stepKey(state: KeyState, op: Op): KeyState | undefined {
  const known = op.outcome === 'ok'
  switch (op.kind) {
    case 'get':
      if (!known) return state
      return state === anyState || state === op.result ? op.result as string | null : undefined
    case 'set':
      return op.value
    case 'getset':
      if (!known || state === anyState || state === op.result) return op.value
      return undefined
    case 'del':
      if (!known || state === anyState) return null
      return (state !== null) === (op.result === 1) ? null : undefined
    case 'incr':
      return stepIncr(state, op, known)
  }
}

function stepIncr(state: KeyState, op: Op, known: boolean): KeyState | undefined {
  if (state === anyState) return known ? String(op.result) : anyState
  const before = state === null ? 0 : Number(state)
  // A non-integer value makes INCR an error without effect; the workload
  // keeps counters and registers on separate keys, so this is only for completeness.
  if (!Number.isSafeInteger(before) || (state !== null && String(before) !== state)) return known ? undefined : state
  if (known && op.result !== before + 1) return undefined
  return String(before + 1)
}

/** A string that identifies a state in the checker's memo table. */
export function stateKey(state: KeyState): string {
  if (state === anyState) return '*'
  return state === null ? '-' : `=${state}`
}
