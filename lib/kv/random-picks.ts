// The random choices of HRANDFIELD, SRANDMEMBER, ZRANDMEMBER, SPOP and
// RANDOMKEY: the count argument as Redis parses it, and indexes drawn from
// the command's seeded generator (never Math.random), so a write that
// chooses at random chooses alike on every replica.

import { errorResult, type KvOpResult } from './command.js'
import { NOT_INTEGER, SYNTAX_ERROR, keyword, parseInteger } from './call-context.js'
import type { Prng } from '../util/prng.js'

/** A negative count repeats picks; beyond this many a reply is refused rather than built. */
export const RANDOM_PICKS_MAX = 10_000_000

export type RandomCount =
  | { readonly t: 'single' }
  | { readonly t: 'many'; readonly count: number; readonly withExtra: boolean }
  | { readonly t: 'error'; readonly reply: KvOpResult }

const LONG_MAX = 2n ** 63n - 1n

/** `key [count [WITH…]]` as HRANDFIELD and ZRANDMEMBER read it (SRANDMEMBER passes no `withWord`). */
export function randomCount(args: readonly Buffer[], withWord: string | null): RandomCount {
  if (args.length === 1) return { t: 'single' }
  const n = parseInteger(args[1])
  if (n === null) return { t: 'error', reply: NOT_INTEGER }
  if (n < -LONG_MAX) return { t: 'error', reply: errorResult(`value is out of range, value must between -${LONG_MAX} and ${LONG_MAX}`) }
  if (args.length > 3 || (args.length === 3 && (withWord === null || keyword(args[2]) !== withWord))) return { t: 'error', reply: SYNTAX_ERROR }
  const withExtra = args.length === 3
  if (withExtra && (n < -LONG_MAX / 2n || n > LONG_MAX / 2n)) return { t: 'error', reply: errorResult('value is out of range') }
  if (n < -BigInt(RANDOM_PICKS_MAX)) return { t: 'error', reply: errorResult(`count is out of range here: at most ${RANDOM_PICKS_MAX} repeated picks`) }
  return { t: 'many', count: Number(n), withExtra }
}

/**
 * Indexes into `size` items: with count >= 0, min(count, size) distinct ones
 * (all of them, in order, when count >= size); with count < 0, -count picks
 * that may repeat.
 */
export function randomPicks(random: Prng, size: number, count: number): number[] {
  if (size === 0 || count === 0) return []
  if (count < 0) {
    const picks: number[] = new Array(-count)
    for (let i = 0; i < -count; i++) picks[i] = random.int(size)
    return picks
  }
  const all = Array.from({ length: size }, (_, i) => i)
  if (count >= size) return all
  // A partial Fisher-Yates shuffle: the first `count` slots are the picks.
  for (let i = 0; i < count; i++) {
    const j = i + random.int(size - i)
    const t = all[i] as number
    all[i] = all[j] as number
    all[j] = t
  }
  all.length = count
  return all
}
