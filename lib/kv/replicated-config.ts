// CONFIG parameters that change at run time, on every node, through the log
// (CONFIG SET is a write): `notify-keyspace-events`, which the change feeds
// read, and Redis's encoding thresholds, which decide the encoding OBJECT
// ENCODING names as Redis 7.0 decides it (values.ts, EncodingLimits; the
// list ones change nothing there: Redis 7.0 calls every list a quicklist).
// The old ziplist names are aliases of the listpack ones, as in Redis.
// `maxmemory-policy` accepts only `noeviction`: raftkv never evicts. The
// values set are state-machine state (in snapshots); a parameter never set
// reads as its default.

import { OK, arrayResult, errorResult, textResult, type KvOpResult } from './command.js'
import { text, type KvCall } from './call-context.js'
import { globMatch } from './glob.js'

/** Redis 7.0's defaults. */
export const REPLICATED_CONFIG_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ['notify-keyspace-events', ''],
  ['maxmemory-policy', 'noeviction'],
  ['hash-max-listpack-entries', '512'],
  ['hash-max-listpack-value', '64'],
  ['hash-max-ziplist-entries', '512'],
  ['hash-max-ziplist-value', '64'],
  ['set-max-intset-entries', '512'],
  ['zset-max-listpack-entries', '128'],
  ['zset-max-listpack-value', '64'],
  ['zset-max-ziplist-entries', '128'],
  ['zset-max-ziplist-value', '64'],
  ['list-max-listpack-size', '-2'],
  ['list-max-ziplist-size', '-2'],
  ['list-compress-depth', '0'],
])

/** Parameters that exist in Redis and have a meaning here, but are set through the node's environment. */
export const ENVIRONMENT_PARAMETERS = new Set(['maxclients', 'appendonly', 'appendfsync', 'save', 'databases', 'timeout', 'proto-max-bulk-len', 'client-query-buffer-limit', 'requirepass', 'port', 'bind', 'dir', 'cluster-enabled', 'protected-mode'])

const EVENT_FLAGS = 'g$lshzxetdnKEm'
const ALL_CLASSES = 'g$lshzxetd'

/** keyspaceEventsStringToFlags then FlagsToString: the canonical text, or null for an invalid character. */
export function normalizeKeyspaceEvents(value: string): string | null {
  const flags = new Set<string>()
  for (const ch of value) {
    if (ch === 'A') for (const c of ALL_CLASSES) flags.add(c)
    else if (EVENT_FLAGS.includes(ch)) flags.add(ch)
    else return null
  }
  let out = [...ALL_CLASSES].every((c) => flags.has(c)) ? 'A' : [...'g$lshzxetdn'].filter((c) => flags.has(c)).join('')
  for (const c of 'KEm') if (flags.has(c)) out += c
  return out
}

/** Each alias and the parameter it names (Redis 7 renamed ziplist to listpack), both ways. */
const ALIASES: ReadonlyMap<string, string> = new Map(
  ['hash-max-listpack-entries', 'hash-max-listpack-value', 'zset-max-listpack-entries', 'zset-max-listpack-value', 'list-max-listpack-size']
    .flatMap((name) => [[name, name.replace('listpack', 'ziplist')], [name.replace('listpack', 'ziplist'), name]] as [string, string][]),
)

/** Integer parameters' ranges and the text Redis gives when a value falls outside. */
const INT_RANGES: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['list-max-listpack-size', [-2147483648, 2147483647]],
  ['list-max-ziplist-size', [-2147483648, 2147483647]],
  ['list-compress-depth', [0, 2147483647]],
])
const SIZE_MAX_TEXT = '9223372036854775807'

/** memtoull's units, for the *-value parameters (Redis's MEMORY_CONFIG): k is 1000, kb 1024, and so on. */
const MEMORY_UNITS: ReadonlyMap<string, number> = new Map([['', 1], ['b', 1], ['k', 1e3], ['kb', 1024], ['m', 1e6], ['mb', 1024 ** 2], ['g', 1e9], ['gb', 1024 ** 3]])

/** The integer a threshold's text stands for, or null when Redis could not parse it. */
function parseThreshold(name: string, value: string): number | null {
  const match = /^(-?[0-9]{1,18})([a-z]*)$/i.exec(value)
  if (match === null) return null
  const unit = name.endsWith('-value') ? MEMORY_UNITS.get((match[2] as string).toLowerCase()) : match[2] === '' ? 1 : undefined
  return unit === undefined ? null : Number(match[1]) * unit
}

function failed(name: string, why: string): KvOpResult {
  return errorResult(`CONFIG SET failed (possibly related to argument '${name}') - ${why}`)
}

/** The value to store for `name`, or the error reply. */
function validate(name: string, value: string): string | KvOpResult {
  if (name === 'notify-keyspace-events') {
    return normalizeKeyspaceEvents(value) ?? failed(name, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
  }
  if (name === 'maxmemory-policy') {
    const policies = ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction']
    const policy = value.toLowerCase()
    if (!policies.includes(policy)) return failed(name, `argument(s) must be one of the following: ${policies.join(', ')}`)
    if (policy !== 'noeviction') return failed(name, 'raftkv never evicts keys: only noeviction is supported')
    return policy
  }
  const n = parseThreshold(name, value)
  if (n === null) return failed(name, "argument couldn't be parsed into an integer")
  const range = INT_RANGES.get(name)
  if (range !== undefined && (n < range[0] || n > range[1])) return failed(name, `argument must be between ${range[0]} and ${range[1]} inclusive`)
  if (range === undefined && n < 0) return failed(name, `argument must be between 0 and ${SIZE_MAX_TEXT} inclusive`)
  return String(n)
}

/** CONFIG SET name value [name value …], all or nothing (args are the pairs). */
const configSet: KvCall = {
  name: 'config-set',
  arity: -3,
  write: true,
  run(c, args) {
    if (args.length % 2 !== 0) return errorResult("wrong number of arguments for 'config|set' command")
    const updates = new Map<string, string>()
    for (let i = 0; i < args.length; i += 2) {
      const name = text(args[i]).toLowerCase()
      if (updates.has(name)) return errorResult(`CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`)
      if (!REPLICATED_CONFIG_DEFAULTS.has(name)) {
        if (ENVIRONMENT_PARAMETERS.has(name)) return errorResult(`CONFIG SET '${name}' is not supported: raftkv takes it from the node's environment (see the README)`)
        return errorResult(`Unknown option or number of arguments for CONFIG SET - '${name.slice(0, 128)}'`)
      }
      const value = validate(name, text(args[i + 1]))
      if (typeof value !== 'string') return value
      updates.set(name, value)
    }
    for (const [name, value] of updates) {
      c.ks.setConfig(name, value)
      const alias = ALIASES.get(name)
      if (alias !== undefined) c.ks.setConfig(alias, value)
    }
    return OK
  },
}

/** The replicated parameters matching any of the patterns, as name/value pairs. */
const configGet: KvCall = {
  name: 'config-get',
  arity: -2,
  write: false,
  run(c, args) {
    const items: KvOpResult[] = []
    for (const [name, fallback] of REPLICATED_CONFIG_DEFAULTS) {
      if (!args.some((p) => globMatch(text(p).toLowerCase(), name))) continue
      items.push(textResult(name), textResult(c.ks.config.get(name) ?? fallback))
    }
    return arrayResult(items)
  },
}

export const configCalls: readonly KvCall[] = [configSet, configGet]
