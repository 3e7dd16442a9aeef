// HSCAN, SSCAN and ZSCAN. A compact collection (listpack, intset in Redis)
// answers in one page with cursor 0, as Redis does. A large one is paged by
// a hash of each element into SCAN_BUCKET_COUNT buckets, the cursor being the
// next bucket: every element present for the whole scan is returned at least
// once, whatever is added or removed meanwhile. A page costs O(n) here
// (Redis walks its hash table instead); the count bounds the reply, not the work.

import { arrayResult, errorResult, textResult, type KvOpResult } from './command.js'
import { NOT_INTEGER, SYNTAX_ERROR, WRONGTYPE, findCollection, keyword, parseInteger, text, type CallContext } from './call-context.js'
import { globMatch } from './glob.js'
import { SCAN_BUCKET_COUNT, scanBucketOf } from './keyspace.js'
import type { Collection } from './values.js'

const EMPTY_SCAN: KvOpResult = arrayResult([textResult('0'), arrayResult([])])

/** Each element to scan and what follows it in the reply (a hash's value, a zset's score). */
export type ScanItems = (value: Collection) => Iterable<readonly [string, string | null]>

export function scanCollection(c: CallContext, args: readonly Buffer[], type: Collection['type'], items: ScanItems): KvOpResult {
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
  const cursor = Number(cursorText)
  const big = found.value.big
  const page: [number, string, string | null][] = []
  for (const [element, extra] of items(found.value)) {
    const bucket = big ? scanBucketOf(element) : 0
    if (!big || bucket >= cursor) page.push([bucket, element, extra])
  }
  let next = 0
  if (big) {
    page.sort((x, y) => x[0] - y[0])
    let end = 0
    while (end < page.length && end < count) {
      const bucket = (page[end] as [number, string, string | null])[0]
      while (end < page.length && (page[end] as [number, string, string | null])[0] === bucket) end++
    }
    if (end < page.length) next = (page[end] as [number, string, string | null])[0]
    page.length = end
  }
  const out: KvOpResult[] = []
  for (const [, element, extra] of page) {
    if (pattern !== null && !globMatch(pattern, element)) continue
    out.push(textResult(element))
    if (extra !== null) out.push(textResult(extra))
  }
  return arrayResult([textResult(String(next > 0 && next < SCAN_BUCKET_COUNT ? next : 0)), arrayResult(out)])
}
