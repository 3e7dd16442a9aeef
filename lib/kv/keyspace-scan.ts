// SCAN over the keyspace, one page at a time, for both ways it runs: asked by
// a connection directly (KvStateMachine.scan, after the read barrier), and as
// the 'scan' call queued inside MULTI, which EXEC applies with the rest of
// the transaction (Redis allows SCAN there).
//
// The cursor is a bucket number (keys are bucketed by a hash of their bytes,
// the same on every node), so every key present for the whole iteration is
// returned at least once, as Redis guarantees. A page may hold more than
// `count` keys when a bucket is large, as in Redis.

import { arrayResult, errorResult, textResult, type KvOpResult, type KvScanResult } from './command.js'
import { NOT_INTEGER, SYNTAX_ERROR, keyword, parseInteger, text, type KvCall } from './call-context.js'
import { MSG_INVALID_CURSOR } from './errors.js'
import { globMatch } from './glob.js'
import { SCAN_BUCKET_COUNT } from './key-buckets.js'
import type { Keyspace } from './keyspace.js'
import { valueType } from './values.js'

export const SCAN_COUNT_MAX = 100_000
const CURSOR_TEXT = /^[0-9]{1,20}$/

/**
 * One page from `cursor`: up to about `count` live keys matching `match` (a
 * glob over the key's bytes, latin1) and, when `type` is given, holding that
 * type (any other word matches nothing, as in Redis 7.0).
 */
export function scanKeys(ks: Keyspace, cursor: string, match: string | null, count: number, nowMs: number, type: string | null = null): KvScanResult {
  if (!CURSOR_TEXT.test(cursor)) return { t: 'error', code: 'ERR', message: MSG_INVALID_CURSOR }
  let bucket = Number(cursor)
  const wanted = Math.min(Math.max(1, count), SCAN_COUNT_MAX)
  const keys: Buffer[] = []
  const pattern = match === null || match === '*' ? null : match
  while (bucket < SCAN_BUCKET_COUNT && keys.length < wanted) {
    const set = ks.bucket(bucket)
    bucket++
    if (set === undefined) continue
    for (const key of set) {
      if (pattern !== null && !globMatch(pattern, key)) continue
      const entry = ks.live(key, nowMs)
      if (entry === undefined || (type !== null && valueType(entry.value) !== type)) continue
      keys.push(Buffer.from(key, 'latin1'))
    }
  }
  return { t: 'page', cursor: bucket >= SCAN_BUCKET_COUNT ? '0' : String(bucket), keys }
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], queued inside MULTI. */
const scan: KvCall = {
  name: 'scan',
  arity: -2,
  write: false,
  run(c, args) {
    // Redis reads the cursor before the options (scanCommand), so a bad one is the error to answer.
    const cursor = text(args[0])
    if (!CURSOR_TEXT.test(cursor)) return errorResult(MSG_INVALID_CURSOR)
    let match: string | null = null
    let count = 10
    let type: string | null = null
    for (let i = 1; i < args.length; i += 2) {
      const option = keyword(args[i])
      if (i + 1 >= args.length) return SYNTAX_ERROR
      const value = args[i + 1]
      if (option === 'MATCH') match = text(value)
      else if (option === 'COUNT') {
        const n = parseInteger(value)
        if (n === null) return NOT_INTEGER
        if (n < 1n) return SYNTAX_ERROR
        count = n > BigInt(SCAN_COUNT_MAX) ? SCAN_COUNT_MAX : Number(n)
      } else if (option === 'TYPE') type = text(value).toLowerCase()
      else return SYNTAX_ERROR
    }
    const page = scanKeys(c.ks, cursor, match, count, c.nowMs, type)
    if (page.t === 'error') return { t: 'error', code: page.code, message: page.message }
    const keys: KvOpResult[] = page.keys.map((key) => ({ t: 'bulk', value: key }))
    return arrayResult([textResult(page.cursor), arrayResult(keys)])
  },
}

export const keyspaceScanCalls: readonly KvCall[] = [scan]
