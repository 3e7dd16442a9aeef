// Seeded random command sequences over every type, option and error case,
// for the differential test against redis-server. Keys come from small pools
// per type, so commands meet existing data; now and then a key of another
// type is used on purpose (WRONGTYPE). Lex-range commands get their own
// pool whose members all share one score (Redis leaves lex ranges over
// mixed scores unspecified). Deadlines are far away or already past, so no
// reply depends on how long a command took.
import { Prng } from '../../lib/util/prng.js'

export type Command = readonly string[]

const POOLS = {
  string: ['s0', 's1', 's2'],
  hash: ['h0', 'h1', 'h2'],
  list: ['l0', 'l1', 'l2'],
  set: ['t0', 't1', 't2'],
  zset: ['z0', 'z1', 'z2'],
  lex: ['x0', 'x1'],
} as const

type Pool = keyof typeof POOLS
// Every key but the lex pool: nothing else may write there, or its members would get mixed scores.
const ALL_KEYS = Object.entries(POOLS).filter(([pool]) => pool !== 'lex').flatMap(([, keys]) => keys)

export class CommandGen {
  private readonly r: Prng

  constructor(seed: number) {
    this.r = new Prng(seed)
  }

  private pick<T>(items: readonly T[]): T {
    return this.r.pick(items)
  }

  private int(lo: number, hi: number): number {
    return lo + this.r.int(hi - lo + 1)
  }

  /** A key of `pool`, or (rarely) any key: the WRONGTYPE cases. */
  key(pool: Pool): string {
    return this.r.chance(0.06) ? this.pick(ALL_KEYS) : this.pick(POOLS[pool])
  }

  /** Small integers (intsets), words, sometimes a long value (encoding switches), sometimes odd bytes. */
  value(): string {
    const roll = this.r.next()
    if (roll < 0.35) return String(this.int(-3, 20))
    if (roll < 0.75) return this.pick(['a', 'b', 'c', 'd', 'e', 'foo', 'bar', 'baz', 'A', ''])
    if (roll < 0.85) return 'v'.repeat(this.int(40, 90))
    if (roll < 0.92) return this.pick(['1.5', '-0.25', '3e2', '0x10', ' 1', '1 ', 'inf', '-inf', 'nan', '9223372036854775807', '-9223372036854775808', '9223372036854775808'])
    return String.fromCharCode(this.int(0, 255), this.int(0, 255))
  }

  private member(): string {
    return this.r.chance(0.5) ? String(this.int(0, 12)) : this.pick(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'm'.repeat(this.int(1, 70))])
  }

  private index(): string {
    return this.r.chance(0.9) ? String(this.int(-6, 6)) : this.pick(['x', '1.5', '-9223372036854775808', '9223372036854775807', ''])
  }

  private count(): string {
    return this.r.chance(0.9) ? String(this.int(-4, 6)) : this.pick(['x', '-9223372036854775808', '99999999999'])
  }

  private score(): string {
    return this.r.chance(0.85) ? this.pick(['0', '1', '2', '-1', '1.5', '0.1', '10', '3', '-2.5', '100']) : this.pick(['inf', '-inf', '+inf', 'nan', 'x', '1e400', '', '0.30000000000000004'])
  }

  private scoreBound(): string {
    const b = this.pick(['-inf', '+inf', '0', '1', '2', '(1', '(2', '1.5', '(0', '10', 'x', '(', ''])
    return b
  }

  private lexBound(): string {
    return this.pick(['-', '+', '[a', '(a', '[c', '(c', '[e', '[', '(', 'a', '+x', '[m'])
  }

  private scanOptions(): string[] {
    const out: string[] = []
    if (this.r.chance(0.3)) out.push('MATCH', this.pick(['*', 'a*', '1*', '[a-c]', '?']))
    if (this.r.chance(0.3)) out.push('COUNT', this.pick(['1', '5', '1000', '0', 'x']))
    if (this.r.chance(0.05)) out.push('BOGUS')
    return out
  }

  private times(n: number, make: () => string[]): string[] {
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push(...make())
    return out
  }

  string(): Command {
    const k = this.key('string')
    const v = this.value()
    const far = String(this.int(100, 10_000))
    switch (this.int(0, 33)) {
      case 0: return ['SET', k, v, ...this.pick([[], ['NX'], ['XX'], ['GET'], ['EX', far], ['PX', far + '000'], ['KEEPTTL'], ['EXAT', '1'], ['NX', 'GET'], ['EX', '0'], ['EX', 'x']])]
      case 1: return ['GET', k]
      case 2: return ['APPEND', k, v]
      case 3: return ['INCR', k]
      case 4: return ['INCRBY', k, this.count()]
      case 5: return ['INCRBYFLOAT', k, this.pick(['0.1', '0.2', '1.5', '-3', '1e3', '10.5', 'x', 'inf', '3.0e-5', '5.0e3'])]
      case 6: return ['SETEX', k, this.pick([far, '0', '-1', 'x']), v]
      case 7: return ['PSETEX', k, this.pick([far + '000', '0', 'x']), v]
      case 8: return ['GETEX', k, ...this.pick([[], ['PERSIST'], ['EX', far], ['PXAT', '1'], ['EX', '0'], ['EX'], ['PERSIST', 'EX', far], ['BOGUS']])]
      case 9: return ['GETSET', k, v]
      case 10: return ['MSETNX', k, v, this.key('string'), this.value()]
      case 11: return ['MSET', k, v, this.key('string'), this.value()]
      case 12: return ['MGET', k, this.key('string'), this.key('hash')]
      case 13: return [this.pick(['GETRANGE', 'SUBSTR']), k, this.index(), this.index()]
      case 14: return ['SETRANGE', k, this.pick(['0', '1', '3', '10', '-1', 'x']), v]
      case 15: return ['SETBIT', k, this.pick(['0', '1', '7', '9', '31', '-1', 'x', '4294967296']), this.pick(['0', '1', '2'])]
      case 16: return ['GETBIT', k, this.pick(['0', '1', '7', '9', '100', '-1'])]
      case 17: return ['BITCOUNT', k, ...this.pick([[], [this.index(), this.index()], [this.index(), this.index(), this.pick(['BIT', 'BYTE', 'bogus'])], ['1']])]
      case 18: return ['BITPOS', k, this.pick(['0', '1', '2']), ...this.pick([[], [this.index()], [this.index(), this.index()], [this.index(), this.index(), this.pick(['BIT', 'BYTE'])]])]
      case 19: return ['LCS', k, this.key('string'), ...this.pick([[], ['LEN'], ['IDX'], ['IDX', 'WITHMATCHLEN'], ['IDX', 'MINMATCHLEN', '2'], ['IDX', 'LEN'], ['BOGUS']])]
      case 20: return ['STRLEN', k]
      case 21: return ['GETDEL', k]
      case 22: return ['DECRBY', k, this.count()]
      case 23: return ['SETNX', k, v]
      case 24: return ['TYPE', this.pick(ALL_KEYS)]
      case 25: return ['EXISTS', this.pick(ALL_KEYS), this.pick(ALL_KEYS)]
      case 26: return ['DEL', this.pick(ALL_KEYS)]
      case 27: return [this.pick(['RENAME', 'RENAMENX']), this.pick(ALL_KEYS), this.pick(ALL_KEYS)]
      case 28: return ['COPY', this.pick(ALL_KEYS), this.pick(ALL_KEYS), ...this.pick([[], ['REPLACE'], ['DB', '0'], ['DB', 'x'], ['BOGUS']])]
      case 29: return ['TOUCH', this.pick(ALL_KEYS), this.pick(ALL_KEYS)]
      case 30: return ['OBJECT', 'ENCODING', this.pick(ALL_KEYS)]
      case 31: return ['EXPIRE', this.pick(ALL_KEYS), far, ...this.pick([[], ['NX'], ['XX'], ['GT'], ['LT']])]
      case 32: return [this.pick(['TTL', 'PERSIST', 'EXPIRETIME']), this.pick(ALL_KEYS)]
      default: return ['KEYS', this.pick(['*', 's*', '?0', '[hl]*'])]
    }
  }

  hash(): Command {
    const k = this.key('hash')
    const f = (): string => this.pick(['f1', 'f2', 'f3', 'f4', 'a', 'b', 'x'.repeat(this.int(1, 70))])
    switch (this.int(0, 16)) {
      case 0: return ['HSET', k, ...this.times(this.int(1, 3), () => [f(), this.value()]), ...(this.r.chance(0.05) ? ['odd'] : [])]
      case 1: return ['HSETNX', k, f(), this.value()]
      case 2: return ['HMSET', k, f(), this.value()]
      case 3: return ['HGET', k, f()]
      case 4: return ['HMGET', k, f(), f()]
      case 5: return ['HGETALL', k]
      case 6: return ['HDEL', k, f(), f()]
      case 7: return ['HEXISTS', k, f()]
      case 8: return ['HLEN', k]
      case 9: return ['HKEYS', k]
      case 10: return ['HVALS', k]
      case 11: return ['HSTRLEN', k, f()]
      case 12: return ['HINCRBY', k, f(), this.count()]
      case 13: return ['HINCRBYFLOAT', k, f(), this.pick(['0.1', '0.2', '-1.5', '1e2', 'x', 'inf'])]
      case 14: return ['HRANDFIELD', k, ...this.pick([[], [this.count()], [this.count(), 'WITHVALUES'], ['1', 'BOGUS']])]
      case 15: return ['HSCAN', k, this.pick(['0', '0', 'x']), ...this.scanOptions()]
      default: return ['HSET', k, ...this.times(this.int(200, 400), () => [String(this.int(0, 1500)), 'v'])]
    }
  }

  list(): Command {
    const k = this.key('list')
    switch (this.int(0, 17)) {
      case 0: return [this.pick(['LPUSH', 'RPUSH']), k, ...this.times(this.int(1, 4), () => [this.value()])]
      case 1: return [this.pick(['LPUSHX', 'RPUSHX']), k, this.value()]
      case 2: return [this.pick(['LPOP', 'RPOP']), k, ...this.pick([[], [], [this.count()], ['1', '2']])]
      case 3: return ['LLEN', k]
      case 4: return ['LRANGE', k, this.index(), this.index()]
      case 5: return ['LINDEX', k, this.index()]
      case 6: return ['LSET', k, this.index(), this.value()]
      case 7: return ['LREM', k, this.count(), this.value()]
      case 8: return ['LTRIM', k, this.index(), this.index()]
      case 9: return ['LINSERT', k, this.pick(['BEFORE', 'AFTER', 'MIDDLE']), this.value(), this.value()]
      case 10: return ['LPOS', k, this.value(), ...this.pick([[], ['RANK', this.pick(['1', '-1', '2', '0'])], ['COUNT', this.pick(['0', '2', '-1'])], ['MAXLEN', this.pick(['1', '3', '-1'])], ['RANK', '-2', 'COUNT', '0'], ['BOGUS', '1']])]
      case 11: return ['LMOVE', k, this.key('list'), this.pick(['LEFT', 'RIGHT']), this.pick(['LEFT', 'RIGHT', 'UP'])]
      case 12: return ['RPOPLPUSH', k, this.key('list')]
      case 13: return ['LMPOP', this.pick(['1', '2', '0', 'x', '5']), k, this.key('list'), this.pick(['LEFT', 'RIGHT', 'UP']), ...this.pick([[], ['COUNT', this.pick(['1', '3', '0', 'x'])], ['COUNT']])]
      case 14: return ['TYPE', k]
      case 15: return ['OBJECT', 'ENCODING', k]
      case 16: return ['RPUSH', k, ...this.times(this.int(1, 8), () => [this.member()])]
      default: return ['LRANGE', k, '0', '-1']
    }
  }

  set(): Command {
    const k = this.key('set')
    const m = (): string => this.member()
    switch (this.int(0, 18)) {
      case 0: return ['SADD', k, ...this.times(this.int(1, 4), () => [m()])]
      case 1: return ['SREM', k, m(), m()]
      case 2: return ['SMEMBERS', k]
      case 3: return ['SISMEMBER', k, m()]
      case 4: return ['SMISMEMBER', k, m(), m()]
      case 5: return ['SCARD', k]
      case 6: return ['SPOP', k, ...this.pick([[], [this.count()], ['1', '2']])]
      case 7: return ['SRANDMEMBER', k, ...this.pick([[], [this.count()], ['1', '2']])]
      case 8: return ['SMOVE', k, this.key('set'), m()]
      case 9: return [this.pick(['SINTER', 'SUNION', 'SDIFF']), k, this.key('set'), ...this.pick([[], [this.key('set')]])]
      case 10: return [this.pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), this.key('set'), k, this.key('set')]
      case 11: return ['SINTERCARD', this.pick(['1', '2', '0', '3', 'x']), k, this.key('set'), ...this.pick([[], ['LIMIT', this.pick(['0', '1', '-1', 'x'])], ['BOGUS']])]
      case 12: return ['SSCAN', k, this.pick(['0', '0', 'x']), ...this.scanOptions()]
      case 13: return ['OBJECT', 'ENCODING', k]
      case 14: return ['SADD', k, ...this.times(this.int(100, 600), () => [String(this.int(0, 1000))])]
      case 15: return ['SADD', k, 'notanint']
      case 16: return ['TYPE', k]
      default: return ['SMEMBERS', k]
    }
  }

  zset(): Command {
    const k = this.key('zset')
    const m = (): string => this.member()
    const lex = this.key('lex')
    switch (this.int(0, 27)) {
      case 0: return ['ZADD', k, ...this.pick([[], ['NX'], ['XX'], ['GT'], ['LT'], ['CH'], ['XX', 'CH'], ['GT', 'CH'], ['NX', 'XX'], ['GT', 'LT'], ['INCR'], ['NX', 'GT']]), ...this.times(this.int(1, 3), () => [this.score(), m()])]
      case 1: return ['ZINCRBY', k, this.score(), m()]
      case 2: return ['ZREM', k, m(), m()]
      case 3: return ['ZSCORE', k, m()]
      case 4: return ['ZMSCORE', k, m(), m()]
      case 5: return ['ZCARD', k]
      case 6: return ['ZCOUNT', k, this.scoreBound(), this.scoreBound()]
      case 7: return ['ZRANGE', k, this.index(), this.index(), ...this.pick([[], ['WITHSCORES'], ['REV'], ['REV', 'WITHSCORES'], ['LIMIT', '0', '1']])]
      case 8: return ['ZRANGE', k, this.scoreBound(), this.scoreBound(), 'BYSCORE', ...this.pick([[], ['WITHSCORES'], ['REV'], ['LIMIT', this.index(), this.count()], ['REV', 'LIMIT', '1', '2', 'WITHSCORES']])]
      case 9: return [this.pick(['ZRANGEBYSCORE', 'ZREVRANGEBYSCORE']), k, this.scoreBound(), this.scoreBound(), ...this.pick([[], ['WITHSCORES'], ['LIMIT', this.index(), this.count()], ['REV']])]
      case 10: return ['ZREVRANGE', k, this.index(), this.index(), ...this.pick([[], ['WITHSCORES']])]
      case 11: return [this.pick(['ZRANK', 'ZREVRANK']), k, m()]
      case 12: return [this.pick(['ZPOPMIN', 'ZPOPMAX']), k, ...this.pick([[], [this.count()], ['1', '2']])]
      case 13: return ['ZREMRANGEBYSCORE', k, this.scoreBound(), this.scoreBound()]
      case 14: return ['ZREMRANGEBYRANK', k, this.index(), this.index()]
      case 15: return [this.pick(['ZUNIONSTORE', 'ZINTERSTORE']), this.key('zset'), this.pick(['1', '2', '2', '0', '3']), k, this.key(this.r.chance(0.3) ? 'set' : 'zset'), ...this.pick([[], ['WEIGHTS', '2', '0.5'], ['AGGREGATE', this.pick(['MIN', 'MAX', 'SUM', 'AVG'])], ['WEIGHTS', 'x', '1'], ['WITHSCORES']])]
      case 16: return ['ZRANDMEMBER', k, ...this.pick([[], [this.count()], [this.count(), 'WITHSCORES'], ['1', 'BOGUS']])]
      case 17: return ['ZSCAN', k, this.pick(['0', '0', 'x']), ...this.scanOptions()]
      case 18: return ['ZADD', lex, ...this.times(this.int(1, 4), () => ['0', this.pick(['a', 'b', 'c', 'd', 'e', 'f', 'aa', 'ab'])])]
      case 19: return [this.pick(['ZRANGEBYLEX', 'ZREVRANGEBYLEX']), lex, this.lexBound(), this.lexBound(), ...this.pick([[], ['LIMIT', this.index(), this.count()]])]
      case 20: return ['ZLEXCOUNT', lex, this.lexBound(), this.lexBound()]
      case 21: return ['ZREMRANGEBYLEX', lex, this.lexBound(), this.lexBound()]
      case 22: return ['ZRANGE', lex, this.lexBound(), this.lexBound(), 'BYLEX', ...this.pick([[], ['REV'], ['LIMIT', '1', '2'], ['WITHSCORES']])]
      case 23: return ['OBJECT', 'ENCODING', k]
      case 24: return ['ZADD', k, ...this.times(this.int(100, 200), () => [String(this.int(0, 50)), String(this.int(0, 1000))])]
      case 25: return ['ZRANGE', k, '0', '-1', 'WITHSCORES']
      case 26: return ['TYPE', k]
      default: return ['ZADD', k, 'INCR', this.score(), m()]
    }
  }

  /** SCAN TYPE, with a COUNT that takes the whole keyspace in one page (page boundaries differ from Redis's). */
  scan(): Command {
    return ['SCAN', '0', 'TYPE', this.pick(['set', 'string', 'hash', 'zset', 'list', 'bogus']), 'COUNT', '100000']
  }

  /**
   * CONFIG SET of some encoding thresholds (by either name Redis knows them
   * by), small enough that the pools' collections cross them, so OBJECT
   * ENCODING is compared on both sides of each switch.
   */
  thresholds(): Command {
    const out = ['CONFIG', 'SET']
    const names = [
      ['hash-max-listpack-entries', 'hash-max-ziplist-entries', String(this.int(0, 6))],
      ['hash-max-listpack-value', 'hash-max-ziplist-value', this.pick([String(this.int(0, 70)), '1k'])],
      ['set-max-intset-entries', 'set-max-intset-entries', String(this.int(0, 6))],
      ['zset-max-listpack-entries', 'zset-max-ziplist-entries', String(this.int(0, 6))],
      ['zset-max-listpack-value', 'zset-max-ziplist-value', String(this.int(0, 70))],
      ['list-max-listpack-size', 'list-max-ziplist-size', String(this.int(-5, 8))],
    ] as const
    for (const [name, alias, value] of names) if (this.r.chance(0.6)) out.push(this.r.chance(0.5) ? name : alias, value)
    if (out.length === 2) out.push('set-max-intset-entries', String(this.int(0, 6)))
    return out
  }

  /** One command of any family. */
  command(): Command {
    const family = this.pick(['string', 'hash', 'list', 'set', 'zset'] as const)
    return this[family]()
  }

  /** A sequence: single commands, and now and then a MULTI/EXEC (with a WATCH before it). */
  sequence(length: number): Command[] {
    const out: Command[] = []
    if (this.r.chance(0.5)) out.push(this.thresholds())
    while (out.length < length) {
      if (this.r.chance(0.01)) out.push(this.thresholds())
      if (this.r.chance(0.08)) {
        const watched = this.pick(ALL_KEYS)
        if (this.r.chance(0.5)) out.push(['WATCH', watched])
        if (this.r.chance(0.3)) out.push(this.command())
        out.push(['MULTI'])
        // No SPOP inside: its different picks are reconciled between commands, not within a transaction.
        for (let i = this.int(1, 4); i > 0; i--) {
          let command = this.r.chance(0.05) ? this.scan() : this.command()
          while (command[0] === 'SPOP') command = this.command()
          out.push(command)
        }
        out.push([this.r.chance(0.9) ? 'EXEC' : 'DISCARD'])
      } else out.push(this.r.chance(0.02) ? this.scan() : this.command())
    }
    return out
  }
}
