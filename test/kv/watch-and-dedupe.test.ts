import t from 'tap'
import { encodeEnvelope } from '../../lib/kv/command-codec.js'
import { SessionTable } from '../../lib/kv/session-table.js'
import { Driver, T0, b, get, plain, set } from './fixtures/driver.js'

t.test('EXEC applies when no watched key changed', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  const version = d.sm.version(b('k'), T0)
  const r = d.write([set('k', '2')], { watches: [{ key: b('k'), version }] })
  t.equal(r.t, 'results')
  t.same(plain(d.sm.read(get('k'), T0)), { bulk: '2' })
})

t.test('EXEC aborts and applies nothing when a watched key was written', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  const version = d.sm.version(b('k'), T0)
  d.one(set('k', '1'))
  const r = d.write([set('k', '2'), set('other', 'x')], { watches: [{ key: b('k'), version }] })
  t.same(r, { t: 'watchAborted' })
  t.same(plain(d.sm.read(get('other'), T0)), 'nil')
})

t.test('a watched absent key that is created and deleted again aborts EXEC', async (t) => {
  const d = new Driver()
  const version = d.sm.version(b('k'), T0)
  t.equal(version, 0)
  d.one(set('k', '1'))
  d.one({ t: 'del', keys: [b('k')] })
  t.same(d.write([set('x', '1')], { watches: [{ key: b('k'), version }] }), { t: 'watchAborted' })
})

t.test('a watched key that expires before EXEC aborts it; one expired at WATCH does not', async (t) => {
  const d = new Driver()
  d.one(set('k', '1', { expiry: { t: 'relative', unit: 'milliseconds', amount: 100n } }))
  const live = d.sm.version(b('k'), T0)
  t.same(d.write([set('x', '1')], { nowMs: T0 + 100, watches: [{ key: b('k'), version: live }] }), { t: 'watchAborted' })
  const expired = d.sm.version(b('k'), T0 + 100)
  d.one({ t: 'expireSweep', keys: [b('k')] }, T0 + 200)
  t.equal(d.write([set('x', '1')], { nowMs: T0 + 300, watches: [{ key: b('k'), version: expired }] }).t, 'results')
})

t.test('a failed conditional write does not change the version', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  const version = d.sm.version(b('k'), T0)
  d.one(set('k', '2', { condition: 'nx' }))
  d.one({ t: 'persist', key: b('k') })
  t.equal(d.sm.version(b('k'), T0), version)
})

t.test('FLUSHALL changes the version of every key that existed, and of no key that did not (as Redis 7)', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  d.one(set('gone', '1'))
  d.one({ t: 'del', keys: [b('gone')] })
  const present = d.sm.version(b('k'), T0)
  const absent = d.sm.version(b('z'), T0)
  const deleted = d.sm.version(b('gone'), T0)
  d.one({ t: 'flushall' })
  t.not(d.sm.version(b('k'), T0), present, 'a key that existed: EXEC aborts')
  t.equal(d.sm.version(b('z'), T0), absent, 'a key that never existed: EXEC goes on')
  t.equal(d.sm.version(b('gone'), T0), deleted, 'a key deleted before WATCH: EXEC goes on')
  t.same(d.write([set('x', '1')], { watches: [{ key: b('z'), version: absent }] }).t, 'results')
  t.same(d.write([set('x', '1')], { watches: [{ key: b('k'), version: present }] }), { t: 'watchAborted' })
})

t.test('a key recreated after FLUSHALL, then deleted, still aborts a WATCH taken before the flush', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  const before = d.sm.version(b('k'), T0)
  d.one({ t: 'flushall' })
  d.one(set('k', '1'))
  d.one({ t: 'del', keys: [b('k')] })
  t.not(d.sm.version(b('k'), T0), before)
})

t.test('the same clientId and seq applied twice changes state once and answers the first result', async (t) => {
  const d = new Driver()
  const first = d.write([{ t: 'incrby', key: b('n'), delta: 5n }], { clientId: 'c1', seq: 1 })
  const again = d.write([{ t: 'incrby', key: b('n'), delta: 5n }], { clientId: 'c1', seq: 1 })
  t.same(again, { t: 'duplicate', outcome: first })
  t.same(plain(d.sm.read(get('n'), T0)), { bulk: '5' })
  t.equal(d.sm.appliedIndex, 2, 'the duplicate still advances the applied index')
})

t.test('an older seq is a duplicate whose result is no longer known', async (t) => {
  const d = new Driver()
  d.write([set('a', '1')], { clientId: 'c1', seq: 1 })
  d.write([set('a', '2')], { clientId: 'c1', seq: 2 })
  t.same(d.write([set('a', '3')], { clientId: 'c1', seq: 1 }), { t: 'duplicate', outcome: null })
  t.same(plain(d.sm.read(get('a'), T0)), { bulk: '2' })
})

t.test('an empty clientId is never deduplicated', async (t) => {
  const d = new Driver()
  d.write([{ t: 'incrby', key: b('n'), delta: 1n }], { clientId: '', seq: 1 })
  d.write([{ t: 'incrby', key: b('n'), delta: 1n }], { clientId: '', seq: 1 })
  t.same(plain(d.sm.read(get('n'), T0)), { bulk: '2' })
})

t.test('a watch abort is remembered for a retry too', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  const stale = d.sm.version(b('k'), T0) + 2
  const first = d.write([set('k', '2')], { clientId: 'c', seq: 9, watches: [{ key: b('k'), version: stale }] })
  t.same(first, { t: 'watchAborted' })
  t.same(d.write([set('k', '2')], { clientId: 'c', seq: 9 }), { t: 'duplicate', outcome: { t: 'watchAborted' } })
})

t.test('the session table evicts the least recently applied client when full', async (t) => {
  const table = new SessionTable(3)
  const ok = { t: 'results', results: [] } as const
  table.remember('a', 1, 1, ok)
  table.remember('b', 1, 2, ok)
  table.remember('c', 1, 3, ok)
  table.remember('a', 2, 4, ok)
  table.remember('d', 1, 5, ok)
  t.same([...table.sessions.keys()], ['c', 'a', 'd'])
  t.equal(table.check('b', 1).t, 'new', 'b was evicted')
})

t.test('an outcome too large to keep is remembered as applied without its result', async (t) => {
  const d = new Driver()
  d.one(set('big', 'x'.repeat(100_000)))
  d.write([get('big')], { clientId: 'c', seq: 1 })
  t.same(d.write([get('big')], { clientId: 'c', seq: 1 }), { t: 'duplicate', outcome: null })
})

t.test('apply refuses an index that does not increase', async (t) => {
  const d = new Driver()
  d.one(set('k', '1'))
  const data = encodeEnvelope({ nowMs: T0, clientId: '', seq: 0, write: { ops: [], watches: [] } })
  t.throws(() => d.sm.apply(1, data))
  d.sm.skip(5)
  t.equal(d.sm.appliedIndex, 5)
})
