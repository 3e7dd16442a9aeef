// HSCAN, SSCAN and ZSCAN. A compact collection (listpack, intset in Redis)
// answers in one page with cursor 0, as Redis does. A large one is paged by
// its scan index (scan-index.ts): a page costs O(COUNT) amortized, and every
// element present for the whole scan is returned, whatever is added or
// removed meanwhile. COUNT bounds the work; MATCH filters what it found, so a
// page may come back empty with a non-zero cursor, as in Redis.

import { arrayResult, errorResult, textResult, type KvOpResult } from './command.js'
import { NOT_INTEGER, SYNTAX_ERROR, WRONGTYPE, findCollection, keyword, parseInteger, text, type CallContext } from './call-context.js'
import { globMatch } from './glob.js'
import type { HashValue, SetValue, ZSetValue } from './values.js'

const EMPTY_SCAN: KvOpResult = arrayResult([textResult('0'), arrayResult([])])

type Scanned = HashValue | SetValue | ZSetValue

/**
 * How a type lists its elements: `all` of them (a compact collection's one
 * page), and what follows an element in the reply (a hash's value, a zset's
 * score; null: nothing).
 */
export interface ScanItems<V extends Scanned> {
  all(value: V): Iterable<string>
  extra(value: V, element: string): string | null
}

export function scanCollection<K extends Scanned['type']>(c: CallContext, args: readonly Buffer[], type: K, items: ScanItems<Extract<Scanned, { type: K }>>): KvOpResult {
  const cursorText = text(args[1])
  if (!/^[0-9]{1,20}$/.test(cursorText) || BigInt(cursorText) >= 2n ** 64n) return errorResult('invalid cursor')
  const found = findCollection(c, text(args[0]), type, false)
  if (found === undefined) return EMPTY_SCAN
  if (found === null) return WRONGTYPE
  let pattern: string | null = null
  let count = 10
  for (let i = 2; i < args.length; i++) {
    const option = keyword(args[i])
    if (option === 'COUNT' && i + 1 < args.length) {
      const n = parseInteger(args[++i])
      if (n === null) return NOT_INTEGER
      if (n < 1n) return SYNTAX_ERROR
      count = n > 1_000_000n ? 1_000_000 : Number(n)
    } else if (option === 'MATCH' && i + 1 < args.length) {
      pattern = text(args[++i])
      if (pattern === '*') pattern = null
    } else return SYNTAX_ERROR
  }
  // K is one of the scanned types, so the value is one too (findCollection's type is over every collection).
  const value = found.value as Extract<Scanned, { type: K }>
  let elements: Iterable<string>
  let next = 0
  if (value.big) {
    const page = value.scanPage(Number(cursorText), count)
    elements = page.elements
    next = page.next
  } else elements = items.all(value)
  const out: KvOpResult[] = []
  for (const element of elements) {
    if (pattern !== null && !globMatch(pattern, element)) continue
    out.push(textResult(element))
    const extra = items.extra(value, element)
    if (extra !== null) out.push(textResult(extra))
  }
  return arrayResult([textResult(String(next)), arrayResult(out)])
}
