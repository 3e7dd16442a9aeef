import t from 'tap'
import { Keyspace } from '../../lib/kv/keyspace.js'
import { VALUE_BYTES_MAX, applyOp } from '../../lib/kv/ops.js'
import { Driver, T0, b, get, plain, set } from './fixtures/driver.js'

const ERR_INT = { error: 'ERR value is not an integer or out of range' }
const ERR_OVERFLOW = { error: 'ERR increment or decrement would overflow' }

t.test('SET then GET returns the value', async (t) => {
  const d = new Driver()
  t.same(plain(d.one(set('k', 'v'))), 'ok')
  t.same(plain(d.one(get('k'))), { bulk: 'v' })
  t.same(plain(d.one(get('missing'))), 'nil')
})

t.test('keys and values are binary-safe', async (t) => {
  const d = new Driver()
  const key = Buffer.from([0, 255, 13, 10, 0xc3, 0x28])
  const value = Buffer.from([0, 1, 2, 255, 254, 0])
  d.one({ t: 'set', key, value, condition: 'always', expiry: { t: 'none' }, get: false })
  const r = d.one({ t: 'get', key })
  t.ok(r.t === 'bulk' && r.value.equals(value))
  t.same(plain(d.one({ t: 'get', key: key.subarray(0, 5) })), 'nil')
})

t.test('SET NX writes only when absent and XX only when present', async (t) => {
  const d = new Driver()
  t.same(plain(d.one(set('k', 'a', { condition: 'xx' }))), 'nil')
  t.same(plain(d.one(set('k', 'a', { condition: 'nx' }))), 'ok')
  t.same(plain(d.one(set('k', 'b', { condition: 'nx' }))), 'nil')
  t.same(plain(d.one(set('k', 'c', { condition: 'xx' }))), 'ok')
  t.same(plain(d.one(get('k'))), { bulk: 'c' })
})

t.test('SET GET answers the old value, also when NX prevents the write', async (t) => {
  const d = new Driver()
  t.same(plain(d.one(set('k', 'a', { get: true }))), 'nil')
  t.same(plain(d.one(set('k', 'b', { get: true }))), { bulk: 'a' })
  t.same(plain(d.one(set('k', 'c', { get: true, condition: 'nx' }))), { bulk: 'b' })
  t.same(plain(d.one(get('k'))), { bulk: 'b' })
})

t.test('SET with a non-positive or overflowing expire is the Redis error', async (t) => {
  const d = new Driver()
  const msg = { error: "ERR invalid expire time in 'set' command" }
  t.same(plain(d.one(set('k', 'v', { expiry: { t: 'relative', unit: 'seconds', amount: 0n } }))), msg)
  t.same(plain(d.one(set('k', 'v', { expiry: { t: 'relative', unit: 'milliseconds', amount: -5n } }))), msg)
  t.same(plain(d.one(set('k', 'v', { expiry: { t: 'relative', unit: 'seconds', amount: 2n ** 62n } }))), msg)
  t.same(plain(d.one(set('k', 'v', { expiry: { t: 'relative', unit: 'milliseconds', amount: 2n ** 63n - 1n } }))), msg)
  t.same(plain(d.one(get('k'))), 'nil')
})

t.test('SET without KEEPTTL clears the deadline and with KEEPTTL keeps it', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', { expiry: { t: 'relative', unit: 'seconds', amount: 100n } }))
  d.one(set('k', 'w', { expiry: { t: 'keepTtl' } }))
  t.same(plain(d.one({ t: 'ttl', key: b('k'), unit: 'seconds' })), { int: 100 })
  d.one(set('k', 'x'))
  t.same(plain(d.one({ t: 'ttl', key: b('k'), unit: 'seconds' })), { int: -1 })
})

t.test('SET with EXAT in the past leaves no key', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one(set('k', 'w', { expiry: { t: 'absolute', unit: 'seconds', amount: 1n } }))), 'ok')
  t.same(plain(d.one(get('k'))), 'nil')
  t.same(plain(d.one({ t: 'dbsize' })), { int: 0 })
})

t.test('SETNX answers 1 when it sets and 0 otherwise', async (t) => {
  const d = new Driver()
  t.same(plain(d.one({ t: 'setnx', key: b('k'), value: b('a') })), { int: 1 })
  t.same(plain(d.one({ t: 'setnx', key: b('k'), value: b('b') })), { int: 0 })
  t.same(plain(d.one(get('k'))), { bulk: 'a' })
})

t.test('GETDEL returns the value and removes the key', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one({ t: 'getdel', key: b('k') })), { bulk: 'v' })
  t.same(plain(d.one({ t: 'getdel', key: b('k') })), 'nil')
})

t.test('DEL counts the keys it removed, once per key', async (t) => {
  const d = new Driver()
  d.one(set('a', '1'))
  d.one(set('b', '2'))
  t.same(plain(d.one({ t: 'del', keys: [b('a'), b('b'), b('a'), b('c')] })), { int: 2 })
})

t.test('EXISTS counts every occurrence of a present key', async (t) => {
  const d = new Driver()
  d.one(set('a', '1'))
  t.same(plain(d.one({ t: 'exists', keys: [b('a'), b('a'), b('z')] })), { int: 2 })
})

t.test('INCR family counts from zero and returns the new value', async (t) => {
  const d = new Driver()
  t.same(plain(d.one({ t: 'incrby', key: b('n'), delta: 1n })), { int: 1 })
  t.same(plain(d.one({ t: 'incrby', key: b('n'), delta: 10n })), { int: 11 })
  t.same(plain(d.one({ t: 'incrby', key: b('n'), delta: -20n })), { int: -9 })
  t.same(plain(d.one(get('n'))), { bulk: '-9' })
})

t.test('INCR on a non-integer value is the Redis error', async (t) => {
  const d = new Driver()
  for (const v of ['abc', '1.5', ' 1', '01', '+1', '-0', '', '99999999999999999999']) {
    d.one(set('k', v))
    t.same(plain(d.one({ t: 'incrby', key: b('k'), delta: 1n })), ERR_INT, JSON.stringify(v))
  }
})

t.test('INCR past signed 64 bits is the overflow error and changes nothing', async (t) => {
  const d = new Driver()
  d.one(set('k', '9223372036854775807'))
  t.same(plain(d.one({ t: 'incrby', key: b('k'), delta: 1n })), ERR_OVERFLOW)
  d.one(set('m', '-9223372036854775808'))
  t.same(plain(d.one({ t: 'incrby', key: b('m'), delta: -1n })), ERR_OVERFLOW)
  t.same(plain(d.one(get('k'))), { bulk: '9223372036854775807' })
  const r = d.one({ t: 'incrby', key: b('m'), delta: 0n })
  t.ok(r.t === 'int' && r.value === -(2n ** 63n), 'full 64-bit precision')
})

t.test('INCR keeps the key deadline', async (t) => {
  const d = new Driver()
  d.one(set('n', '5', { expiry: { t: 'relative', unit: 'seconds', amount: 50n } }))
  d.one({ t: 'incrby', key: b('n'), delta: 1n })
  t.same(plain(d.one({ t: 'ttl', key: b('n'), unit: 'seconds' })), { int: 50 })
})

t.test('APPEND creates or extends and answers the new length', async (t) => {
  const d = new Driver()
  t.same(plain(d.one({ t: 'append', key: b('k'), value: b('ab') })), { int: 2 })
  t.same(plain(d.one({ t: 'append', key: b('k'), value: b('cde') })), { int: 5 })
  t.same(plain(d.one(get('k'))), { bulk: 'abcde' })
})

t.test('APPEND beyond proto-max-bulk-len is the Redis error', async (t) => {
  const ks = new Keyspace()
  applyOp(ks, set('k', 'x'), T0)
  // Applied directly: an envelope would copy the half-gigabyte; allocUnsafeSlow leaves its pages untouched.
  const big = Buffer.allocUnsafeSlow(VALUE_BYTES_MAX)
  t.same(plain(applyOp(ks, { t: 'append', key: b('k'), value: big }, T0)), { error: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)' })
  t.equal(ks.live('k', T0)?.value, 'x')
})

t.test('STRLEN answers the length or 0', async (t) => {
  const d = new Driver()
  d.one(set('k', 'hello'))
  t.same(plain(d.one({ t: 'strlen', key: b('k') })), { int: 5 })
  t.same(plain(d.one({ t: 'strlen', key: b('none') })), { int: 0 })
})

t.test('MSET sets all pairs and MGET answers nil for missing keys', async (t) => {
  const d = new Driver()
  t.same(plain(d.one({ t: 'mset', pairs: [{ key: b('a'), value: b('1') }, { key: b('b'), value: b('2') }] })), 'ok')
  t.same(plain(d.one({ t: 'mget', keys: [b('a'), b('x'), b('b')] })), { array: [{ bulk: '1' }, 'nil', { bulk: '2' }] })
})

t.test('TYPE answers string or none', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one({ t: 'type', key: b('k') })), { status: 'string' })
  t.same(plain(d.one({ t: 'type', key: b('q') })), { status: 'none' })
})

t.test('DBSIZE and FLUSHALL', async (t) => {
  const d = new Driver()
  d.one(set('a', '1'))
  d.one(set('b', '1'))
  t.same(plain(d.one({ t: 'dbsize' })), { int: 2 })
  t.same(plain(d.one({ t: 'flushall' })), 'ok')
  t.same(plain(d.one({ t: 'dbsize' })), { int: 0 })
})

t.test('read answers read-only ops locally and refuses writes', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.sm.read(get('k'), T0)), { bulk: 'v' })
  t.ok(d.sm.isReadOnly(get('k')))
  t.notOk(d.sm.isReadOnly(set('k', 'v')))
  t.throws(() => d.sm.read(set('k', 'v'), T0))
})

t.test('MULTI applies every op in one entry, errors included, in order', async (t) => {
  const d = new Driver()
  const r = d.write([set('a', 'x'), { t: 'incrby', key: b('a'), delta: 1n }, set('b', '2'), get('b')])
  t.equal(r.t, 'results')
  if (r.t === 'results') t.same(r.results.map(plain), ['ok', ERR_INT, 'ok', { bulk: '2' }])
})
