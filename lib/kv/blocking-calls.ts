// The blocking pops as the state machine sees them: BLPOP, BRPOP, BLMOVE,
// BLMPOP, BZPOPMIN and BZPOPMAX. Applied, each is the non-blocking pop it
// names, answering its "nothing to pop" reply (a null array, or nil for
// BLMOVE) when every key is empty. The waiting itself happens on the node the
// client is connected to (lib/server/resp/blocking-pop.ts): it proposes the
// pop again, as an ordinary write, once a key has data there. Inside MULTI a
// blocking pop never waits, as in Redis. Texts follow Redis 7.0 (t_list.c,
// t_zset.c, timeout.c).

import { NIL_ARRAY, arrayResult, errorResult, textResult, type KvOpResult } from './command.js'
import { SYNTAX_ERROR, WRONGTYPE, firstHolding, text, type CallContext, type KvCall } from './call-context.js'
import { parseLongDouble, type LongDouble } from './float-text.js'
import { endOf, moveElement, mpopLists, parseMpop, popElements, type End } from './list-calls.js'
import { popMembers } from './zset-calls.js'

/** Redis's getTimeoutFromObjectOrReply (seconds, a float): the timeout in ms, or the error reply. */
export function parseTimeoutMs(arg: Buffer | undefined): number | KvOpResult {
  const t = text(arg)
  const parsed = t.length === 0 ? null : parseLongDouble(t)
  if (parsed === null || (typeof parsed === 'number' && Number.isNaN(parsed))) return errorResult('timeout is not a float or out of range')
  const seconds = typeof parsed === 'number' ? parsed : longDoubleToNumber(parsed)
  const ms = seconds * 1000
  if (ms > 9.223372036854776e18) return errorResult('timeout is out of range')
  if (ms < 0) return errorResult('timeout is negative')
  return Math.ceil(ms)
}

function longDoubleToNumber(value: LongDouble): number {
  const magnitude = Number(value.mantissa) * 2 ** value.exponent
  return value.negative ? -magnitude : magnitude
}

function bpop(name: string, end: End): KvCall {
  return {
    name,
    arity: -3,
    write: true,
    run(c, args) {
      const timeout = parseTimeoutMs(args[args.length - 1])
      if (typeof timeout !== 'number') return timeout
      const key = firstHolding(c, args.slice(0, -1).map(text), 'list')
      if (key === null) return WRONGTYPE
      if (key === undefined) return NIL_ARRAY
      const [element] = popElements(c, key, end, 1) as string[]
      return arrayResult([textResult(key), textResult(element as string)])
    },
  }
}

const blmove: KvCall = {
  name: 'blmove',
  arity: 6,
  write: true,
  run(c, args) {
    const from = endOf(args[2])
    const to = endOf(args[3])
    if (from === null || to === null) return SYNTAX_ERROR
    const timeout = parseTimeoutMs(args[4])
    if (typeof timeout !== 'number') return timeout
    return moveElement(c, text(args[0]), text(args[1]), from, to)
  },
}

const blmpop: KvCall = {
  name: 'blmpop',
  arity: -5,
  write: true,
  run(c, args) {
    const timeout = parseTimeoutMs(args[0])
    if (typeof timeout !== 'number') return timeout
    const parsed = parseMpop(args, 1, endOf)
    if (!('keys' in parsed)) return parsed
    return mpopLists(c, parsed.keys, parsed.end, parsed.count)
  },
}

function bzpop(name: string, max: boolean): KvCall {
  return {
    name,
    arity: -3,
    write: true,
    run(c: CallContext, args) {
      const timeout = parseTimeoutMs(args[args.length - 1])
      if (typeof timeout !== 'number') return timeout
      const key = firstHolding(c, args.slice(0, -1).map(text), 'zset')
      if (key === null) return WRONGTYPE
      if (key === undefined) return NIL_ARRAY
      const popped = popMembers(c, key, max, 1)
      return popped.t === 'array' ? arrayResult([textResult(key), ...popped.items]) : popped
    },
  }
}

export const blockingCalls: readonly KvCall[] = [
  bpop('blpop', 'left'),
  bpop('brpop', 'right'),
  blmove,
  blmpop,
  bzpop('bzpopmin', false),
  bzpop('bzpopmax', true),
]
