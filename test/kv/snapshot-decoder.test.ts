// A snapshot read in chunks (SnapshotDecoder: a restart reads its file that
// way) must rebuild exactly the state the one-buffer decode does, wherever
// the chunks are cut; and it must refuse what the one-buffer decode refuses.
import t from 'tap'
import type { KvOp } from '../../lib/kv/command.js'
import { KvSnapshotError } from '../../lib/kv/errors.js'
import { SnapshotDecoder, encodeSnapshot } from '../../lib/kv/snapshot-codec.js'
import { KvStateMachine, type SnapshotSource } from '../../lib/kv/state-machine.js'
import { Prng } from '../../lib/util/prng.js'
import { Driver, T0, b, set } from './fixtures/driver.js'

const call = (name: string, ...args: string[]): KvOp => ({ t: 'call', name, args: args.map(b), seed: 0 })

/** Every section in use: strings small and large, each collection type, deadlines, sessions, tombstones, config. */
function everySection(prng: Prng): Driver {
  const d = new Driver()
  for (let i = 0; i < 600; i++) {
    const key = `k:${prng.int(200)}`
    const op: KvOp = prng.int(4) === 0
      ? { t: 'del', keys: [b(key)] }
      : set(key, 'v'.repeat(prng.int(90)) + String(i), prng.int(5) === 0 ? { expiry: { t: 'relative', unit: 'seconds', amount: 1000n } } : {})
    d.write([op], { nowMs: T0 + i, clientId: `c${prng.int(7)}`, seq: i + 1 })
  }
  d.one(set('big:string', 's'.repeat(20_000)))
  d.one(call('hset', 'h', 'f1', 'v'.repeat(300), 'f2', 'w'))
  d.one(call('rpush', 'l', ...Array.from({ length: 3000 }, (_, i) => `item-${i}`)))
  d.one(call('zadd', 'z', '1', 'one', '2.5', 'two'))
  d.one(call('sadd', 's', 'x', 'y', 'z'))
  d.one(call('config-set', 'hash-max-listpack-entries', '64'))
  return d
}

/** Pushes `data` through one reused buffer, as a file is read, cut where `nextBytes` says; re-encodes the state. */
function decodeChunked(data: Buffer, nextBytes: () => number): Buffer {
  const decoder = new SnapshotDecoder(data.length)
  const chunk = Buffer.alloc(data.length)
  for (let offset = 0; offset < data.length;) {
    const n = Math.min(nextBytes(), data.length - offset)
    data.copy(chunk, 0, offset, offset + n)
    decoder.push(chunk.subarray(0, n))
    chunk.fill(0xee, 0, n) // the caller may reuse its chunk: the decoder must not keep it
    offset += n
  }
  return encodeSnapshot(decoder.finish())
}

t.test('a snapshot decoded from chunks cut anywhere equals the one-buffer decode', async (t) => {
  for (const chunkMax of [1, 7, 64, 1000, 50_000]) {
    for (let seed = 1; seed <= 4; seed++) {
      const prng = new Prng(seed * 101 + chunkMax)
      const data = everySection(prng).sm.snapshot()
      if (!decodeChunked(data, () => 1 + prng.int(chunkMax)).equals(data)) {
        t.fail(`chunks up to ${chunkMax} bytes, seed ${seed}: the restored state differs`)
        return
      }
    }
  }
  t.pass('5 chunk sizes × 4 seeds')
})

t.test('restoreFrom reads a snapshot in order through one buffer', async (t) => {
  const data = everySection(new Prng(3)).sm.snapshot()
  const reads: number[] = []
  const source: SnapshotSource = {
    dataBytes: data.length,
    readInto: async (offset, into) => {
      reads.push(offset)
      const n = data.copy(into, 0, offset, Math.min(data.length, offset + into.length))
      return into.subarray(0, n)
    },
  }
  const restored = await KvStateMachine.restoreFrom(source, 4096)
  t.ok(restored.snapshot().equals(data), 'the same state')
  t.same(reads, Array.from({ length: Math.ceil(data.length / 4096) }, (_, i) => i * 4096), 'each chunk once, in order')
})

t.test('restoreFrom refuses a source that ends early', async (t) => {
  const data = everySection(new Prng(4)).sm.snapshot()
  const source: SnapshotSource = {
    dataBytes: data.length,
    readInto: async (offset, into) => (offset >= 1000 ? into.subarray(0, 0) : into.subarray(0, data.copy(into, 0, offset, Math.min(1000, offset + into.length)))),
  }
  await t.rejects(KvStateMachine.restoreFrom(source, 256), KvSnapshotError)
})

t.test('a chunked snapshot with a flipped byte is refused, wherever the flip', async (t) => {
  const data = everySection(new Prng(5)).sm.snapshot()
  const prng = new Prng(55)
  for (let i = 0; i < 150; i++) {
    const bad = Buffer.from(data)
    const at = prng.int(bad.length)
    bad[at] = (bad[at] as number) ^ (1 << prng.int(8))
    t.throws(() => decodeChunked(bad, () => 1 + prng.int(500)), KvSnapshotError, `flip at ${at}`)
  }
})

t.test('finish refuses a snapshot whose bytes did not all come', async (t) => {
  const data = everySection(new Prng(6)).sm.snapshot()
  const decoder = new SnapshotDecoder(data.length)
  decoder.push(data.subarray(0, data.length - 10))
  t.throws(() => decoder.finish(), KvSnapshotError)
})

t.test('push refuses more bytes than the snapshot announced', async (t) => {
  const data = everySection(new Prng(7)).sm.snapshot()
  const decoder = new SnapshotDecoder(data.length - 1)
  t.throws(() => decoder.push(data), KvSnapshotError)
})

t.test('a record larger than many chunks is restored', async (t) => {
  const d = new Driver()
  d.one(call('rpush', 'l', ...Array.from({ length: 20_000 }, (_, i) => `element-${i}`)))
  const data = d.sm.snapshot()
  let pushes = 0
  const restored = decodeChunked(data, () => {
    pushes++
    return 100
  })
  t.ok(restored.equals(data), 'the list is restored')
  t.ok(pushes > 1000, `${pushes} pushes of 100 bytes`)
})

t.test('encodedParts yields the snapshot bytes a chunk at a time, through one buffer', async (t) => {
  const d = everySection(new Prng(8))
  const whole = d.sm.snapshot()
  for (const chunkBytes of [64, 4096, 1 << 20]) {
    const parts = d.sm.encodedParts(chunkBytes)
    t.equal(parts.dataBytes, whole.length, `chunk ${chunkBytes}: the size is known before the first part`)
    const copies: Buffer[] = []
    for (const part of parts) copies.push(Buffer.from(part))
    t.ok(Buffer.concat(copies).equals(whole), `chunk ${chunkBytes}: ${copies.length} parts, the same bytes`)
  }
  t.ok(d.sm.snapshot().equals(whole), 'the state is unchanged, and can be snapshotted again')
})
