// The string and keyspace commands: each parses its arguments into one KvOp.
// Argument errors that Redis finds before touching the keyspace (syntax,
// non-integers) are answered here; everything that depends on the data
// (WRONGTYPE, overflow, invalid expire times) comes back from the state machine.
import type { KvExpireCondition, KvOp, KvPair, KvSetCondition, KvSetExpiry, KvTimeUnit } from '../../kv/command.js'
import { MSG_DECRBY_OVERFLOW, MSG_NOT_INTEGER } from '../../kv/errors.js'
import type { CommandFlag, CommandGroup, KvCommandSpec } from './command-types.js'
import { errorReply, type Reply } from './reply-writer.js'

const syntaxError = errorReply('ERR syntax error')
const notInteger = errorReply(`ERR ${MSG_NOT_INTEGER}`)
const int64Min = -(2n ** 63n)
const int64Max = 2n ** 63n - 1n

/** Redis' string2ll: an optional '-', no leading zeros or '+', within 64 bits. */
export function parseInt64(value: Buffer): bigint | null {
  if (value.length === 0 || value.length > 20) return null
  const text = value.toString('latin1')
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return null
  const parsed = BigInt(text)
  return parsed < int64Min || parsed > int64Max ? null : parsed
}

function upper(value: Buffer): string {
  return value.length > 16 ? '' : value.toString('latin1').toUpperCase()
}

interface KvSpecInput {
  readonly arity: number
  readonly flags: readonly CommandFlag[]
  readonly keys: readonly [number, number, number]
  readonly summary: string
  readonly since: string
  readonly group?: CommandGroup
  toOp(args: readonly Buffer[]): KvOp | Reply
}

function spec(name: string, kind: 'read' | 'write', input: KvSpecInput): KvCommandSpec {
  const [firstKey, lastKey, keyStep] = input.keys
  return {
    name,
    kind,
    arity: input.arity,
    flags: input.flags,
    firstKey,
    lastKey,
    keyStep,
    group: input.group ?? 'string',
    summary: input.summary,
    since: input.since,
    toOp: input.toOp,
  }
}

const arg = (args: readonly Buffer[], index: number): Buffer => args[index] as Buffer

/** Shared by every SET without an expiry option (nothing writes to an op's fields). */
const noExpiry: KvSetExpiry = Object.freeze({ t: 'none' })

function parseSet(args: readonly Buffer[]): KvOp | Reply {
  let condition: KvSetCondition = 'always'
  let expiry: KvSetExpiry = noExpiry
  let get = false
  for (let i = 3; i < args.length; i++) {
    const option = upper(arg(args, i))
    const hasNext = i + 1 < args.length
    if (option === 'NX' && condition === 'always') condition = 'nx'
    else if (option === 'XX' && condition === 'always') condition = 'xx'
    else if (option === 'GET' && !get) get = true
    else if (option === 'KEEPTTL' && expiry.t === 'none') expiry = { t: 'keepTtl' }
    else if ((option === 'EX' || option === 'PX' || option === 'EXAT' || option === 'PXAT') && expiry.t === 'none' && hasNext) {
      const amount = parseInt64(arg(args, ++i))
      if (amount === null) return notInteger
      const unit: KvTimeUnit = option.startsWith('P') ? 'milliseconds' : 'seconds'
      expiry = option.endsWith('AT') ? { t: 'absolute', unit, amount } : { t: 'relative', unit, amount }
    } else return syntaxError
  }
  return { t: 'set', key: arg(args, 1), value: arg(args, 2), condition, expiry, get }
}

function parseExpire(base: 'relative' | 'absolute', unit: KvTimeUnit) {
  return (args: readonly Buffer[]): KvOp | Reply => {
    const amount = parseInt64(arg(args, 2))
    if (amount === null) return notInteger
    let condition: KvExpireCondition = 'always'
    const seen = new Set<string>()
    for (let i = 3; i < args.length; i++) {
      const option = upper(arg(args, i))
      if (option !== 'NX' && option !== 'XX' && option !== 'GT' && option !== 'LT') {
        return errorReply(`ERR Unsupported option ${arg(args, i).subarray(0, 128).toString()}`)
      }
      seen.add(option)
      condition = option.toLowerCase() as KvExpireCondition
    }
    if (seen.has('NX') && seen.size > 1) {
      return errorReply('ERR NX and XX, GT or LT options at the same time are not compatible')
    }
    if (seen.has('GT') && seen.has('LT')) return errorReply('ERR GT and LT options at the same time are not compatible')
    // XX with GT or LT: both must hold. GT already fails on a key without a
    // deadline, so XX GT is GT; LT sets one there, so XX LT needs its own condition.
    if (seen.has('XX') && seen.size > 1) condition = seen.has('GT') ? 'gt' : 'xxlt'
    return { t: 'expire', key: arg(args, 1), base, unit, amount, condition }
  }
}

function incrBy(sign: 1n | -1n, fixed: bigint | null) {
  return (args: readonly Buffer[]): KvOp | Reply => {
    const amount = fixed ?? parseInt64(arg(args, 2))
    if (amount === null) return notInteger
    if (sign === -1n && amount === int64Min) return errorReply(`ERR ${MSG_DECRBY_OVERFLOW}`)
    return { t: 'incrby', key: arg(args, 1), delta: sign * amount }
  }
}

function pairs(args: readonly Buffer[]): KvPair[] | null {
  if ((args.length - 1) % 2 !== 0) return null
  const result: KvPair[] = []
  for (let i = 1; i < args.length; i += 2) result.push({ key: arg(args, i), value: arg(args, i + 1) })
  return result
}

const readFast: CommandFlag[] = ['readonly', 'fast']
const writeFast: CommandFlag[] = ['write', 'fast']

/** Every command that becomes a KvOp. */
export const kvCommands: readonly KvCommandSpec[] = [
  spec('get', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], summary: 'Returns the string value of a key.', since: '1.0.0', toOp: (a) => ({ t: 'get', key: arg(a, 1) }) }),
  spec('set', 'write', { arity: -3, flags: ['write'], keys: [1, 1, 1], summary: 'Sets the string value of a key, ignoring its type. The key is created if it does not exist.', since: '1.0.0', toOp: parseSet }),
  spec('setnx', 'write', { arity: 3, flags: writeFast, keys: [1, 1, 1], summary: 'Set the string value of a key only when the key does not exist.', since: '1.0.0', toOp: (a) => ({ t: 'setnx', key: arg(a, 1), value: arg(a, 2) }) }),
  spec('getdel', 'write', { arity: 2, flags: writeFast, keys: [1, 1, 1], summary: 'Returns the string value of a key after deleting the key.', since: '6.2.0', toOp: (a) => ({ t: 'getdel', key: arg(a, 1) }) }),
  spec('del', 'write', { arity: -2, flags: ['write'], keys: [1, -1, 1], group: 'generic', summary: 'Deletes one or more keys.', since: '1.0.0', toOp: (a) => ({ t: 'del', keys: a.slice(1) }) }),
  spec('unlink', 'write', { arity: -2, flags: writeFast, keys: [1, -1, 1], group: 'generic', summary: 'Deletes one or more keys.', since: '4.0.0', toOp: (a) => ({ t: 'del', keys: a.slice(1) }) }),
  spec('exists', 'read', { arity: -2, flags: readFast, keys: [1, -1, 1], group: 'generic', summary: 'Determines whether one or more keys exist.', since: '1.0.0', toOp: (a) => ({ t: 'exists', keys: a.slice(1) }) }),
  spec('incr', 'write', { arity: 2, flags: writeFast, keys: [1, 1, 1], summary: 'Increments the integer value of a key by one.', since: '1.0.0', toOp: incrBy(1n, 1n) }),
  spec('decr', 'write', { arity: 2, flags: writeFast, keys: [1, 1, 1], summary: 'Decrements the integer value of a key by one.', since: '1.0.0', toOp: incrBy(-1n, 1n) }),
  spec('incrby', 'write', { arity: 3, flags: writeFast, keys: [1, 1, 1], summary: 'Increments the integer value of a key by a number.', since: '1.0.0', toOp: incrBy(1n, null) }),
  spec('decrby', 'write', { arity: 3, flags: writeFast, keys: [1, 1, 1], summary: 'Decrements a number from the integer value of a key.', since: '1.0.0', toOp: incrBy(-1n, null) }),
  spec('append', 'write', { arity: 3, flags: writeFast, keys: [1, 1, 1], summary: 'Appends a string to the value of a key. Creates the key if it does not exist.', since: '2.0.0', toOp: (a) => ({ t: 'append', key: arg(a, 1), value: arg(a, 2) }) }),
  spec('strlen', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], summary: 'Returns the length of a string value.', since: '2.2.0', toOp: (a) => ({ t: 'strlen', key: arg(a, 1) }) }),
  spec('mget', 'read', { arity: -2, flags: readFast, keys: [1, -1, 1], summary: 'Atomically returns the string values of one or more keys.', since: '1.0.0', toOp: (a) => ({ t: 'mget', keys: a.slice(1) }) }),
  spec('mset', 'write', {
    arity: -3,
    flags: ['write'],
    keys: [1, -1, 2],
    summary: 'Atomically creates or modifies the string values of one or more keys.',
    since: '1.0.1',
    toOp: (a) => {
      const list = pairs(a)
      return list === null ? errorReply("ERR wrong number of arguments for 'mset' command") : { t: 'mset', pairs: list }
    },
  }),
  spec('expire', 'write', { arity: -3, flags: writeFast, keys: [1, 1, 1], group: 'generic', summary: "Sets the expiration time of a key in seconds.", since: '1.0.0', toOp: parseExpire('relative', 'seconds') }),
  spec('pexpire', 'write', { arity: -3, flags: writeFast, keys: [1, 1, 1], group: 'generic', summary: "Sets the expiration time of a key in milliseconds.", since: '2.6.0', toOp: parseExpire('relative', 'milliseconds') }),
  spec('expireat', 'write', { arity: -3, flags: writeFast, keys: [1, 1, 1], group: 'generic', summary: 'Sets the expiration time of a key to a Unix timestamp.', since: '1.2.0', toOp: parseExpire('absolute', 'seconds') }),
  spec('pexpireat', 'write', { arity: -3, flags: writeFast, keys: [1, 1, 1], group: 'generic', summary: 'Sets the expiration time of a key to a Unix milliseconds timestamp.', since: '2.6.0', toOp: parseExpire('absolute', 'milliseconds') }),
  spec('ttl', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], group: 'generic', summary: 'Returns the expiration time in seconds of a key.', since: '1.0.0', toOp: (a) => ({ t: 'ttl', key: arg(a, 1), unit: 'seconds' }) }),
  spec('pttl', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], group: 'generic', summary: 'Returns the expiration time in milliseconds of a key.', since: '2.6.0', toOp: (a) => ({ t: 'ttl', key: arg(a, 1), unit: 'milliseconds' }) }),
  spec('expiretime', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], group: 'generic', summary: 'Returns the expiration time of a key as a Unix timestamp.', since: '7.0.0', toOp: (a) => ({ t: 'expiretime', key: arg(a, 1), unit: 'seconds' }) }),
  spec('pexpiretime', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], group: 'generic', summary: 'Returns the expiration time of a key as a Unix milliseconds timestamp.', since: '7.0.0', toOp: (a) => ({ t: 'expiretime', key: arg(a, 1), unit: 'milliseconds' }) }),
  spec('persist', 'write', { arity: 2, flags: writeFast, keys: [1, 1, 1], group: 'generic', summary: 'Removes the expiration time of a key.', since: '2.2.0', toOp: (a) => ({ t: 'persist', key: arg(a, 1) }) }),
  spec('type', 'read', { arity: 2, flags: readFast, keys: [1, 1, 1], group: 'generic', summary: 'Determines the type of value stored at a key.', since: '1.0.0', toOp: (a) => ({ t: 'type', key: arg(a, 1) }) }),
  spec('dbsize', 'read', { arity: 1, flags: readFast, keys: [0, 0, 0], group: 'server', summary: 'Returns the number of keys in the database.', since: '1.0.0', toOp: () => ({ t: 'dbsize' }) }),
  spec('flushall', 'write', { arity: -1, flags: ['write'], keys: [0, 0, 0], group: 'server', summary: 'Removes all keys from all databases.', since: '1.0.0', toOp: flushOp }),
  spec('flushdb', 'write', { arity: -1, flags: ['write'], keys: [0, 0, 0], group: 'server', summary: 'Remove all keys from the current database.', since: '1.0.0', toOp: flushOp }),
]

function flushOp(args: readonly Buffer[]): KvOp | Reply {
  if (args.length > 2) return syntaxError
  if (args.length === 2 && upper(arg(args, 1)) !== 'SYNC' && upper(arg(args, 1)) !== 'ASYNC') return syntaxError
  return { t: 'flushall' }
}

/** SCAN's arguments; the connection runs it through backend.scan. */
export interface ScanRequest {
  readonly cursor: string
  readonly match: Buffer | null
  readonly count: number
  /** TYPE filter: null for none; anything but "string" matches nothing here. */
  readonly type: string | null
}

export function parseScan(args: readonly Buffer[]): ScanRequest | Reply {
  const cursorArg = arg(args, 1)
  if (cursorArg.length > 64) return errorReply('ERR invalid cursor')
  let match: Buffer | null = null
  let count = 10
  let type: string | null = null
  for (let i = 2; i < args.length; i++) {
    const option = upper(arg(args, i))
    if (i + 1 >= args.length) return syntaxError
    const value = arg(args, ++i)
    if (option === 'MATCH') match = value
    else if (option === 'COUNT') {
      const parsed = parseInt64(value)
      if (parsed === null) return notInteger
      if (parsed < 1n) return syntaxError
      count = parsed > 100_000n ? 100_000 : Number(parsed)
    } else if (option === 'TYPE') type = value.toString('latin1').toLowerCase()
    else return syntaxError
  }
  if (match !== null && match.length === 1 && match[0] === 42) match = null
  return { cursor: cursorArg.toString('latin1'), match, count, type }
}
