// Hash commands, as Redis 7.0's t_hash.c answers them.

import { NIL, OK, arrayResult, errorResult, intResult, textResult, type KvOpResult } from './command.js'
import {
  NOT_FLOAT,
  NOT_INTEGER,
  WRONGTYPE,
  collectionReader,
  emit,
  findCollection,
  parseInteger,
  randomOf,
  removeMembers,
  text,
  updateCollection,
  wrongArity,
  type CallContext,
  type KvCall,
} from './call-context.js'
import { scanCollection } from './collection-scan.js'
import { INT64_MAX, INT64_MIN } from './binary.js'
import { MSG_INCR_OVERFLOW } from './errors.js'
import { parseLongDouble } from './float-text.js'
import { randomCount, randomPicks } from './random-picks.js'
import { addFloatText } from './string-calls.js'
import { HashValue, type EncodingLimits } from './values.js'

const newHash = (limits: EncodingLimits): HashValue => new HashValue(limits)

function readHash(c: CallContext, args: readonly Buffer[]): HashValue | undefined | null {
  const found = findCollection(c, text(args[0]), 'hash', false)
  return found === null ? null : found?.value
}

function hset(name: 'hset' | 'hmset'): KvCall {
  return {
    name,
    arity: -4,
    write: true,
    run(c, args) {
      if (args.length % 2 !== 1) return wrongArity(name)
      const done = updateCollection(c, text(args[0]), 'hash', newHash, (h) => {
        let added = 0
        for (let i = 1; i < args.length; i += 2) if (h.set(text(args[i]), text(args[i + 1]))) added++
        return added
      })
      if (done === null) return WRONGTYPE
      emit(c, 'hset', 'h', text(args[0]))
      return name === 'hset' ? intResult(done.result) : OK
    },
  }
}

const hsetnx: KvCall = {
  name: 'hsetnx',
  arity: 4,
  write: true,
  run(c, args) {
    const field = text(args[1])
    const done = updateCollection(c, text(args[0]), 'hash', newHash, (h) => (h.map.has(field) ? 0 : (h.set(field, text(args[2])), 1)), (n) => n > 0)
    if (done === null) return WRONGTYPE
    if (done.result > 0) emit(c, 'hset', 'h', text(args[0]))
    return intResult(done.result)
  },
}

const reader = (name: string, arity: number, answer: (h: HashValue | undefined, args: readonly Buffer[]) => KvOpResult): KvCall =>
  collectionReader('hash', name, arity, answer)

function fieldValue(h: HashValue | undefined, field: string): KvOpResult {
  const value = h?.map.get(field)
  return value === undefined ? NIL : textResult(value)
}

const hdel: KvCall = { name: 'hdel', arity: -3, write: true, run: (c, args) => removeMembers(c, args, 'hash', 'hdel', 'h') }

const hincrby: KvCall = {
  name: 'hincrby',
  arity: 4,
  write: true,
  run(c, args) {
    const delta = parseInteger(args[2])
    if (delta === null) return NOT_INTEGER
    const field = text(args[1])
    let failure: KvOpResult | null = null
    const done = updateCollection(c, text(args[0]), 'hash', newHash, (h) => {
      const current = h.map.get(field)
      const value = current === undefined ? 0n : parseInteger(current)
      if (value === null) { failure = errorResult('hash value is not an integer'); return null }
      const next = value + delta
      if (next < INT64_MIN || next > INT64_MAX) { failure = errorResult(MSG_INCR_OVERFLOW); return null }
      h.set(field, next.toString())
      return next
    }, (r) => r !== null)
    if (done === null) return WRONGTYPE
    if (failure !== null) return failure
    emit(c, 'hincrby', 'h', text(args[0]))
    return intResult(done.result as bigint)
  },
}

const hincrbyfloat: KvCall = {
  name: 'hincrbyfloat',
  arity: 4,
  write: true,
  run(c, args) {
    const incrText = text(args[2])
    const increment = incrText.length === 0 ? null : parseLongDouble(incrText)
    if (increment === null) return NOT_FLOAT
    if (typeof increment === 'number') return errorResult('value is NaN or Infinity')
    const field = text(args[1])
    let failure: KvOpResult | null = null
    const done = updateCollection(c, text(args[0]), 'hash', newHash, (h) => {
      const current = h.map.get(field)
      const value = current === undefined ? parseLongDouble('0') : current.length === 0 ? null : parseLongDouble(current)
      if (value === null) { failure = errorResult('hash value is not a float'); return null }
      const next = addFloatText(value, increment)
      if (typeof next !== 'string') { failure = next; return null }
      h.set(field, next)
      return next
    }, (r) => r !== null)
    if (done === null) return WRONGTYPE
    if (failure !== null) return failure
    emit(c, 'hincrbyfloat', 'h', text(args[0]))
    return textResult(done.result as string)
  },
}

const hrandfield: KvCall = {
  name: 'hrandfield',
  arity: -2,
  write: false,
  random: true,
  run(c, args) {
    const count = randomCount(args, 'WITHVALUES')
    if (count.t === 'error') return count.reply
    const h = readHash(c, args)
    if (h === null) return WRONGTYPE
    if (count.t === 'single') {
      if (h === undefined) return NIL
      const fields = [...h.map.keys()]
      return textResult(fields[randomOf(c).int(fields.length)] as string)
    }
    if (h === undefined) return arrayResult([])
    const entries = [...h.map.entries()]
    const out: KvOpResult[] = []
    for (const i of randomPicks(randomOf(c), entries.length, count.count)) {
      const [f, v] = entries[i] as [string, string]
      out.push(textResult(f))
      if (count.withExtra) out.push(textResult(v))
    }
    return arrayResult(out)
  },
}

const hscan: KvCall = {
  name: 'hscan',
  arity: -3,
  write: false,
  run(c, args) {
    return scanCollection(c, args, 'hash', { all: (h) => h.map.keys(), extra: (h, f) => h.map.get(f) ?? null })
  },
}

/** HGETALL's reply items: a plain loop (a flatMap of pairs made two arrays per field). */
function fieldsAndValues(h: HashValue): KvOpResult[] {
  const items: KvOpResult[] = []
  for (const [field, value] of h.map) items.push(textResult(field), textResult(value))
  return items
}

export const hashCalls: readonly KvCall[] = [
  hset('hset'),
  hset('hmset'),
  hsetnx,
  reader('hget', 3, (h, a) => fieldValue(h, text(a[1]))),
  reader('hmget', -3, (h, a) => arrayResult(a.slice(1).map((f) => fieldValue(h, text(f))))),
  reader('hgetall', 2, (h) => arrayResult(h === undefined ? [] : fieldsAndValues(h))),
  reader('hkeys', 2, (h) => arrayResult(h === undefined ? [] : [...h.map.keys()].map(textResult))),
  reader('hvals', 2, (h) => arrayResult(h === undefined ? [] : [...h.map.values()].map(textResult))),
  reader('hlen', 2, (h) => intResult(h?.size ?? 0)),
  reader('hexists', 3, (h, a) => intResult(h?.map.has(text(a[1])) ? 1 : 0)),
  reader('hstrlen', 3, (h, a) => intResult(h?.map.get(text(a[1]))?.length ?? 0)),
  hdel,
  hincrby,
  hincrbyfloat,
  hrandfield,
  hscan,
]
