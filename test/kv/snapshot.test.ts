import t from 'tap'
import { KvSnapshotError } from '../../lib/kv/errors.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import type { KvOp } from '../../lib/kv/command.js'
import { Prng } from '../../lib/util/prng.js'
import { crc32c } from '../../lib/util/checksum.js'
import { Driver, T0, b, get, plain, set } from './fixtures/driver.js'

function populated(): Driver {
  const d = new Driver()
  d.one(set('plain', 'v'))
  d.one(set('ttl', 'v', { expiry: { t: 'relative', unit: 'milliseconds', amount: 5000n } }))
  d.one({ t: 'set', key: Buffer.from([0, 255]), value: Buffer.from([1, 0, 2]), condition: 'always', expiry: { t: 'none' }, get: false })
  d.one(set('gone', 'v'))
  d.one({ t: 'del', keys: [b('gone')] })
  d.write([{ t: 'incrby', key: b('n'), delta: 7n }, get('plain')], { clientId: 'client-a', seq: 3 })
  d.write([set('w', '1')], { clientId: 'client-b', seq: 1, watches: [{ key: b('plain'), version: 999 }] })
  return d
}

t.test('restore reproduces keys, deadlines, versions, sessions and the applied index', async (t) => {
  const d = populated()
  const r = KvStateMachine.restore(d.sm.snapshot())
  t.equal(r.appliedIndex, d.sm.appliedIndex)
  t.same(plain(r.read(get('plain'), T0)), { bulk: 'v' })
  t.same(plain(r.read({ t: 'ttl', key: b('ttl'), unit: 'milliseconds' }, T0)), { int: 5000 })
  t.same(plain(r.read({ t: 'get', key: Buffer.from([0, 255]) }, T0)), { bulk: '\x01\x00\x02' })
  for (const key of ['plain', 'ttl', 'gone', 'n', 'never']) t.equal(r.version(b(key), T0), d.sm.version(b(key), T0), key)
  t.ok(r.snapshot().equals(d.sm.snapshot()), 'a restored machine snapshots byte-identically')
  // The remembered results survive: a retry after restore is still a duplicate.
  const d2 = new Driver(r)
  d2.index = r.appliedIndex
  const again = d2.write([{ t: 'incrby', key: b('n'), delta: 7n }, get('plain')], { clientId: 'client-a', seq: 3 })
  t.equal(again.t, 'duplicate')
  if (again.t === 'duplicate' && again.outcome?.t === 'results') t.same(again.outcome.results.map(plain), [{ int: 7 }, { bulk: 'v' }])
  t.same(plain(r.read(get('n'), T0)), { bulk: '7' })
})

t.test('a restored machine applies later entries exactly as the original', async (t) => {
  const d = populated()
  const r = new Driver(KvStateMachine.restore(d.sm.snapshot()))
  r.index = d.index
  for (const x of [d, r]) {
    x.one(set('more', '1', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }), T0 + 1)
    x.one({ t: 'expireSweep', keys: [b('more'), b('ttl')] }, T0 + 6000)
  }
  t.ok(r.sm.snapshot().equals(d.sm.snapshot()))
})

t.test('100,000 keys round-trip through a snapshot', async (t) => {
  const d = new Driver()
  const batch = 1000
  for (let i = 0; i < 100_000; i += batch) {
    d.one({ t: 'mset', pairs: Array.from({ length: batch }, (_, j) => ({ key: b(`key:${i + j}`), value: b(`value-${(i + j) * 7}`) })) })
  }
  const r = KvStateMachine.restore(d.sm.snapshot())
  t.equal(r.size(), 100_000)
  t.same(plain(r.read(get('key:99999'), T0)), { bulk: `value-${99999 * 7}` })
  t.equal(r.memoryBytes(), d.sm.memoryBytes())
})

t.test('a corrupted snapshot is rejected with KvSnapshotError', async (t) => {
  const snap = populated().sm.snapshot()
  for (const at of [0, 9, Math.floor(snap.length / 2), snap.length - 5, snap.length - 1]) {
    const bad = Buffer.from(snap)
    bad[at] = (bad[at] as number) ^ 0x40
    t.throws(() => KvStateMachine.restore(bad), KvSnapshotError, `flip at ${at}`)
  }
  t.throws(() => KvStateMachine.restore(snap.subarray(0, snap.length - 1)), KvSnapshotError, 'truncated')
  t.throws(() => KvStateMachine.restore(Buffer.alloc(3)), KvSnapshotError, 'too short')
})

t.test('a value larger than a snapshot chunk survives', async (t) => {
  const d = new Driver()
  const big = Buffer.alloc(3 * 1024 * 1024, 7)
  d.one({ t: 'set', key: b('big'), value: big, condition: 'always', expiry: { t: 'none' }, get: false })
  const r = KvStateMachine.restore(d.sm.snapshot())
  const got = r.read(get('big'), T0)
  t.ok(got.t === 'bulk' && got.value.equals(big))
})

t.test('a large mixed state round-trips byte for byte: deadlines, long and binary values, sessions, tombstones', async (t) => {
  const d = new Driver()
  const prng = new Prng(20)
  const keys = 20_000
  for (let i = 0; i < 60_000; i++) {
    const key = `k:${prng.int(keys)}${i % 97 === 0 ? '\x00\xff' : ''}`
    const kind = prng.int(10)
    const nowMs = T0 + i
    const clientId = i % 3 === 0 ? '' : `client-${prng.int(50)}-\u00e9`
    let op: KvOp
    if (kind < 5) op = set(key, 'v'.repeat(prng.int(200)))
    else if (kind === 5) op = set(key, 'x', { expiry: { t: 'relative', unit: 'milliseconds', amount: BigInt(1 + prng.int(100_000)) } })
    else if (kind === 6) op = { t: 'del', keys: [b(key)] }
    else if (kind === 7) op = { t: 'incrby', key: b(`n:${prng.int(100)}`), delta: BigInt(prng.int(1000)) - 500n }
    else if (kind === 8) op = { t: 'append', key: b(key), value: Buffer.from([0, 128, 255]) }
    else op = set(key, 'old', { get: true })
    d.write([op], { nowMs, clientId, seq: i + 1 })
  }
  d.write([set('huge', 'h'.repeat(2 * 1024 * 1024))], { nowMs: T0 + 60_000 })
  d.write([{ t: 'mget', keys: [b('k:1'), b('k:2')] }, { t: 'incrby', key: b('k:3'), delta: 1n }], { clientId: 'multi', seq: 1 })
  const snap = d.sm.snapshot()
  const r = KvStateMachine.restore(snap)
  t.equal(r.size(), d.sm.size())
  t.equal(r.sessionCount(), d.sm.sessionCount())
  t.equal(r.memoryBytes(), d.sm.memoryBytes())
  t.ok(r.snapshot().equals(snap), 'a restored machine snapshots byte-identically')
  const nowMs = T0 + 70_000
  for (let i = 0; i < keys; i += 7) {
    const key = `k:${i}`
    t.same(plain(r.read(get(key), nowMs)), plain(d.sm.read(get(key), nowMs)), key)
    t.same(plain(r.read({ t: 'ttl', key: b(key), unit: 'milliseconds' }, nowMs)), plain(d.sm.read({ t: 'ttl', key: b(key), unit: 'milliseconds' }, nowMs)))
    t.equal(r.version(b(key), nowMs), d.sm.version(b(key), nowMs))
  }
  // Both go on identically: expiry, and dedupe of a remembered session.
  const again = new Driver(r)
  again.index = d.index
  for (const x of [d, again]) {
    x.one({ t: 'expireSweep', keys: Array.from({ length: 50 }, (_, i) => b(`k:${i}`)) }, T0 + 200_000)
    x.write([set('after', '1')], { clientId: 'multi', seq: 1 })
  }
  t.ok(again.sm.snapshot().equals(d.sm.snapshot()))
})

t.test('the latest time a leader stamped on an applied write is kept, through FLUSHALL and a snapshot', async (t) => {
  const d = new Driver()
  t.equal(d.sm.stampedMs(), 0, 'none before any write')
  d.one(set('a', '1'), T0 + 500)
  d.one(set('b', '2'), T0 + 200)
  d.one({ t: 'incrby', key: b('n'), delta: 1n }, T0 + 300)
  t.equal(d.sm.stampedMs(), T0 + 500, 'the latest stamp, not the last one: entries need not arrive in time order')
  d.one({ t: 'flushall' }, T0 + 400)
  t.equal(d.sm.stampedMs(), T0 + 500, 'FLUSHALL leaves it')
  const restored = KvStateMachine.restore(d.sm.snapshot())
  t.equal(restored.stampedMs(), T0 + 500, 'a restored machine has it')
})

t.test('a format-3 snapshot (no stamp section) is still restored, its stamp unknown', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'), T0 + 500)
  const v4 = d.sm.snapshot()
  // Format 3 is format 4 without the stamp's 8 bytes before the checksum.
  const v3 = Buffer.concat([v4.subarray(0, v4.length - 12), Buffer.alloc(4)])
  v3.writeUInt32LE(3, 4)
  v3.writeUInt32LE(crc32c(v3.subarray(0, v3.length - 4)), v3.length - 4)
  const r = KvStateMachine.restore(v3)
  t.equal(r.stampedMs(), 0)
  t.same(plain(r.read(get('k'), T0)), { bulk: 'v' })
})
