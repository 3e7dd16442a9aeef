// The state machine's fast path for plain SET entries must read exactly what
// decodeEnvelope reads, and step aside for everything else: these tests check
// that on every SET shape, on other writes, and on thousands of corrupted
// copies (a wrong answer here would let replicas diverge from the general path).
import t, { type Test } from 'tap'
import { PlainSetReader, decodeEnvelope, encodeEnvelope } from '../../lib/kv/command-codec.js'
import type { KvOp, KvSetExpiry } from '../../lib/kv/command.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Prng } from '../../lib/util/prng.js'
import { Driver, T0, b, get, plain, set } from './fixtures/driver.js'

const expiries: KvSetExpiry[] = [
  { t: 'none' },
  { t: 'keepTtl' },
  { t: 'relative', unit: 'seconds', amount: 10n },
  { t: 'relative', unit: 'milliseconds', amount: -5n },
  { t: 'absolute', unit: 'milliseconds', amount: BigInt(T0 + 1000) },
  { t: 'absolute', unit: 'seconds', amount: 9_223_372_036_854_775_807n },
]

function setEnvelopes(): Buffer[] {
  const out: Buffer[] = []
  for (const expiry of expiries) {
    for (const condition of ['always', 'nx', 'xx'] as const) {
      for (const getFlag of [false, true]) {
        const op: KvOp = { t: 'set', key: b('k\x00\xff'), value: b('v'.repeat(7)), condition, expiry, get: getFlag }
        out.push(encodeEnvelope({ nowMs: T0, clientId: 'n1/ab\u00e9', seq: 42, write: { ops: [op], watches: [] } }))
      }
    }
  }
  out.push(encodeEnvelope({ nowMs: 0, clientId: '', seq: 0, write: { ops: [set('', '')], watches: [] } }))
  return out
}

function sameAsDecoder(t: Test, reader: PlainSetReader, data: Buffer): void {
  const env = decodeEnvelope(data)
  const op = env.write.ops[0]
  if (op?.t !== 'set' || env.write.ops.length !== 1 || env.write.watches.length !== 0) {
    t.fail('the reader accepted an envelope that is not one plain SET')
    return
  }
  t.same(
    {
      nowMs: reader.nowMs, seq: reader.seq, clientId: reader.clientId,
      key: data.subarray(reader.keyStart, reader.keyEnd), value: data.subarray(reader.valueStart, reader.valueEnd),
      condition: reader.condition, expiry: reader.expiry, get: reader.get,
    },
    { nowMs: env.nowMs, seq: env.seq, clientId: env.clientId, key: op.key, value: op.value, condition: op.condition, expiry: op.expiry, get: op.get },
  )
}

t.test('reads every SET shape exactly as decodeEnvelope does', async (t) => {
  const reader = new PlainSetReader()
  for (const data of setEnvelopes()) {
    t.ok(reader.read(data))
    sameAsDecoder(t, reader, data)
  }
})

t.test('steps aside for other writes', async (t) => {
  const reader = new PlainSetReader()
  const others: { ops: KvOp[]; watches: { key: Buffer; version: number }[] }[] = [
    { ops: [get('k')], watches: [] },
    { ops: [set('a', '1'), set('b', '2')], watches: [] },
    { ops: [set('a', '1')], watches: [{ key: b('a'), version: 2 }] },
    { ops: [{ t: 'mset', pairs: [{ key: b('a'), value: b('1') }] }], watches: [] },
  ]
  for (const write of others) t.notOk(reader.read(encodeEnvelope({ nowMs: T0, clientId: 'c', seq: 1, write })))
})

t.test('on corrupted bytes it either steps aside or agrees with decodeEnvelope', async (t) => {
  const reader = new PlainSetReader()
  const prng = new Prng(8)
  let accepted = 0
  let declined = 0
  for (const original of setEnvelopes()) {
    for (let i = 0; i < 400; i++) {
      const data = Buffer.from(original)
      const flips = 1 + prng.int(3)
      for (let f = 0; f < flips; f++) data[prng.int(data.length)] = prng.int(256)
      const cut = prng.int(4) === 0 ? data.subarray(0, prng.int(data.length + 1)) : data
      if (reader.read(cut)) {
        accepted++
        sameAsDecoder(t, reader, cut)
      } else declined++
    }
  }
  t.ok(accepted > 0 && declined > 0, `${accepted} accepted, ${declined} declined`)
})

t.test('a state machine fed plain SETs ends in the same state as one fed the same SETs next to a read, through the general path', async (t) => {
  // The second machine sees each SET next to a read (two ops), which takes the general path.
  const fast = new Driver()
  const general = new Driver()
  const prng = new Prng(3)
  for (let i = 0; i < 3000; i++) {
    const key = `k${prng.int(200)}`
    const expiry = expiries[prng.int(3)] as KvSetExpiry
    const condition = (['always', 'nx', 'xx'] as const)[prng.int(3)] ?? 'always'
    const op: KvOp = { t: 'set', key: b(key), value: b(`v${i}`), condition, expiry, get: prng.int(2) === 1 }
    const nowMs = T0 + i * 100
    const clientId = `c${prng.int(3)}`
    const seq = i + 1 - prng.int(2)
    const r1 = fast.write([op], { nowMs, clientId, seq })
    const r2 = general.write([op, get(key)], { nowMs, clientId, seq })
    if (r1.t === 'results' && r2.t === 'results') t.same(r1.results.map(plain), r2.results.slice(0, 1).map(plain))
    else t.equal(r1.t, r2.t)
  }
  const snapFast = fast.sm.snapshot()
  t.same(KvStateMachine.restore(snapFast).size(), fast.sm.size())
  // Same keys, values, deadlines and versions (sessions differ: their remembered outcomes hold the extra GET).
  for (let k = 0; k < 200; k++) {
    const key = b(`k${k}`)
    const nowMs = T0 + 3000 * 100
    t.same(plain(fast.sm.read(get(`k${k}`), nowMs)), plain(general.sm.read(get(`k${k}`), nowMs)))
    t.equal(fast.sm.version(key, nowMs), general.sm.version(key, nowMs))
  }
})
