// List commands (non-blocking), as Redis 7.0's t_list.c answers them. The
// blocking forms are these same pops, proposed by the node a client waits on.

import { EMPTY_ARRAY, NIL, NIL_ARRAY, OK, arrayResult, bulkResult, errorResult, intResult, textResult, type KvOpResult } from './command.js'
import {
  NOT_INTEGER,
  NO_SUCH_KEY,
  SYNTAX_ERROR,
  WRONGTYPE,
  clampRange,
  collectionReader,
  emit,
  findCollection,
  firstHolding,
  keyword,
  listIndex,
  parseInteger,
  parsePopCount,
  parseLong,
  text,
  updateCollection,
  wrongArity,
  type CallContext,
  type KvCall,
} from './call-context.js'
import { ListValue } from './values.js'

const newList = (): ListValue => new ListValue()
export type End = 'left' | 'right'

function readList(c: CallContext, key: Buffer | undefined): ListValue | undefined | null {
  const found = findCollection(c, text(key), 'list', false)
  return found === null ? null : found?.value
}

function push(name: string, end: End, onlyExisting: boolean): KvCall {
  return {
    name,
    arity: -3,
    write: true,
    run(c, args) {
      const key = text(args[0])
      const found = findCollection(c, key, 'list', true)
      if (found === null) return WRONGTYPE
      if (found === undefined && onlyExisting) return intResult(0)
      const done = updateCollection(c, key, 'list', newList, (l) => {
        for (let i = 1; i < args.length; i++) {
          if (end === 'left') l.pushFront(text(args[i]))
          else l.pushBack(text(args[i]))
        }
        return l.size
      })
      if (done === null) return WRONGTYPE
      emit(c, end === 'left' ? 'lpush' : 'rpush', 'l', key)
      return intResult(done.result)
    },
  }
}

/**
 * Pops up to `count` elements from one end of an existing list (which the
 * keyspace deletes once empty), reporting the pop unless `quiet` (LMOVE
 * reports it after the push, as Redis does).
 */
export function popElements(c: CallContext, key: string, end: End, count: number, quiet = false): string[] | null {
  const found = findCollection(c, key, 'list', true)
  if (found === undefined) return []
  if (found === null) return null
  const popped = c.ks.change(key, found.entry, (value) => {
    const l = value as ListValue
    const out: string[] = []
    while (out.length < count && l.size > 0) out.push((end === 'left' ? l.popFront() : l.popBack()) as string)
    return out
  })
  if (!quiet) emit(c, end === 'left' ? 'lpop' : 'rpop', 'l', key)
  return popped
}

function pop(name: string, end: End): KvCall {
  return {
    name,
    arity: -2,
    write: true,
    run(c, args) {
      const count = parsePopCount(args, wrongArity(name))
      if (typeof count !== 'number') return count
      const key = text(args[0])
      const found = findCollection(c, key, 'list', true)
      if (found === undefined) return count < 0 ? NIL : NIL_ARRAY
      if (found === null) return WRONGTYPE
      if (count === 0) return EMPTY_ARRAY
      const items = popElements(c, key, end, count < 0 ? 1 : count) as string[]
      return count < 0 ? textResult(items[0] as string) : arrayResult(items.map(textResult))
    },
  }
}

const reader = (name: string, arity: number, answer: (l: ListValue | undefined, args: readonly Buffer[]) => KvOpResult, check?: (args: readonly Buffer[]) => KvOpResult | null): KvCall =>
  collectionReader('list', name, arity, answer, check)

const twoIntegers = (args: readonly Buffer[]): KvOpResult | null => (parseLong(args[1]) === null || parseLong(args[2]) === null ? NOT_INTEGER : null)

function lrange(l: ListValue | undefined, args: readonly Buffer[]): KvOpResult {
  const start = parseLong(args[1])
  const end = parseLong(args[2])
  if (start === null || end === null) return NOT_INTEGER
  if (l === undefined) return EMPTY_ARRAY
  const range = clampRange(start, end, l.size)
  return range === null ? EMPTY_ARRAY : arrayResult(l.bytesRange(range[0], range[1] + 1).map(bulkResult))
}

function lindex(l: ListValue | undefined, args: readonly Buffer[]): KvOpResult {
  if (l === undefined) return NIL
  const index = parseLong(args[1])
  if (index === null) return NOT_INTEGER
  const at = listIndex(index, l.size)
  return at < 0 || at >= l.size ? NIL : textResult(l.at(at))
}

const lset: KvCall = {
  name: 'lset',
  arity: 4,
  write: true,
  run(c, args) {
    const key = text(args[0])
    const found = findCollection(c, key, 'list', true)
    if (found === undefined) return NO_SUCH_KEY
    if (found === null) return WRONGTYPE
    const index = parseLong(args[1])
    if (index === null) return NOT_INTEGER
    const at = listIndex(index, found.value.size)
    if (at < 0 || at >= found.value.size) return errorResult('index out of range')
    c.ks.change(key, found.entry, (l) => (l as ListValue).setAt(at, text(args[2])))
    emit(c, 'lset', 'l', key)
    return OK
  },
}

/** Rewrites an existing list through `edit` (O(n)); `edit` answers the reply and whether it changed anything. */
function rewrite(c: CallContext, args: readonly Buffer[], event: string, absent: KvOpResult, edit: (items: string[]) => [string[], KvOpResult, boolean]): KvOpResult {
  const key = text(args[0])
  const found = findCollection(c, key, 'list', true)
  if (found === undefined) return absent
  if (found === null) return WRONGTYPE
  const [reply, changed] = c.ks.change(key, found.entry, (value) => {
    const l = value as ListValue
    const [items, reply, changed] = edit(l.toArray())
    if (changed) l.replace(items)
    return [reply, changed] as const
  }, ([, changed]) => changed)
  if (changed) emit(c, event, 'l', key)
  return reply
}

const lrem: KvCall = {
  name: 'lrem',
  arity: 4,
  write: true,
  run(c, args) {
    const count = parseLong(args[1])
    if (count === null) return NOT_INTEGER
    const element = text(args[2])
    return rewrite(c, args, 'lrem', intResult(0), (items) => {
      let removed = 0
      const limit = count === 0 ? Infinity : Math.abs(count)
      const keep: boolean[] = items.map(() => true)
      const order = count < 0 ? items.map((_, i) => items.length - 1 - i) : items.map((_, i) => i)
      for (const i of order) {
        if (removed >= limit) break
        if (items[i] === element) { keep[i] = false; removed++ }
      }
      return [items.filter((_, i) => keep[i]), intResult(removed), removed > 0]
    })
  },
}

const ltrim: KvCall = {
  name: 'ltrim',
  arity: 4,
  write: true,
  run(c, args) {
    const start = parseLong(args[1])
    const end = parseLong(args[2])
    if (start === null || end === null) return NOT_INTEGER
    return rewrite(c, args, 'ltrim', OK, (items) => {
      const range = clampRange(start, end, items.length)
      const kept = range === null ? [] : items.slice(range[0], range[1] + 1)
      // Redis reports (and WATCH sees) LTRIM as a change even when it keeps everything.
      return [kept, OK, true]
    })
  },
}

const linsert: KvCall = {
  name: 'linsert',
  arity: 5,
  write: true,
  run(c, args) {
    const where = keyword(args[1])
    if (where !== 'BEFORE' && where !== 'AFTER') return SYNTAX_ERROR
    const pivot = text(args[2])
    const element = text(args[3])
    return rewrite(c, args, 'linsert', intResult(0), (items) => {
      const at = items.indexOf(pivot)
      if (at < 0) return [items, intResult(-1), false]
      items.splice(where === 'BEFORE' ? at : at + 1, 0, element)
      return [items, intResult(items.length), true]
    })
  },
}

const lpos: KvCall = {
  name: 'lpos',
  arity: -3,
  write: false,
  run(c, args) {
    let rank = 1
    let count = -1
    let maxLen = 0
    for (let i = 2; i < args.length; i++) {
      const option = keyword(args[i])
      const value = args[i + 1]
      if (value === undefined || !['RANK', 'COUNT', 'MAXLEN'].includes(option)) return SYNTAX_ERROR
      i++
      const n = parseInteger(value)
      // COUNT and MAXLEN answer their own text for a non-integer too (getPositiveLongFromObjectOrReply).
      if (n === null) return option === 'RANK' ? NOT_INTEGER : errorResult(`${option} can't be negative`)
      if (option === 'RANK') {
        if (n === 0n) return errorResult("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
        if (n === -(2n ** 63n)) return errorResult('value is out of range, value must between -9223372036854775807 and 9223372036854775807')
        rank = Number(n)
      } else if (option === 'COUNT') {
        if (n < 0n) return errorResult("COUNT can't be negative")
        count = Number(n)
      } else {
        if (n < 0n) return errorResult("MAXLEN can't be negative")
        maxLen = Number(n)
      }
    }
    const l = readList(c, args[0])
    if (l === null) return WRONGTYPE
    if (l === undefined) return count < 0 ? NIL : EMPTY_ARRAY
    const element = text(args[1])
    const found: KvOpResult[] = []
    const want = count < 0 ? 1 : count === 0 ? Infinity : count
    let skip = Math.abs(rank) - 1
    const scanned = maxLen === 0 ? l.size : Math.min(maxLen, l.size)
    for (let n = 0; n < scanned && found.length < want; n++) {
      const i = rank > 0 ? n : l.size - 1 - n
      if (l.at(i) !== element) continue
      if (skip > 0) { skip--; continue }
      found.push(intResult(i))
    }
    if (count < 0) return found[0] ?? NIL
    return arrayResult(found)
  },
}

/** LEFT or RIGHT (LMOVE, LMPOP and their blocking forms); null for anything else. */
export function endOf(arg: Buffer | undefined): End | null {
  const word = keyword(arg)
  return word === 'LEFT' ? 'left' : word === 'RIGHT' ? 'right' : null
}

/** LMOVE's move, shared by RPOPLPUSH and the blocking BLMOVE. */
export function moveElement(c: CallContext, from: string, to: string, fromEnd: End, toEnd: End): KvOpResult {
  const source = findCollection(c, from, 'list', true)
  if (source === undefined) return NIL
  if (source === null) return WRONGTYPE
  if (findCollection(c, to, 'list', true) === null) return WRONGTYPE
  const element = (popElements(c, from, fromEnd, 1, true) as string[])[0] as string
  updateCollection(c, to, 'list', newList, (l) => (toEnd === 'left' ? l.pushFront(element) : l.pushBack(element)))
  emit(c, toEnd === 'left' ? 'lpush' : 'rpush', 'l', to)
  emit(c, fromEnd === 'left' ? 'lpop' : 'rpop', 'l', from)
  return textResult(element)
}

const lmove: KvCall = {
  name: 'lmove',
  arity: 5,
  write: true,
  run(c, args) {
    const fromEnd = endOf(args[2])
    const toEnd = endOf(args[3])
    if (fromEnd === null || toEnd === null) return SYNTAX_ERROR
    return moveElement(c, text(args[0]), text(args[1]), fromEnd, toEnd)
  },
}

const rpoplpush: KvCall = {
  name: 'rpoplpush',
  arity: 3,
  write: true,
  run: (c, args) => moveElement(c, text(args[0]), text(args[1]), 'right', 'left'),
}

/** LMPOP's arguments after `numkeys` is at `at`: the keys, the end and the count; or the error reply. */
export function parseMpop(args: readonly Buffer[], at: number, ends: (arg: Buffer | undefined) => End | null): { keys: string[]; end: End; count: number } | KvOpResult {
  // getRangeLongFromObjectOrReply answers its own text for a non-integer too.
  const numKeys = parseInteger(args[at])
  if (numKeys === null || numKeys < 1n) return errorResult('numkeys should be greater than 0')
  const whereAt = at + 1 + Number(numKeys)
  if (whereAt >= args.length) return SYNTAX_ERROR
  const end = ends(args[whereAt])
  if (end === null) return SYNTAX_ERROR
  let count = -1
  for (let i = whereAt + 1; i < args.length; i++) {
    if (count === -1 && keyword(args[i]) === 'COUNT' && i + 1 < args.length) {
      const n = parseInteger(args[++i])
      if (n === null || n < 1n) return errorResult('count should be greater than 0')
      count = Number(n)
    } else return SYNTAX_ERROR
  }
  return { keys: args.slice(at + 1, whereAt).map(text), end, count: count === -1 ? 1 : count }
}

/** LMPOP's pop from the first non-empty list, as [key, [elements]]; NIL_ARRAY when all are empty. */
export function mpopLists(c: CallContext, keys: readonly string[], end: End, count: number): KvOpResult {
  const key = firstHolding(c, keys, 'list')
  if (key === null) return WRONGTYPE
  if (key === undefined) return NIL_ARRAY
  const items = popElements(c, key, end, count) as string[]
  return arrayResult([textResult(key), arrayResult(items.map(textResult))])
}

const lmpop: KvCall = {
  name: 'lmpop',
  arity: -4,
  write: true,
  run(c, args) {
    const parsed = parseMpop(args, 0, endOf)
    if (!('keys' in parsed)) return parsed
    return mpopLists(c, parsed.keys, parsed.end, parsed.count)
  },
}

export const listCalls: readonly KvCall[] = [
  push('lpush', 'left', false),
  push('rpush', 'right', false),
  push('lpushx', 'left', true),
  push('rpushx', 'right', true),
  pop('lpop', 'left'),
  pop('rpop', 'right'),
  reader('llen', 2, (l) => intResult(l?.size ?? 0)),
  reader('lrange', 4, lrange, twoIntegers),
  reader('lindex', 3, lindex),
  lset,
  lrem,
  ltrim,
  linsert,
  lpos,
  lmove,
  rpoplpush,
  lmpop,
]
