// Keyspace commands that work on any type: KEYS, RENAME, RENAMENX, COPY,
// TOUCH, RANDOMKEY and OBJECT. Texts follow Redis 7.0 (db.c, object.c).

import { NIL, OK, arrayResult, errorResult, intResult, textResult, type KvOpResult } from './command.js'
import { NOT_INTEGER, NO_SUCH_KEY, SYNTAX_ERROR, emit, find, keyword, parseInteger, randomOf, text, type KvCall } from './call-context.js'
import { globMatch } from './glob.js'
import { cloneValue, encodingName } from './values.js'

const keys: KvCall = {
  name: 'keys',
  arity: 2,
  write: false,
  run(c, args) {
    const pattern = text(args[0])
    const all = pattern === '*'
    const items: KvOpResult[] = []
    c.ks.forEachLiveKey(c.nowMs, (key) => {
      if (all || globMatch(pattern, key)) items.push(textResult(key))
    })
    return arrayResult(items)
  },
}

function rename(name: string, nx: boolean): KvCall {
  return {
    name,
    arity: 3,
    write: true,
    run(c, args) {
      const from = text(args[0])
      const to = text(args[1])
      const source = find(c, from, true)
      if (source === undefined) return NO_SUCH_KEY
      if (from === to) return nx ? intResult(0) : OK
      const target = find(c, to, true)
      if (target !== undefined && nx) return intResult(0)
      const { value, expireAtMs } = source
      c.ks.delete(from, source)
      // While a snapshot is encoded, the source's captured state may be this very object.
      c.ks.put(to, target, c.ks.capturing ? cloneValue(value) : value, expireAtMs)
      emit(c, 'rename_from', 'g', from)
      emit(c, 'rename_to', 'g', to)
      return nx ? intResult(1) : OK
    },
  }
}

const copy: KvCall = {
  name: 'copy',
  arity: -3,
  write: true,
  run(c, args) {
    let replace = false
    for (let i = 2; i < args.length; i++) {
      const option = keyword(args[i])
      if (option === 'REPLACE') replace = true
      else if (option === 'DB' && i + 1 < args.length) {
        const db = parseInteger(args[++i])
        if (db === null || db < -(2n ** 31n) || db >= 2n ** 31n) return NOT_INTEGER
        // One database: any other index is out of range here (Redis has 16).
        if (db !== 0n) return errorResult('DB index is out of range')
      } else return SYNTAX_ERROR
    }
    const from = text(args[0])
    const to = text(args[1])
    if (from === to) return errorResult('source and destination objects are the same')
    const source = find(c, from, true)
    if (source === undefined) return intResult(0)
    const target = find(c, to, true)
    if (target !== undefined && !replace) return intResult(0)
    c.ks.put(to, target, cloneValue(source.value), source.expireAtMs)
    emit(c, 'copy_to', 'g', to)
    return intResult(1)
  },
}

const touch: KvCall = {
  name: 'touch',
  arity: -2,
  write: false,
  run(c, args) {
    let count = 0
    for (const key of args) if (find(c, text(key), false) !== undefined) count++
    return intResult(count)
  },
}

/**
 * Up to this many keys RANDOMKEY walks to a random position (tens of µs);
 * past it, it draws through the SCAN index, where at least 14 % of the
 * 65,536 buckets hold a key, so RANDOMKEY_BUCKET_TRIES draws all miss only
 * when most keys have expired unswept (then it walks).
 */
const RANDOMKEY_WALK_KEYS_MAX = 10_000
const RANDOMKEY_BUCKET_TRIES = 1_000

const randomkey: KvCall = {
  name: 'randomkey',
  arity: 1,
  write: false,
  random: true,
  run(c) {
    const live = c.ks.size
    if (live === 0) return NIL
    const random = randomOf(c)
    if (live > RANDOMKEY_WALK_KEYS_MAX) {
      // At 1M keys a walk to a random position took ~2.5 ms; a draw by bucket is O(1).
      const key = c.ks.randomKey((n) => random.int(n), c.nowMs, RANDOMKEY_BUCKET_TRIES)
      if (key !== undefined) return textResult(key)
    }
    // A few tries at a random position, then the first live key: expired keys not yet swept are skipped.
    for (let attempt = 0; attempt < 8; attempt++) {
      // The keys alone: walking to the position makes no entry, and only the key found is looked up.
      let index = random.int(live)
      for (const key of c.ks.keys()) {
        if (index-- > 0) continue
        if (c.ks.live(key, c.nowMs) !== undefined) return textResult(key)
        break
      }
    }
    let first: string | null = null
    c.ks.forEachLiveKey(c.nowMs, (key) => {
      first = key
      return true
    })
    return first === null ? NIL : textResult(first)
  },
}

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
]

const object: KvCall = {
  name: 'object',
  arity: -2,
  write: false,
  run(c, args) {
    const sub = keyword(args[0])
    if (sub === 'HELP' && args.length === 1) return arrayResult(OBJECT_HELP.map(textResult))
    if (!['ENCODING', 'REFCOUNT', 'IDLETIME', 'FREQ'].includes(sub) || args.length !== 2) {
      return errorResult(`unknown subcommand or wrong number of arguments for '${text(args[0]).slice(0, 128)}'. Try OBJECT HELP.`)
    }
    const entry = find(c, text(args[1]), false)
    if (entry === undefined) return NIL
    switch (sub) {
      case 'ENCODING': return { t: 'bulk', value: Buffer.from(encodingName(entry.value)) }
      case 'REFCOUNT': return intResult(1)
      // Access times are not kept (they would differ between replicas).
      case 'IDLETIME': return intResult(0)
      default: return errorResult('An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.')
    }
  },
}

export const keyspaceCalls: readonly KvCall[] = [keys, rename('rename', false), rename('renamenx', true), copy, touch, randomkey, object]
