// Sorted-set commands, as Redis 7.0's t_zset.c answers them. Every range
// (by rank, score or lex) becomes an interval of ranks in the skip list, so
// counting is O(log n) and a reply costs O(log n + its length).

import { EMPTY_ARRAY, NIL, arrayResult, errorResult, intResult, textResult, type KvOpResult } from './command.js'
import {
  NOT_FLOAT,
  NOT_INTEGER,
  SYNTAX_ERROR,
  WRONGTYPE,
  clampRange,
  collectionReader,
  emit,
  find,
  findCollection,
  keyword,
  parseInteger,
  parsePopCount,
  parseLong,
  randomOf,
  removeMembers,
  storeCollection,
  text,
  updateCollection,
  type CallContext,
  type KvCall,
} from './call-context.js'
import { scanCollection } from './collection-scan.js'
import { formatDouble, parseDouble } from './float-text.js'
import { randomCount, randomPicks } from './random-picks.js'
import type { SkipNode } from './skip-list.js'
import { ZSetValue, isString, type EncodingLimits, type SetValue } from './values.js'

const newZset = (limits: EncodingLimits): ZSetValue => new ZSetValue(limits)
const MSG_NOT_FLOAT_RANGE = 'min or max is not a float'
const MSG_NOT_LEX_RANGE = 'min or max not valid string range item'

function readZset(c: CallContext, key: Buffer | undefined, write = false): ZSetValue | undefined | null {
  const found = findCollection(c, text(key), 'zset', write)
  return found === null ? null : found?.value
}

const score = (value: number): KvOpResult => textResult(formatDouble(value))

// ---- ZADD, ZINCRBY

interface ZaddFlags { nx: boolean; xx: boolean; gt: boolean; lt: boolean; ch: boolean; incr: boolean }

function zaddRun(c: CallContext, args: readonly Buffer[], incrOnly: boolean): KvOpResult {
  const f: ZaddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: incrOnly }
  let at = 1
  for (; at < args.length; at++) {
    const option = keyword(args[at])
    if (option === 'NX') f.nx = true
    else if (option === 'XX') f.xx = true
    else if (option === 'CH') f.ch = true
    else if (option === 'INCR') f.incr = true
    else if (option === 'GT') f.gt = true
    else if (option === 'LT') f.lt = true
    else break
  }
  const rest = args.length - at
  if (rest % 2 !== 0 || rest === 0) return SYNTAX_ERROR
  if (f.nx && f.xx) return errorResult('XX and NX options at the same time are not compatible')
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) return errorResult('GT, LT, and/or NX options at the same time are not compatible')
  if (f.incr && rest > 2) return errorResult('INCR option supports a single increment-element pair')
  const pairs: [number, string][] = []
  for (let i = at; i < args.length; i += 2) {
    const value = parseDouble(text(args[i]))
    if (value === null) return NOT_FLOAT
    pairs.push([value, text(args[i + 1])])
  }
  const key = text(args[0])
  const found = findCollection(c, key, 'zset', true)
  if (found === null) return WRONGTYPE
  if (found === undefined && f.xx) return f.incr ? NIL : intResult(0)
  let nan = false
  const done = updateCollection(c, key, 'zset', newZset, (z) => {
    let added = 0, updated = 0, processed = 0
    let last = 0
    for (const [given, member] of pairs) {
      const current = z.scores.get(member)
      if (current !== undefined) {
        if (f.nx) continue
        let next = given
        if (f.incr) {
          next = given + current
          if (Number.isNaN(next)) { nan = true; break }
        }
        if ((f.lt && next >= current) || (f.gt && next <= current)) continue
        last = next
        processed++
        if (next !== current) { z.set(member, next); updated++ }
      } else if (!f.xx) {
        z.set(member, given)
        last = given
        added++
        processed++
      }
    }
    return { added, updated, processed, last }
  }, (r) => r.added + r.updated > 0)
  if (done === null) return WRONGTYPE
  if (nan) return errorResult('resulting score is not a number (NaN)')
  const r = done.result
  if (r.added + r.updated > 0) emit(c, f.incr ? 'zincr' : 'zadd', 'z', key)
  if (f.incr) return r.processed > 0 ? score(r.last) : NIL
  return intResult(f.ch ? r.added + r.updated : r.added)
}

const zadd: KvCall = { name: 'zadd', arity: -4, write: true, run: (c, args) => zaddRun(c, args, false) }
const zincrby: KvCall = { name: 'zincrby', arity: 4, write: true, run: (c, args) => zaddRun(c, args, true) }

// ---- ranges as rank intervals

interface ScoreRange { min: number; max: number; minEx: boolean; maxEx: boolean }
type LexBound = { readonly kind: 'min' | 'max' } | { readonly kind: 'value'; readonly value: string; readonly ex: boolean }
interface LexRange { min: LexBound; max: LexBound }

const SPACE_PREFIX = /^[ \t\n\v\f\r]+/

/** zslParseRange's strtod: leading space allowed, overflow gives ±inf, "" reads as 0; null when invalid or NaN. */
function rangeNumber(t: string): number | null {
  if (t === '') return 0
  const body = t.replace(SPACE_PREFIX, '')
  if (/^[+-]?inf(?:inity)?$/i.test(body)) return body.startsWith('-') ? -Infinity : Infinity
  if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(body)) return null
  return Number(body)
}

function parseScoreRange(minArg: Buffer | undefined, maxArg: Buffer | undefined): ScoreRange | null {
  const bound = (arg: Buffer | undefined): [number, boolean] | null => {
    const t = text(arg)
    const ex = t.startsWith('(')
    const value = rangeNumber(ex ? t.slice(1) : t)
    return value === null ? null : [value, ex]
  }
  const min = bound(minArg)
  const max = bound(maxArg)
  if (min === null || max === null) return null
  return { min: min[0], minEx: min[1], max: max[0], maxEx: max[1] }
}

function parseLexBound(arg: Buffer | undefined): LexBound | null {
  const t = text(arg)
  switch (t[0]) {
    case '+': return t.length === 1 ? { kind: 'max' } : null
    case '-': return t.length === 1 ? { kind: 'min' } : null
    case '(': return { kind: 'value', value: t.slice(1), ex: true }
    case '[': return { kind: 'value', value: t.slice(1), ex: false }
    default: return null
  }
}

function parseLexRange(minArg: Buffer | undefined, maxArg: Buffer | undefined): LexRange | null {
  const min = parseLexBound(minArg)
  const max = parseLexBound(maxArg)
  return min === null || max === null ? null : { min, max }
}

const gteMin = (r: ScoreRange, s: number): boolean => (r.minEx ? s > r.min : s >= r.min)
const lteMax = (r: ScoreRange, s: number): boolean => (r.maxEx ? s < r.max : s <= r.max)

function lexGteMin(r: LexRange, m: string): boolean {
  if (r.min.kind !== 'value') return r.min.kind === 'min'
  return r.min.ex ? m > r.min.value : m >= r.min.value
}
function lexLteMax(r: LexRange, m: string): boolean {
  if (r.max.kind !== 'value') return r.max.kind === 'max'
  return r.max.ex ? m < r.max.value : m <= r.max.value
}

/** [first, last] ranks whose nodes satisfy both bounds, or null. */
function rankInterval(z: ZSetValue, aboveMin: (n: SkipNode) => boolean, belowMax: (n: SkipNode) => boolean): [number, number] | null {
  const first = z.order.firstWhere(aboveMin)
  if (first === null || !belowMax(first.node)) return null
  const last = z.order.lastWhere(belowMax)
  if (last === null || last.rank < first.rank) return null
  return [first.rank, last.rank]
}

function scoreInterval(z: ZSetValue, r: ScoreRange): [number, number] | null {
  if (r.min > r.max || (r.min === r.max && (r.minEx || r.maxEx))) return null
  return rankInterval(z, (n) => gteMin(r, n.score), (n) => lteMax(r, n.score))
}

function lexInterval(z: ZSetValue, r: LexRange): [number, number] | null {
  if (r.min.kind === 'max' || r.max.kind === 'min') return null
  if (r.min.kind === 'value' && r.max.kind === 'value') {
    if (r.min.value > r.max.value || (r.min.value === r.max.value && (r.min.ex || r.max.ex))) return null
  }
  return rankInterval(z, (n) => lexGteMin(r, n.member), (n) => lexLteMax(r, n.member))
}

/** The nodes of ranks [from, to] (inclusive), ascending or descending. */
function nodesOf(z: ZSetValue, from: number, to: number, reverse: boolean): SkipNode[] {
  const out: SkipNode[] = []
  if (from > to) return out
  let node = z.order.at(reverse ? to : from)
  for (let n = to - from + 1; n > 0 && node !== null; n--) {
    out.push(node)
    node = reverse ? node.prev : node.next0
  }
  return out
}

function nodesReply(nodes: readonly SkipNode[], withScores: boolean): KvOpResult {
  const items: KvOpResult[] = []
  for (const node of nodes) {
    items.push(textResult(node.member))
    if (withScores) items.push(score(node.score))
  }
  return arrayResult(items)
}

// ---- ZRANGE and its older forms

type RangeKind = 'rank' | 'score' | 'lex'
interface RangePreset { kind: RangeKind | null; reverse: boolean | null }

function zrangeRun(c: CallContext, args: readonly Buffer[], preset: RangePreset): KvOpResult {
  let kind = preset.kind
  let reverse = preset.reverse
  let withScores = false
  let offset = 0
  let limit = -1
  let limitGiven = false
  for (let i = 3; i < args.length; i++) {
    const option = keyword(args[i])
    if (option === 'WITHSCORES') withScores = true
    else if (option === 'LIMIT' && args.length - i - 1 >= 2) {
      const o = parseLong(args[i + 1])
      const l = parseLong(args[i + 2])
      if (o === null || l === null) return NOT_INTEGER
      offset = o
      limit = l
      limitGiven = true
      i += 2
    } else if (reverse === null && option === 'REV') reverse = true
    else if (kind === null && option === 'BYLEX') kind = 'lex'
    else if (kind === null && option === 'BYSCORE') kind = 'score'
    else return SYNTAX_ERROR
  }
  kind ??= 'rank'
  reverse ??= false
  if (limitGiven && kind === 'rank') return errorResult('syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX')
  if (withScores && kind === 'lex') return errorResult('syntax error, WITHSCORES not supported in combination with BYLEX')
  const [minArg, maxArg] = reverse && kind !== 'rank' ? [args[2], args[1]] : [args[1], args[2]]
  let interval: (z: ZSetValue) => [number, number] | null
  if (kind === 'rank') {
    const start = parseLong(minArg)
    const end = parseLong(maxArg)
    if (start === null || end === null) return NOT_INTEGER
    interval = (z) => clampRange(start, end, z.size)
  } else if (kind === 'score') {
    const range = parseScoreRange(minArg, maxArg)
    if (range === null) return errorResult(MSG_NOT_FLOAT_RANGE)
    interval = (z) => scoreInterval(z, range)
  } else {
    const range = parseLexRange(minArg, maxArg)
    if (range === null) return errorResult(MSG_NOT_LEX_RANGE)
    interval = (z) => lexInterval(z, range)
  }
  const z = readZset(c, args[0])
  if (z === undefined) return EMPTY_ARRAY
  if (z === null) return WRONGTYPE
  if (kind === 'rank') {
    const ranks = interval(z)
    if (ranks === null) return EMPTY_ARRAY
    const [a, b] = reverse ? [z.size - 1 - ranks[1], z.size - 1 - ranks[0]] : ranks
    return nodesReply(nodesOf(z, a, b, reverse), withScores)
  }
  const ranks = interval(z)
  // A negative offset skips everything (Redis counts it down to nothing); a negative limit means all.
  if (ranks === null || offset < 0 || (offset > 0 && offset >= z.size)) return EMPTY_ARRAY
  const [lo, hi] = ranks
  const available = hi - lo + 1 - offset
  if (available <= 0) return EMPTY_ARRAY
  const take = limit < 0 ? available : Math.min(limit, available)
  if (take === 0) return EMPTY_ARRAY
  const nodes = reverse ? nodesOf(z, hi - offset - take + 1, hi - offset, true) : nodesOf(z, lo + offset, lo + offset + take - 1, false)
  return nodesReply(nodes, withScores)
}

function zrange(name: string, preset: RangePreset): KvCall {
  return { name, arity: name === 'zrange' ? -4 : -4, write: false, run: (c, args) => zrangeRun(c, args, preset) }
}

// ---- single-key readers

const reader = (name: string, arity: number, answer: (z: ZSetValue | undefined, args: readonly Buffer[]) => KvOpResult): KvCall =>
  collectionReader('zset', name, arity, answer)

function scoreOf(z: ZSetValue | undefined, member: Buffer | undefined): KvOpResult {
  const s = z?.scores.get(text(member))
  return s === undefined ? NIL : score(s)
}

function rank(z: ZSetValue | undefined, args: readonly Buffer[], reverse: boolean): KvOpResult {
  const member = text(args[1])
  const s = z?.scores.get(member)
  if (z === undefined || s === undefined) return NIL
  const r = z.order.rank(s, member)
  return intResult(reverse ? z.size - 1 - r : r)
}

function counter(name: string, parse: (a: readonly Buffer[]) => ((z: ZSetValue) => [number, number] | null) | KvOpResult): KvCall {
  return {
    name,
    arity: 4,
    write: false,
    run(c, args) {
      const interval = parse(args)
      if (typeof interval !== 'function') return interval
      const z = readZset(c, args[0])
      if (z === null) return WRONGTYPE
      const ranks = z === undefined ? null : interval(z)
      return intResult(ranks === null ? 0 : ranks[1] - ranks[0] + 1)
    },
  }
}

const byScore = (a: readonly Buffer[]): ((z: ZSetValue) => [number, number] | null) | KvOpResult => {
  const r = parseScoreRange(a[1], a[2])
  return r === null ? errorResult(MSG_NOT_FLOAT_RANGE) : (z: ZSetValue) => scoreInterval(z, r)
}
const byLex = (a: readonly Buffer[]): ((z: ZSetValue) => [number, number] | null) | KvOpResult => {
  const r = parseLexRange(a[1], a[2])
  return r === null ? errorResult(MSG_NOT_LEX_RANGE) : (z: ZSetValue) => lexInterval(z, r)
}
const byRank = (a: readonly Buffer[]): ((z: ZSetValue) => [number, number] | null) | KvOpResult => {
  const start = parseLong(a[1])
  const end = parseLong(a[2])
  return start === null || end === null ? NOT_INTEGER : (z: ZSetValue) => clampRange(start, end, z.size)
}

// ---- writes that remove

const zrem: KvCall = { name: 'zrem', arity: -3, write: true, run: (c, args) => removeMembers(c, args, 'zset', 'zrem', 'z') }

function remrange(name: string, parse: typeof byScore): KvCall {
  return {
    name,
    arity: 4,
    write: true,
    run(c, args) {
      const interval = parse(args)
      if (typeof interval !== 'function') return interval
      const key = text(args[0])
      const found = findCollection(c, key, 'zset', true)
      if (found === undefined) return intResult(0)
      if (found === null) return WRONGTYPE
      const ranks = interval(found.value)
      if (ranks === null) return intResult(0)
      const doomed = nodesOf(found.value, ranks[0], ranks[1], false).map((n) => n.member)
      c.ks.change(key, found.entry, (z) => { for (const m of doomed) (z as ZSetValue).delete(m) })
      emit(c, name, 'z', key)
      return intResult(doomed.length)
    },
  }
}

/** ZPOPMIN/ZPOPMAX's pop of `count` members from one end of an existing sorted set, as [member, score, …]. */
export function popMembers(c: CallContext, key: string, max: boolean, count: number): KvOpResult {
  const found = findCollection(c, key, 'zset', true)
  if (found === undefined || found === null) return EMPTY_ARRAY
  const z = found.value
  const take = Math.min(count, z.size)
  const nodes = max ? nodesOf(z, z.size - take, z.size - 1, true) : nodesOf(z, 0, take - 1, false)
  c.ks.change(key, found.entry, (value) => { for (const n of nodes) (value as ZSetValue).delete(n.member) })
  emit(c, max ? 'zpopmax' : 'zpopmin', 'z', key)
  return nodesReply(nodes, true)
}

function zpop(name: string, max: boolean): KvCall {
  return {
    name,
    arity: -2,
    write: true,
    run(c, args) {
      const parsed = parsePopCount(args, SYNTAX_ERROR)
      if (typeof parsed !== 'number') return parsed
      const count = parsed < 0 ? 1 : parsed
      const found = findCollection(c, text(args[0]), 'zset', true)
      if (found === null) return WRONGTYPE
      if (found === undefined || count === 0) return EMPTY_ARRAY
      return popMembers(c, text(args[0]), max, count)
    },
  }
}

// ---- ZUNIONSTORE, ZINTERSTORE

type Aggregate = 'sum' | 'min' | 'max'

function aggregate(how: Aggregate, a: number, b: number): number {
  if (how === 'sum') {
    const s = a + b
    // +inf plus -inf: Redis keeps 0 rather than NaN.
    return Number.isNaN(s) ? 0 : s
  }
  return how === 'min' ? (b < a ? b : a) : b > a ? b : a
}

function storeOp(name: string, inter: boolean): KvCall {
  return {
    name,
    arity: -4,
    write: true,
    run(c, args) {
      const numKeys = parseInteger(args[1])
      if (numKeys === null) return NOT_INTEGER
      if (numKeys < 1n) return errorResult(`at least 1 input key is needed for '${name}' command`)
      if (numKeys > BigInt(args.length - 2)) return SYNTAX_ERROR
      const n = Number(numKeys)
      const sources: (ZSetValue | SetValue | undefined)[] = []
      for (let i = 0; i < n; i++) {
        const entry = find(c, text(args[2 + i]), true)
        if (entry === undefined) { sources.push(undefined); continue }
        if (isString(entry.value) || (entry.value.type !== 'zset' && entry.value.type !== 'set')) return WRONGTYPE
        sources.push(entry.value as ZSetValue | SetValue)
      }
      const weights: number[] = new Array<number>(n).fill(1)
      let how: Aggregate = 'sum'
      for (let j = 2 + n; j < args.length;) {
        const remaining = args.length - j
        const option = keyword(args[j])
        if (option === 'WEIGHTS' && remaining >= n + 1) {
          for (let i = 0; i < n; i++) {
            const w = parseDouble(text(args[j + 1 + i]))
            if (w === null) return errorResult('weight value is not a float')
            weights[i] = w
          }
          j += n + 1
        } else if (option === 'AGGREGATE' && remaining >= 2) {
          const a = keyword(args[j + 1])
          if (a !== 'SUM' && a !== 'MIN' && a !== 'MAX') return SYNTAX_ERROR
          how = a.toLowerCase() as Aggregate
          j += 2
        } else return SYNTAX_ERROR
      }
      return storeCollection(c, text(args[0]), combineZsets(new ZSetValue(c.ks.encodingLimits), sources, weights, how, inter), name, 'z')
    },
  }
}

function membersOf(source: ZSetValue | SetValue): Iterable<[string, number]> {
  if (source.type === 'zset') return source.scores.entries()
  return source.members.map((m) => [m, 1] as [string, number])
}

function weighted(weight: number, value: number): number {
  const w = weight * value
  return Number.isNaN(w) ? 0 : w
}

/** Fills `out` (empty) with the union or intersection of `sources`. */
function combineZsets(out: ZSetValue, sources: readonly (ZSetValue | SetValue | undefined)[], weights: readonly number[], how: Aggregate, inter: boolean): ZSetValue {
  const indexed = sources.map((s, i) => ({ s, w: weights[i] as number }))
  if (inter) {
    if (indexed.some((x) => x.s === undefined || x.s.size === 0)) return out
    // Smallest first, as Redis orders them (it decides the order of a sum of three or more).
    indexed.sort((a, b) => (a.s as ZSetValue | SetValue).size - (b.s as ZSetValue | SetValue).size)
    const [first, ...rest] = indexed as { s: ZSetValue | SetValue; w: number }[] as [{ s: ZSetValue | SetValue; w: number }, ...{ s: ZSetValue | SetValue; w: number }[]]
    for (const [member, s] of membersOf(first.s)) {
      let total = weighted(first.w, s)
      let everywhere = true
      for (const other of rest) {
        const v = other.s.type === 'zset' ? other.s.scores.get(member) : other.s.has(member) ? 1 : undefined
        if (v === undefined) { everywhere = false; break }
        total = aggregate(how, total, weighted(other.w, v))
      }
      if (everywhere) out.set(member, total)
    }
    return out
  }
  const acc = new Map<string, number>()
  indexed.sort((a, b) => (a.s?.size ?? 0) - (b.s?.size ?? 0))
  for (const { s, w } of indexed) {
    if (s === undefined) continue
    for (const [member, v] of membersOf(s)) {
      const value = weighted(w, v)
      const prior = acc.get(member)
      acc.set(member, prior === undefined ? value : aggregate(how, prior, value))
    }
  }
  for (const [member, v] of acc) out.set(member, v)
  return out
}

const zrandmember: KvCall = {
  name: 'zrandmember',
  arity: -2,
  write: false,
  random: true,
  run(c, args) {
    const count = randomCount(args, 'WITHSCORES')
    if (count.t === 'error') return count.reply
    const z = readZset(c, args[0])
    if (z === null) return WRONGTYPE
    if (count.t === 'single') return z === undefined ? NIL : textResult((z.order.at(randomOf(c).int(z.size)) as SkipNode).member)
    if (z === undefined) return EMPTY_ARRAY
    const nodes = randomPicks(randomOf(c), z.size, count.count).map((i) => z.order.at(i) as SkipNode)
    return nodesReply(nodes, count.withExtra)
  },
}

const zscan: KvCall = {
  name: 'zscan',
  arity: -3,
  write: false,
  run: (c, args) => scanCollection(c, args, 'zset', { all: (z) => z.scores.keys(), extra: (z, m) => { const s = z.scores.get(m); return s === undefined ? null : formatDouble(s) } }),
}

export const zsetCalls: readonly KvCall[] = [
  zadd,
  zincrby,
  zrem,
  reader('zscore', 3, (z, a) => scoreOf(z, a[1])),
  reader('zmscore', -3, (z, a) => arrayResult(a.slice(1).map((m) => scoreOf(z, m)))),
  reader('zcard', 2, (z) => intResult(z?.size ?? 0)),
  counter('zcount', byScore),
  counter('zlexcount', byLex),
  zrange('zrange', { kind: null, reverse: null }),
  zrange('zrevrange', { kind: 'rank', reverse: true }),
  zrange('zrangebyscore', { kind: 'score', reverse: false }),
  zrange('zrevrangebyscore', { kind: 'score', reverse: true }),
  zrange('zrangebylex', { kind: 'lex', reverse: false }),
  zrange('zrevrangebylex', { kind: 'lex', reverse: true }),
  reader('zrank', 3, (z, a) => rank(z, a, false)),
  reader('zrevrank', 3, (z, a) => rank(z, a, true)),
  zpop('zpopmin', false),
  zpop('zpopmax', true),
  remrange('zremrangebyscore', byScore),
  remrange('zremrangebyrank', byRank),
  remrange('zremrangebylex', byLex),
  storeOp('zunionstore', false),
  storeOp('zinterstore', true),
  zrandmember,
  zscan,
]
