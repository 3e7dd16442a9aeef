// A snapshot encoded in steps while writes go on (SnapshotEncoder with the
// keyspace's copy on write) must be exactly the snapshot of the state at its
// start: the oracle is a one-go snapshot taken at that moment.
import t from 'tap'
import type { KvOp } from '../../lib/kv/command.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Prng } from '../../lib/util/prng.js'
import { Driver, T0, b, set } from './fixtures/driver.js'

/** One random write over a small key space: overwrites, deletes, deadlines, sweeps, counters, new keys. */
function randomOp(prng: Prng, step: number): KvOp {
  const key = `k:${prng.int(300)}`
  switch (prng.int(9)) {
    case 0: case 1: case 2:
      return set(key, 'v'.repeat(prng.int(40)) + String(step))
    case 3:
      return { t: 'del', keys: [b(key), b(`k:${prng.int(300)}`)] }
    case 4:
      return set(key, 'x', { expiry: { t: 'relative', unit: 'milliseconds', amount: BigInt(1 + prng.int(50)) } })
    case 5:
      return { t: 'expire', key: b(key), base: 'relative', unit: 'milliseconds', amount: BigInt(1 + prng.int(50)), condition: 'always' }
    case 6:
      return { t: 'expireSweep', keys: [b(key), b(`k:${prng.int(300)}`)] }
    case 7:
      return { t: 'incrby', key: b(`n:${prng.int(20)}`), delta: BigInt(prng.int(100)) }
    default:
      return set(`new:${step}:${prng.int(1000)}`, 'fresh')
  }
}

function populated(prng: Prng): Driver {
  const d = new Driver()
  for (let i = 0; i < 2000; i++) d.write([randomOp(prng, i)], { nowMs: T0 + i, clientId: `c${prng.int(5)}`, seq: i + 1 })
  return d
}

t.test('a snapshot encoded in steps while writes go on equals the snapshot taken at its start', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const prng = new Prng(seed)
    const d = populated(prng)
    const atStart = d.sm.snapshot()
    const encoder = d.sm.beginSnapshot()
    let step = 0
    let done = false
    while (!done) {
      done = encoder.step(1 + prng.int(64))
      const writes = prng.int(40)
      for (let i = 0; i < writes; i++, step++) d.write([randomOp(prng, 10_000 + step)], { nowMs: T0 + 2000 + step, clientId: `c${prng.int(5)}`, seq: 5000 + step })
    }
    const stepped = encoder.finish()
    if (!stepped.equals(atStart)) {
      t.fail(`seed ${seed}: the stepped snapshot differs from the one taken at its start`)
      return
    }
    // The writes made meanwhile are in the live state, not in the snapshot.
    t.not(d.sm.snapshot().equals(atStart), true, `seed ${seed}: the state moved on`)
  }
  t.pass('40 seeds')
})

t.test('FLUSHALL during a stepped snapshot leaves the snapshot as it was at the start', async (t) => {
  const d = populated(new Prng(7))
  const atStart = d.sm.snapshot()
  const encoder = d.sm.beginSnapshot()
  encoder.step(10)
  d.one({ t: 'flushall' })
  d.one(set('after-flush', '1'))
  while (!encoder.step(100)) d.one(set('k:1', 'again'))
  t.ok(encoder.finish().equals(atStart))
  t.equal(KvStateMachine.restore(atStart).size(), populated(new Prng(7)).sm.size())
})

t.test('writes stop keeping copies once a stepped snapshot finishes or is aborted', async (t) => {
  const d = populated(new Prng(3))
  const keyspace = (d.sm as unknown as { keyspace: { capturing: boolean } }).keyspace
  const finished = d.sm.beginSnapshot()
  t.equal(keyspace.capturing, true)
  while (!finished.step(500)) d.one(set('k:2', 'x'))
  finished.finish()
  t.equal(keyspace.capturing, false, 'after finish')
  const aborted = d.sm.beginSnapshot()
  aborted.step(5)
  aborted.abort()
  t.equal(keyspace.capturing, false, 'after abort')
  t.throws(() => aborted.step(5), /after finish or abort/)
  // A new snapshot can start, and a one-go snapshot still works.
  d.sm.beginSnapshot().abort()
  t.ok(KvStateMachine.restore(d.sm.snapshot()).size() > 0)
})

t.test('only one stepped snapshot runs at a time', async (t) => {
  const d = populated(new Prng(5))
  const first = d.sm.beginSnapshot()
  t.throws(() => d.sm.beginSnapshot(), /capture is already running/)
  first.abort()
})

t.test('FLUSHALL after writes during a stepped snapshot leaves the snapshot as it was at the start', async (t) => {
  const d = populated(new Prng(11))
  const atStart = d.sm.snapshot()
  const encoder = d.sm.beginSnapshot()
  encoder.step(10)
  // Overwrites and deletes first keep the old values aside; FLUSHALL then drops the arena's slabs.
  for (let i = 0; i < 300; i++) d.one(set(`k:${i}`, `over-${i}`))
  d.one({ t: 'del', keys: [b('k:1'), b('k:2')] })
  d.one({ t: 'flushall' })
  d.one(set('k:1', 'after-flush'))
  while (!encoder.step(100)) d.one(set('k:3', 'again'))
  t.ok(encoder.finish().equals(atStart))
})
