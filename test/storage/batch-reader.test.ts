// The direct batch reader must decode exactly what avsc decodes.
import t from 'tap'
import type { Entry, HardState } from '../../lib/raft/types.js'
import { decodeBatch, decodeBatchWithAvsc, encodeBatchInto, encodeBatchV2, type LogBatch } from '../../lib/storage/entry-codec.js'
import { Prng } from '../../lib/util/prng.js'

function randomBatch(prng: Prng): LogBatch {
  const bigs = [0, 1, 63, 64, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 52 + 3]
  const long = () => (prng.chance(0.3) ? prng.pick(bigs) : prng.int(1_000_000))
  const hardState: HardState | null = prng.chance(0.5) ? { term: long(), vote: prng.pick(['', 'n1', 'nœud-é']), commit: long() } : null
  const first = Math.min(long(), 2 ** 52)
  const entries: Entry[] = Array.from({ length: prng.int(300) }, (_, i) => {
    const index = first + i
    const term = long()
    const kind = prng.int(3)
    if (kind === 0) return { index, term, kind: 'noop' }
    if (kind === 1) {
      const members = Array.from({ length: prng.int(5) }, (_, m) => ({
        id: `n${m}`, addr: `10.0.0.${m}:7000`, role: prng.chance(0.5) ? 'voter' as const : 'learner' as const,
        ...(prng.chance(0.5) ? { incarnation: `inc${prng.int(1000)}` } : {}),
      }))
      return { index, term, kind: 'config', config: { members } }
    }
    const data = Buffer.alloc(prng.int(prng.chance(0.1) ? 5000 : 40))
    for (let b = 0; b < data.length; b++) data[b] = prng.int(256)
    return { index, term, kind: 'normal', data }
  })
  return { hardState, entries }
}

function plain(batch: LogBatch): unknown {
  return JSON.parse(JSON.stringify(batch, (_k, v: unknown) =>
    (typeof v === 'object' && v !== null && 'type' in v && v.type === 'Buffer' ? { hex: Buffer.from(v as unknown as Buffer).toString('hex') } : v)))
}

t.test('the direct reader decodes 500 random batches exactly as avsc does', async (t) => {
  const prng = new Prng(7)
  let scratch = Buffer.alloc(1 << 20)
  for (let i = 0; i < 500; i++) {
    const batch = randomBatch(prng)
    let end = encodeBatchInto(batch, scratch, 0)
    while (end < 0) {
      scratch = Buffer.alloc(scratch.length * 2)
      end = encodeBatchInto(batch, scratch, 0)
    }
    const payload = scratch.subarray(0, end)
    const ours = decodeBatch(payload)
    const reference = decodeBatchWithAvsc(payload)
    if (JSON.stringify(plain(ours)) !== JSON.stringify(plain(reference)) ||
      JSON.stringify(plain(ours)) !== JSON.stringify(plain(batch))) {
      t.fail(`batch ${i} decoded differently`)
      return
    }
  }
  t.pass('all equal')
})

t.test('the direct reader rejects a truncated or padded batch', async (t) => {
  const batch: LogBatch = { hardState: { term: 3, vote: 'n1', commit: 2 }, entries: [{ index: 1, term: 3, kind: 'normal', data: Buffer.from('hello') }] }
  const scratch = Buffer.alloc(4096)
  const end = encodeBatchInto(batch, scratch, 0)
  for (let cut = 1; cut < end; cut++) t.throws(() => decodeBatch(scratch.subarray(0, cut)), `cut at ${cut}`)
  t.throws(() => decodeBatch(Buffer.concat([scratch.subarray(0, end), Buffer.from([0])])), 'trailing byte')
})

t.test('a batch written in the previous layout (record type 2) still reads, through both readers', async (t) => {
  const prng = new Prng(11)
  for (let i = 0; i < 100; i++) {
    const batch = randomBatch(prng)
    const payload = encodeBatchV2(batch)
    t.equal(payload[0], 2)
    for (const decode of [decodeBatch, decodeBatchWithAvsc]) {
      if (JSON.stringify(plain(decode(payload))) !== JSON.stringify(plain(batch))) {
        t.fail(`type-2 batch ${i} decoded differently by ${decode.name}`)
        return
      }
    }
  }
})

t.test('normal and noop entries are the same bytes in record types 2 and 3', async (t) => {
  const entries: Entry[] = [
    { index: 5, term: 2, kind: 'normal', data: Buffer.from('payload') },
    { index: 6, term: 2, kind: 'noop' },
  ]
  const v2 = encodeBatchV2({ hardState: null, entries })
  const v3 = Buffer.alloc(256)
  const end = encodeBatchInto({ hardState: null, entries }, v3, 0)
  t.equal(v3[0], 3)
  t.same(v3.subarray(1, end), v2.subarray(1))
})

t.test('negative and large longs round-trip through record type 3 as avsc reads them', async (t) => {
  const hardState = { term: 2 ** 53 - 2, vote: 'nœud', commit: 2 ** 40 }
  const entries: Entry[] = [{ index: 2 ** 31, term: 2 ** 35 + 1, kind: 'config', config: { members: [{ id: 'n1', addr: 'a:1', role: 'learner', incarnation: 'é' }] } }]
  const buf = Buffer.alloc(256)
  const end = encodeBatchInto({ hardState, entries }, buf, 0)
  t.same(decodeBatchWithAvsc(buf.subarray(0, end)), { hardState, entries })
  t.same(decodeBatch(buf.subarray(0, end)), { hardState, entries })
})
