import t from 'tap'
import type { KvOp } from '../../lib/kv/command.js'
import { encodeEnvelope } from '../../lib/kv/command-codec.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Prng } from '../../lib/util/prng.js'
import { Driver, T0, b, get, plain, set } from './fixtures/driver.js'

const px = (ms: number): Partial<Extract<KvOp, { t: 'set' }>> => ({ expiry: { t: 'relative', unit: 'milliseconds', amount: BigInt(ms) } })
const ttl = (key: string, unit: 'seconds' | 'milliseconds' = 'milliseconds'): KvOp => ({ t: 'ttl', key: b(key), unit })
const expire = (key: string, amount: bigint, extra: Partial<Extract<KvOp, { t: 'expire' }>> = {}): KvOp => ({
  t: 'expire', key: b(key), base: 'relative', unit: 'seconds', amount, condition: 'always', ...extra,
})

t.test('a relative deadline is fixed by the entry time, not the reader clock', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(1000)), T0)
  t.same(plain(d.sm.read(ttl('k'), T0 + 400)), { int: 600 })
  t.same(plain(d.sm.read(get('k'), T0 + 999)), { bulk: 'v' })
  t.same(plain(d.sm.read(get('k'), T0 + 1000)), 'nil', 'never returned at or past its deadline')
  t.same(plain(d.sm.read(ttl('k'), T0 + 1000)), { int: -2 })
})

t.test('at apply a key past its deadline is absent', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(10)), T0)
  t.same(plain(d.one({ t: 'setnx', key: b('k'), value: b('w') }, T0 + 10)), { int: 1 })
  t.same(plain(d.one(get('k'), T0 + 10)), { bulk: 'w' })
})

t.test('TTL rounds to the nearest second; PTTL is exact; -1 without a deadline', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(10_499)))
  d.one(set('p', 'v'))
  t.same(plain(d.sm.read(ttl('k', 'seconds'), T0)), { int: 10 })
  t.same(plain(d.sm.read(ttl('k', 'seconds'), T0 - 2)), { int: 11 })
  t.same(plain(d.sm.read(ttl('k'), T0)), { int: 10_499 })
  t.same(plain(d.sm.read(ttl('p', 'seconds'), T0)), { int: -1 })
})

t.test('EXPIRE sets a deadline, answers 0 for a missing key, and a past one deletes', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one(expire('k', 5n))), { int: 1 })
  t.same(plain(d.sm.read(ttl('k'), T0)), { int: 5000 })
  t.same(plain(d.one(expire('nope', 5n))), { int: 0 })
  t.same(plain(d.one(expire('k', -1n))), { int: 1 })
  t.same(plain(d.one({ t: 'exists', keys: [b('k')] })), { int: 0 })
})

t.test('EXPIREAT and PEXPIREAT take absolute times; EXPIRETIME reports them', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  d.one(expire('k', BigInt(T0 / 1000 + 60), { base: 'absolute' }))
  t.same(plain(d.sm.read({ t: 'expiretime', key: b('k'), unit: 'seconds' }, T0)), { int: T0 / 1000 + 60 })
  d.one(expire('k', BigInt(T0 + 1234), { base: 'absolute', unit: 'milliseconds' }))
  t.same(plain(d.sm.read({ t: 'expiretime', key: b('k'), unit: 'milliseconds' }, T0)), { int: T0 + 1234 })
})

t.test('EXPIRE NX, XX, GT and LT follow Redis 7', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one(expire('k', 10n, { condition: 'xx' }))), { int: 0 }, 'XX without a deadline')
  t.same(plain(d.one(expire('k', 10n, { condition: 'gt' }))), { int: 0 }, 'GT: no deadline is infinite')
  t.same(plain(d.one(expire('k', 10n, { condition: 'lt' }))), { int: 1 }, 'LT: anything is below infinite')
  t.same(plain(d.one(expire('k', 20n, { condition: 'nx' }))), { int: 0 }, 'NX with a deadline')
  t.same(plain(d.one(expire('k', 20n, { condition: 'gt' }))), { int: 1 })
  t.same(plain(d.one(expire('k', 30n, { condition: 'lt' }))), { int: 0 })
  t.same(plain(d.one(expire('k', 15n, { condition: 'xx' }))), { int: 1 })
  t.same(plain(d.sm.read(ttl('k', 'seconds'), T0)), { int: 15 })
})

t.test('EXPIRE XX LT leaves a key without a deadline without one', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one(expire('k', 10n, { condition: 'xxlt' }))), { int: 0 })
  t.same(plain(d.sm.read(ttl('k'), T0)), { int: -1 })
})

t.test('EXPIRE XX LT lowers an existing deadline', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(20_000)))
  t.same(plain(d.one(expire('k', 10n, { condition: 'xxlt' }))), { int: 1 })
  t.same(plain(d.sm.read(ttl('k'), T0)), { int: 10_000 })
})

t.test('EXPIRE XX LT does not raise an existing deadline', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(20_000)))
  t.same(plain(d.one(expire('k', 30n, { condition: 'xxlt' }))), { int: 0 })
  t.same(plain(d.sm.read(ttl('k'), T0)), { int: 20_000 })
})

const dbexpires = (d: Driver): unknown => plain(d.sm.read({ t: 'dbexpires' }, T0))

t.test('the expires count counts keys given a deadline by SET or EXPIRE', async (t) => {
  const d = new Driver()
  d.one(set('plain', 'v'))
  d.one(set('px', 'v', px(1000)))
  d.one(set('later', 'v'))
  d.one(expire('later', 10n))
  t.same(dbexpires(d), { int: 2 })
})

t.test('the expires count drops when a deadline is removed or its key deleted', async (t) => {
  const d = new Driver()
  for (const key of ['persisted', 'overwritten', 'deleted', 'kept']) d.one(set(key, 'v', px(1000)))
  d.one({ t: 'persist', key: b('persisted') })
  d.one(set('overwritten', 'w'))
  d.one({ t: 'del', keys: [b('deleted')] })
  t.same(dbexpires(d), { int: 1 })
  d.one({ t: 'flushall' })
  t.same(dbexpires(d), { int: 0 })
})

t.test('the expires count includes expired keys until they are swept, as DBSIZE does', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(10)))
  t.same(plain(d.sm.read({ t: 'dbexpires' }, T0 + 20)), { int: 1 })
  d.one({ t: 'expireSweep', keys: [b('k')] }, T0 + 20)
  t.same(plain(d.sm.read({ t: 'dbexpires' }, T0 + 20)), { int: 0 })
})

t.test('the expires count survives a snapshot restore', async (t) => {
  const d = new Driver()
  d.one(set('a', 'v', px(1000)))
  d.one(set('b', 'v'))
  t.same(dbexpires(new Driver(KvStateMachine.restore(d.sm.snapshot()))), { int: 1 })
})

t.test('EXPIRE overflow is the Redis error naming the command', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  t.same(plain(d.one(expire('k', 2n ** 62n))), { error: "ERR invalid expire time in 'expire' command" })
  t.same(plain(d.one(expire('k', 2n ** 63n - 1n, { unit: 'milliseconds' }))), { error: "ERR invalid expire time in 'pexpire' command" })
  t.same(plain(d.one(expire('k', 2n ** 62n, { base: 'absolute' }))), { error: "ERR invalid expire time in 'expireat' command" })
})

t.test('PERSIST removes a deadline once', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(5000)))
  t.same(plain(d.one({ t: 'persist', key: b('k') })), { int: 1 })
  t.same(plain(d.one({ t: 'persist', key: b('k') })), { int: 0 })
  t.same(plain(d.sm.read(ttl('k'), T0)), { int: -1 })
})

t.test('expiredKeys finds expired keys earliest first and an expireSweep deletes them', async (t) => {
  const d = new Driver()
  for (let i = 0; i < 10; i++) d.one(set(`k${i}`, 'v', px(100 + i)))
  d.one(set('forever', 'v'))
  t.same(d.sm.expiredKeys(T0 + 50, 100), [])
  const due = d.sm.expiredKeys(T0 + 104, 3)
  t.same(due.map((k) => k.toString()), ['k0', 'k1', 'k2'])
  t.same(d.sm.expiredKeys(T0 + 104, 3).map((k) => k.toString()), ['k0', 'k1', 'k2'], 'candidates stay until swept')
  t.same(plain(d.one({ t: 'expireSweep', keys: [...due, b('forever'), b('k9')] }, T0 + 104)), { int: 3 })
  t.equal(d.sm.size(), 8)
  t.same(d.sm.expiredKeys(T0 + 104, 100).map((k) => k.toString()), ['k3', 'k4'])
})

t.test('an expireSweep leaves a key whose deadline moved later', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v', px(10)))
  const due = d.sm.expiredKeys(T0 + 20, 10)
  d.one(set('k', 'w', px(1000)), T0 + 5)
  t.same(plain(d.one({ t: 'expireSweep', keys: due }, T0 + 20)), { int: 0 })
  t.same(plain(d.sm.read(get('k'), T0 + 20)), { bulk: 'w' })
  t.same(d.sm.expiredKeys(T0 + 20, 10), [], 'the stale index item is dropped')
})

t.test('size(nowMs) excludes keys expired but not yet swept', async (t) => {
  const d = new Driver()
  d.one(set('a', 'v', px(10)))
  d.one(set('b', 'v'))
  t.equal(d.sm.size(), 2)
  t.equal(d.sm.size(T0 + 10), 1)
})

t.test('two replicas applying the same entries at different local times end identical', async (t) => {
  const rng = new Prng(42)
  const entries: Buffer[] = []
  let now = T0
  for (let i = 0; i < 3000; i++) {
    now += rng.int(50)
    const key = b(`k${rng.int(200)}`)
    const ops: KvOp[] = [
      { t: 'set', key, value: b(`v${i}`), condition: 'always', expiry: rng.chance(0.5) ? { t: 'relative', unit: 'milliseconds', amount: BigInt(1 + rng.int(500)) } : { t: 'none' }, get: false },
      { t: 'incrby', key, delta: 1n },
      { t: 'append', key, value: b('x') },
      { t: 'expire', key, base: 'relative', unit: 'milliseconds', amount: BigInt(rng.int(300) - 50), condition: 'always' },
      { t: 'del', keys: [key] },
    ]
    entries.push(encodeEnvelope({ nowMs: now, clientId: `c${rng.int(5)}`, seq: i + 1, write: { ops: [rng.pick(ops)], watches: [] } }))
    if (i % 100 === 99) {
      // The leader's sweep, from its own index, at its own time.
      const leader = new KvStateMachine()
      entries.forEach((e, j) => leader.apply(j + 1, e))
      entries.push(encodeEnvelope({ nowMs: now, clientId: '', seq: 0, write: { ops: [{ t: 'expireSweep', keys: leader.expiredKeys(now, 50) }], watches: [] } }))
    }
  }
  const a = new KvStateMachine()
  const c = new KvStateMachine()
  // Interleave with reads at wildly different local times: reads must not change state.
  entries.forEach((e, j) => {
    a.apply(j + 1, e)
    a.read({ t: 'get', key: b(`k${j % 200}`) }, T0 - 1e9)
    c.apply(j + 1, e)
    c.read({ t: 'ttl', key: b(`k${j % 200}`), unit: 'seconds' }, T0 + 1e12)
    c.expiredKeys(T0 + 1e12, 10)
  })
  t.ok(a.snapshot().equals(c.snapshot()), 'snapshots are byte-identical')
  t.equal(a.version(b('k7'), now), c.version(b('k7'), now))
})
