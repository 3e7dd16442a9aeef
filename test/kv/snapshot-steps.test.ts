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

/** A populated state with values in the arena, latin1 strings beyond it, and collections, all larger than the smallest chunks. */
function mixed(prng: Prng): Driver {
  const d = populated(prng)
  const call = (name: string, ...args: string[]): KvOp => ({ t: 'call', name, args: args.map(b), seed: 0 })
  d.one(set('big:arena', 'a'.repeat(3000)))
  d.one(set('big:string', 's'.repeat(6000)))
  d.one(call('hset', 'h', 'f1', 'v'.repeat(300), 'f2', 'w'))
  d.one(call('rpush', 'l', ...Array.from({ length: 50 }, (_, i) => `item-${i}`)))
  d.one(call('zadd', 'z', '1', 'one', '2.5', 'two'))
  d.one(call('sadd', 's', 'x', 'y', 'z'))
  return d
}

/** Steps `encoder` to its end, writing as a node does: a full chunk is taken before the next step. */
function encodeInChunks(encoder: ReturnType<Driver['sm']['beginSnapshot']>, prng: Prng, between: () => void): Buffer[] {
  const out: Buffer[] = []
  let done = false
  while (!done) {
    done = encoder.step(1 + prng.int(64))
    // Copied: the encoder reuses its chunk.
    if (encoder.full) out.push(Buffer.from(encoder.takeChunk()))
    between()
  }
  for (const part of encoder.finishChunks()) out.push(Buffer.from(part))
  return out
}

t.test('a snapshot encoded in chunks is byte for byte the one-buffer snapshot taken at its start', async (t) => {
  for (const chunkBytes of [64, 100, 1000, 1 << 20]) {
    for (let seed = 1; seed <= 10; seed++) {
      const prng = new Prng(seed * 31 + chunkBytes)
      const d = mixed(prng)
      const atStart = d.sm.snapshot()
      const encoder = d.sm.beginSnapshot(Buffer.alloc(chunkBytes))
      t.equal(encoder.bytes, atStart.length, 'the size is known up front')
      let step = 0
      const parts = encodeInChunks(encoder, prng, () => {
        for (let i = prng.int(20); i > 0; i--, step++) d.write([randomOp(prng, 20_000 + step)], { nowMs: T0 + 3000 + step, clientId: `c${prng.int(5)}`, seq: 9000 + step })
      })
      const joined = Buffer.concat(parts)
      if (!joined.equals(atStart)) {
        t.fail(`chunk ${chunkBytes}, seed ${seed}: the chunks differ from the snapshot at the start`)
        return
      }
      if (chunkBytes < 6000) t.ok(parts.length > 2, `chunk ${chunkBytes}: written in ${parts.length} parts`)
      t.ok(parts.every((p) => p.length <= Math.max(chunkBytes, 6100)), 'no part is larger than the chunk, unless one key is')
    }
  }
  t.equal(KvStateMachine.restore(mixed(new Prng(1)).sm.snapshot()).size() > 0, true)
})

t.test('a chunk is taken only when the next key does not fit it', async (t) => {
  const d = mixed(new Prng(9))
  const encoder = d.sm.beginSnapshot(Buffer.alloc(4096))
  let steps = 0
  let taken = 0
  let done = false
  while (!done) {
    done = encoder.step(16)
    steps++
    if (encoder.full) {
      const chunk = encoder.takeChunk()
      taken++
      t.ok(chunk.length > 0, 'a full chunk holds something')
    }
  }
  encoder.finishChunks()
  t.ok(taken < steps, `${taken} chunks taken over ${steps} steps`)
})

t.test('finish() refuses a snapshot that was encoded in chunks', async (t) => {
  const d = mixed(new Prng(4))
  const encoder = d.sm.beginSnapshot(Buffer.alloc(256))
  while (!encoder.step(1000)) if (encoder.full) encoder.takeChunk()
  t.throws(() => encoder.finish(), /encoded in chunks/)
})
