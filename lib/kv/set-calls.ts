// Set commands, as Redis 7.0's t_set.c answers them. SPOP draws from the
// seed its entry carries, so every replica removes the same members.

import { EMPTY_ARRAY, NIL, arrayResult, errorResult, intResult, textResult, type KvOpResult } from './command.js'
import {
  SYNTAX_ERROR,
  WRONGTYPE,
  collectionReader,
  emit,
  find,
  findCollection,
  parseInteger,
  parsePopCount,
  randomOf,
  removeMembers,
  storeCollection,
  text,
  updateCollection,
  type CallContext,
  type KvCall,
} from './call-context.js'
import { scanCollection } from './collection-scan.js'
import { randomCount, randomPicks } from './random-picks.js'
import { SetValue, isString, type EncodingLimits } from './values.js'

const newSet = (limits: EncodingLimits): SetValue => new SetValue(limits)

function readSet(c: CallContext, key: Buffer | string | undefined, write = false): SetValue | undefined | null {
  const found = findCollection(c, typeof key === 'string' ? key : text(key), 'set', write)
  return found === null ? null : found?.value
}

const sadd: KvCall = {
  name: 'sadd',
  arity: -3,
  write: true,
  run(c, args) {
    const done = updateCollection(c, text(args[0]), 'set', newSet, (s) => {
      let added = 0
      for (let i = 1; i < args.length; i++) if (s.add(text(args[i]))) added++
      return added
    }, (n) => n > 0)
    if (done === null) return WRONGTYPE
    if (done.result > 0) emit(c, 'sadd', 's', text(args[0]))
    return intResult(done.result)
  },
}

const srem: KvCall = { name: 'srem', arity: -3, write: true, run: (c, args) => removeMembers(c, args, 'set', 'srem', 's') }

const reader = (name: string, arity: number, answer: (s: SetValue | undefined, args: readonly Buffer[]) => KvOpResult): KvCall =>
  collectionReader('set', name, arity, answer)

const spop: KvCall = {
  name: 'spop',
  arity: -2,
  write: true,
  random: true,
  run(c, args) {
    const count = parsePopCount(args, SYNTAX_ERROR)
    if (typeof count !== 'number') return count
    const key = text(args[0])
    const found = findCollection(c, key, 'set', true)
    if (found === undefined) return count < 0 ? NIL : EMPTY_ARRAY
    if (found === null) return WRONGTYPE
    if (count === 0) return EMPTY_ARRAY
    const random = randomOf(c)
    const popped = c.ks.change(key, found.entry, (value) => {
      const s = value as SetValue
      const picks = randomPicks(random, s.size, count < 0 ? 1 : count).map((i) => s.members[i] as string)
      for (const member of picks) s.delete(member)
      return picks
    })
    emit(c, 'spop', 's', key)
    return count < 0 ? textResult(popped[0] as string) : arrayResult(popped.map(textResult))
  },
}

const srandmember: KvCall = {
  name: 'srandmember',
  arity: -2,
  write: false,
  random: true,
  run(c, args) {
    const count = randomCount(args, null)
    if (count.t === 'error') return count.reply
    const s = readSet(c, args[0])
    if (s === null) return WRONGTYPE
    if (count.t === 'single') return s === undefined ? NIL : textResult(s.members[randomOf(c).int(s.size)] as string)
    if (s === undefined) return EMPTY_ARRAY
    return arrayResult(randomPicks(randomOf(c), s.size, count.count).map((i) => textResult(s.members[i] as string)))
  },
}

const smove: KvCall = {
  name: 'smove',
  arity: 4,
  write: true,
  run(c, args) {
    const from = text(args[0])
    const to = text(args[1])
    const member = text(args[2])
    const source = findCollection(c, from, 'set', true)
    const target = find(c, to, true)
    if (source === undefined) return intResult(0)
    if (source === null || (target !== undefined && (isString(target.value) || target.value.type !== 'set'))) return WRONGTYPE
    if (from === to) return intResult(source.value.has(member) ? 1 : 0)
    if (!source.value.has(member)) return intResult(0)
    c.ks.change(from, source.entry, (s) => (s as SetValue).delete(member))
    emit(c, 'srem', 's', from)
    const added = updateCollection(c, to, 'set', newSet, (s) => s.add(member), (a) => a)
    if (added?.result === true) emit(c, 'sadd', 's', to)
    return intResult(1)
  },
}

type SetAlgebra = 'inter' | 'union' | 'diff'

/** The sets named by `keys` (undefined: absent), or null if one holds another type. */
function setsOf(c: CallContext, keys: readonly Buffer[], write: boolean): (SetValue | undefined)[] | null {
  const sets: (SetValue | undefined)[] = []
  for (const key of keys) {
    const s = readSet(c, key, write)
    if (s === null) return null
    sets.push(s)
  }
  return sets
}

function combine(op: SetAlgebra, sets: readonly (SetValue | undefined)[]): string[] {
  const [first, ...rest] = sets
  switch (op) {
    case 'inter': {
      if (sets.some((s) => s === undefined)) return []
      const ordered = [...(sets as SetValue[])].sort((a, b) => a.size - b.size)
      const [smallest, ...others] = ordered as [SetValue, ...SetValue[]]
      return smallest.members.filter((m) => others.every((s) => s.has(m)))
    }
    case 'union': {
      const out = new Set<string>()
      for (const s of sets) if (s !== undefined) for (const m of s.members) out.add(m)
      return [...out]
    }
    case 'diff':
      return first === undefined ? [] : first.members.filter((m) => !rest.some((s) => s?.has(m)))
  }
}

function algebra(name: string, op: SetAlgebra): KvCall {
  return {
    name,
    arity: -2,
    write: false,
    run(c, args) {
      const sets = setsOf(c, args, false)
      return sets === null ? WRONGTYPE : arrayResult(combine(op, sets).map(textResult))
    },
  }
}

function algebraStore(name: string, op: SetAlgebra): KvCall {
  return {
    name,
    arity: -3,
    write: true,
    run(c, args) {
      const sets = setsOf(c, args.slice(1), true)
      if (sets === null) return WRONGTYPE
      const result = new SetValue(c.ks.encodingLimits)
      for (const m of combine(op, sets)) result.add(m)
      return storeCollection(c, text(args[0]), result, name, 's')
    },
  }
}

const sintercard: KvCall = {
  name: 'sintercard',
  arity: -3,
  write: false,
  run(c, args) {
    const numKeys = parseInteger(args[0])
    if (numKeys === null || numKeys < 1n) return errorResult('numkeys should be greater than 0')
    if (numKeys > BigInt(args.length - 1)) return errorResult("Number of keys can't be greater than number of args")
    let limit = 0
    for (let i = 1 + Number(numKeys); i < args.length; i++) {
      if (text(args[i]).toUpperCase() === 'LIMIT' && i + 1 < args.length) {
        const n = parseInteger(args[++i])
        if (n === null || n < 0n) return errorResult("LIMIT can't be negative")
        limit = Number(n)
      } else return SYNTAX_ERROR
    }
    const sets = setsOf(c, args.slice(1, 1 + Number(numKeys)), false)
    if (sets === null) return WRONGTYPE
    const size = combine('inter', sets).length
    return intResult(limit > 0 ? Math.min(size, limit) : size)
  },
}

const sscan: KvCall = {
  name: 'sscan',
  arity: -3,
  write: false,
  run: (c, args) => scanCollection(c, args, 'set', { all: (s) => s.members, extra: () => null }),
}

export const setCalls: readonly KvCall[] = [
  sadd,
  srem,
  reader('smembers', 2, (s) => arrayResult(s === undefined ? [] : s.members.map(textResult))),
  reader('sismember', 3, (s, a) => intResult(s?.has(text(a[1])) ? 1 : 0)),
  reader('smismember', -3, (s, a) => arrayResult(a.slice(1).map((m) => intResult(s?.has(text(m)) ? 1 : 0)))),
  reader('scard', 2, (s) => intResult(s?.size ?? 0)),
  spop,
  srandmember,
  smove,
  algebra('sinter', 'inter'),
  algebra('sunion', 'union'),
  algebra('sdiff', 'diff'),
  algebraStore('sinterstore', 'inter'),
  algebraStore('sunionstore', 'union'),
  algebraStore('sdiffstore', 'diff'),
  sintercard,
  sscan,
]
