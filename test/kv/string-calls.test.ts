// The string and bitmap calls of lib/kv/string-calls.ts, applied as entries
// to one state machine. Every expected reply below is what redis-server
// 7.0.15 answered to the same commands (the examples of redis.io's pages);
// the differential test (test/redis-diff) compares them at random on a real
// cluster, this file pins them where coverage is measured.
import t from 'tap'
import type { KvOp } from '../../lib/kv/command.js'
import { Driver, b, plain, set } from './fixtures/driver.js'

const call = (name: string, ...args: string[]): KvOp => ({ t: 'call', name, args: args.map(b), seed: 0 })

function run(d: Driver, name: string, ...args: string[]): unknown {
  return plain(d.one(call(name, ...args)))
}

t.test('SETRANGE overwrites in place and pads a new key with zero bytes', async (t) => {
  const d = new Driver()
  d.one(set('s', 'Hello World'))
  t.same(run(d, 'setrange', 's', '6', 'Redis'), { int: 11 })
  t.same(plain(d.one({ t: 'get', key: b('s') })), { bulk: 'Hello Redis' })
  t.same(run(d, 'setrange', 's2', '5', 'x'), { int: 6 })
  t.same(plain(d.one({ t: 'get', key: b('s2') })), { bulk: '\0\0\0\0\0x' })
})

t.test('SETBIT answers the previous bit and GETBIT reads past the end as 0', async (t) => {
  const d = new Driver()
  t.same(run(d, 'setbit', 'bits', '7', '1'), { int: 0 })
  t.same(run(d, 'setbit', 'bits', '7', '0'), { int: 1 })
  t.same(run(d, 'getbit', 'bits', '7'), { int: 0 })
  t.same(run(d, 'getbit', 'bits', '100'), { int: 0 })
  t.match(run(d, 'setbit', 'bits', '4294967296', '1'), { error: /bit offset is not an integer or out of range/ })
})

t.test('BITCOUNT counts by byte or bit ranges, BITPOS finds the first bit', async (t) => {
  const d = new Driver()
  d.one(set('foo', 'foobar'))
  t.same(run(d, 'bitcount', 'foo'), { int: 26 })
  t.same(run(d, 'bitcount', 'foo', '0', '0'), { int: 4 })
  t.same(run(d, 'bitcount', 'foo', '1', '1'), { int: 6 })
  t.same(run(d, 'bitcount', 'foo', '5', '30', 'BIT'), { int: 17 })
  t.match(run(d, 'bitcount', 'foo', '0', '-1', 'x'), { error: /syntax error/ })
  t.same(run(d, 'bitpos', 'foo', '1'), { int: 1 })
  t.same(run(d, 'bitpos', 'foo', '0'), { int: 0 })
  t.same(run(d, 'bitpos', 'foo', '1', '2'), { int: 17 })
  t.same(run(d, 'bitpos', 'foo', '1', '2', '-1', 'BYTE'), { int: 17 })
  t.same(run(d, 'bitpos', 'foo', '1', '7', '15', 'BIT'), { int: 9 })
})

t.test('LCS answers the subsequence, its length, or the matches with their lengths', async (t) => {
  const d = new Driver()
  d.one(set('key1', 'ohmytext'))
  d.one(set('key2', 'mynewtext'))
  t.same(run(d, 'lcs', 'key1', 'key2'), { bulk: 'mytext' })
  t.same(run(d, 'lcs', 'key1', 'key2', 'LEN'), { int: 6 })
  t.same(run(d, 'lcs', 'key1', 'key2', 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN'), {
    array: [{ bulk: 'matches' }, { array: [{ array: [{ array: [{ int: 4 }, { int: 7 }] }, { array: [{ int: 5 }, { int: 8 }] }, { int: 4 }] }] }, { bulk: 'len' }, { int: 6 }],
  })
})

t.test('INCRBYFLOAT, GETSET and MSETNX answer as Redis does', async (t) => {
  const d = new Driver()
  d.one(set('f', '10.50'))
  t.same(run(d, 'incrbyfloat', 'f', '0.1'), { bulk: '10.6' })
  t.same(run(d, 'incrbyfloat', 'f', '-5'), { bulk: '5.6' })
  d.one(set('g', '5.0e3'))
  t.same(run(d, 'incrbyfloat', 'g', '2.0e2'), { bulk: '5200' })
  t.same(run(d, 'getset', 'f', 'new'), { bulk: '5.6' })
  t.same(run(d, 'msetnx', 'a', '1', 'b', '2'), { int: 1 })
  t.same(run(d, 'msetnx', 'b', '3', 'c', '4'), { int: 0 })
  t.same(plain(d.one({ t: 'get', key: b('c') })), plain(d.one({ t: 'get', key: b('never-set') })), 'c was not set')
})
