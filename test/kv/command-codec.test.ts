import t from 'tap'
import { decodeEnvelope, encodeEnvelope, stampTime, NOW_OFFSET } from '../../lib/kv/command-codec.js'
import type { KvEnvelope, KvExpireCondition, KvOp, KvTimeUnit } from '../../lib/kv/command.js'
import { KvDecodeError, KvEncodeError } from '../../lib/kv/errors.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Prng } from '../../lib/util/prng.js'

function bytes(rng: Prng): Buffer {
  const out = Buffer.allocUnsafe(rng.int(rng.chance(0.1) ? 300 : 12))
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256)
  return out
}
function keys(rng: Prng): Buffer[] {
  return Array.from({ length: rng.int(4) }, () => bytes(rng))
}
function int64(rng: Prng): bigint {
  return BigInt.asIntN(64, (BigInt(rng.nextUint32()) << 32n) | BigInt(rng.nextUint32()))
}

function randomOp(rng: Prng): KvOp {
  const unit: KvTimeUnit = rng.pick(['seconds', 'milliseconds'] as const)
  switch (rng.int(21)) {
    case 0: {
      const expiry = rng.pick([
        { t: 'none' } as const,
        { t: 'keepTtl' } as const,
        { t: 'relative', unit, amount: int64(rng) } as const,
        { t: 'absolute', unit, amount: int64(rng) } as const,
      ])
      return { t: 'set', key: bytes(rng), value: bytes(rng), condition: rng.pick(['always', 'nx', 'xx'] as const), expiry, get: rng.chance(0.5) }
    }
    case 1: return { t: 'get', key: bytes(rng) }
    case 2: return { t: 'getdel', key: bytes(rng) }
    case 3: return { t: 'del', keys: keys(rng) }
    case 4: return { t: 'exists', keys: keys(rng) }
    case 5: return { t: 'incrby', key: bytes(rng), delta: int64(rng) }
    case 6: return { t: 'append', key: bytes(rng), value: bytes(rng) }
    case 7: return { t: 'strlen', key: bytes(rng) }
    case 8: return { t: 'mget', keys: keys(rng) }
    case 9: return { t: 'mset', pairs: keys(rng).map((key) => ({ key, value: bytes(rng) })) }
    case 10: return { t: 'setnx', key: bytes(rng), value: bytes(rng) }
    case 11: return {
      t: 'expire', key: bytes(rng), base: rng.pick(['relative', 'absolute'] as const), unit, amount: int64(rng),
      condition: rng.pick(['always', 'nx', 'xx', 'gt', 'lt', 'xxlt'] as const),
    }
    case 12: return { t: 'ttl', key: bytes(rng), unit }
    case 13: return { t: 'expiretime', key: bytes(rng), unit }
    case 14: return { t: 'persist', key: bytes(rng) }
    case 15: return { t: 'type', key: bytes(rng) }
    case 16: return { t: 'dbsize' }
    case 17: return { t: 'flushall' }
    case 18: return { t: 'dbexpires' }
    case 19: return { t: 'publish', channel: bytes(rng), message: bytes(rng) }
    default: return { t: 'expireSweep', keys: keys(rng) }
  }
}

function randomEnvelope(rng: Prng): KvEnvelope {
  return {
    nowMs: rng.int(2 ** 31) * 1000 + rng.int(1000),
    clientId: rng.chance(0.2) ? '' : `client-${rng.int(1000)}-é`,
    seq: rng.int(2 ** 31) * 4 + rng.int(4),
    write: {
      ops: Array.from({ length: 1 + rng.int(5) }, () => randomOp(rng)),
      watches: Array.from({ length: rng.int(3) }, () => ({ key: bytes(rng), version: rng.int(2 ** 31) * 2 })),
    },
  }
}

t.test('envelopes from a seeded generator decode to what was encoded', async (t) => {
  const rng = new Prng(20240601)
  for (let i = 0; i < 2000; i++) {
    const envelope = randomEnvelope(rng)
    const decoded = decodeEnvelope(encodeEnvelope(envelope))
    t.same(decoded, envelope, `envelope ${i}`)
    if (t.passing() === false) break
  }
})

function expireEnvelope(condition: KvExpireCondition): KvEnvelope {
  const op: KvOp = { t: 'expire', key: Buffer.from('k'), base: 'relative', unit: 'seconds', amount: 10n, condition }
  return { nowMs: 1, clientId: 'c', seq: 1, write: { ops: [op], watches: [] } }
}

t.test('an EXPIRE XX LT op decodes to what was encoded', async (t) => {
  const envelope = expireEnvelope('xxlt')
  t.same(decodeEnvelope(encodeEnvelope(envelope)), envelope)
})

t.test('EXPIRE condition bytes already in logs keep their meaning', async (t) => {
  // The condition is the last byte of an envelope whose last op is an expire.
  const conditions: readonly KvExpireCondition[] = ['always', 'nx', 'xx', 'gt', 'lt', 'xxlt']
  conditions.forEach((condition, tag) => {
    const data = encodeEnvelope(expireEnvelope(condition))
    t.equal(data[data.length - 1], tag, condition)
  })
})

t.test('stampTime overwrites nowMs in place without touching the rest', async (t) => {
  const envelope = randomEnvelope(new Prng(7))
  const data = encodeEnvelope(envelope)
  const before = Buffer.from(data)
  stampTime(data, 1_800_000_000_123)
  t.equal(decodeEnvelope(data).nowMs, 1_800_000_000_123)
  t.same({ ...decodeEnvelope(data), nowMs: 0 }, { ...envelope, nowMs: 0 })
  t.same(data.subarray(NOW_OFFSET + 8), before.subarray(NOW_OFFSET + 8))
})

t.test('every truncation of a valid envelope is a KvDecodeError', async (t) => {
  const data = encodeEnvelope(randomEnvelope(new Prng(11)))
  for (let cut = 0; cut < data.length; cut++) {
    t.throws(() => decodeEnvelope(data.subarray(0, cut)), KvDecodeError)
  }
  t.throws(() => decodeEnvelope(Buffer.concat([data, Buffer.from([0])])), KvDecodeError, 'trailing byte')
})

t.test('random garbage never throws anything but KvDecodeError', async (t) => {
  const rng = new Prng(99)
  let failures = 0
  for (let i = 0; i < 5000; i++) {
    const data = encodeEnvelope(randomEnvelope(rng))
    // Flip a few bytes of a valid envelope, or use pure noise.
    const noisy = rng.chance(0.5) ? Buffer.from(data) : Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)))
    for (let k = 0; k < 3; k++) if (noisy.length > 0) noisy[rng.int(noisy.length)] = rng.int(256)
    try {
      decodeEnvelope(noisy)
    } catch (err) {
      if (!(err instanceof KvDecodeError)) failures++
    }
  }
  t.equal(failures, 0)
})

t.test('a forged huge count is rejected before allocating', async (t) => {
  const data = encodeEnvelope({ nowMs: 1, clientId: 'c', seq: 1, write: { ops: [], watches: [] } })
  // The op count is the last 4 bytes of an empty write.
  data.writeUInt32LE(0xffffffff, data.length - 4)
  t.throws(() => decodeEnvelope(data), KvDecodeError)
})

t.test('apply rejects undecodable data, advances the index and changes nothing', async (t) => {
  const sm = new KvStateMachine()
  const before = sm.snapshot()
  const rng = new Prng(5)
  for (let i = 1; i <= 500; i++) {
    const junk = Buffer.from(Array.from({ length: rng.int(40) }, () => rng.int(256)))
    junk[0] = rng.chance(0.5) ? 1 : junk[0] as number
    const r = sm.apply(i, junk)
    if (r.t !== 'rejected' && r.t !== 'results') t.fail(`unexpected ${r.t}`)
  }
  t.equal(sm.appliedIndex, 500)
  t.equal(sm.apply(501, Buffer.alloc(0)).t, 'rejected')
  t.ok(sm.size() >= 0)
  t.ok(before.length > 0)
})

t.test('encoding refuses values the layout cannot hold', async (t) => {
  const write = { ops: [], watches: [] }
  t.throws(() => encodeEnvelope({ nowMs: -1, clientId: '', seq: 0, write }), KvEncodeError)
  t.throws(() => encodeEnvelope({ nowMs: 0, clientId: 'x'.repeat(256), seq: 0, write }), KvEncodeError)
  t.throws(() => encodeEnvelope({ nowMs: 0, clientId: '', seq: 0.5, write }), KvEncodeError)
  t.throws(() => encodeEnvelope({
    nowMs: 0, clientId: '', seq: 0, write: { ops: [{ t: 'incrby', key: Buffer.alloc(1), delta: 2n ** 63n }], watches: [] },
  }), KvEncodeError)
  t.throws(() => stampTime(Buffer.alloc(3), 5), KvEncodeError)
})

/** A plain SET's bytes as the layout at the top of command-codec.ts spells them, built here without the encoder. */
function plainSetLayout(nowMs: number, clientId: string, seq: number, key: Buffer, value: Buffer): Buffer {
  const id = Buffer.from(clientId, 'utf8')
  const header = Buffer.alloc(18)
  header[0] = 1
  header.writeDoubleLE(nowMs, 1)
  header.writeDoubleLE(seq, 9)
  header[17] = id.length
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n)
    return b
  }
  // No watches, one op: tag 0 (set), key, value, condition 0 (always), expiry 0 (none), get 0.
  return Buffer.concat([header, id, u32(0), u32(1), Buffer.from([0]), u32(key.length), key, u32(value.length), value, Buffer.from([0, 0, 0])])
}

t.test('a plain SET is written byte for byte as the layout says, for lengths on both sides of the short-copy bound', async (t) => {
  const rng = new Prng(20261206)
  const lengths = [0, 1, 31, 32, 33, 100, 300]
  for (const clientId of ['', 'n1/0123456789ab', 'client-é-ü', 'x'.repeat(255)]) {
    for (const keyLength of lengths) {
      for (const valueLength of lengths) {
        const key = Buffer.from(Array.from({ length: keyLength }, () => rng.int(256)))
        const value = Buffer.from(Array.from({ length: valueLength }, () => rng.int(256)))
        const nowMs = rng.int(2 ** 31) * 1000
        const seq = rng.int(2 ** 31) * 4 + rng.int(4)
        const envelope: KvEnvelope = { nowMs, clientId, seq, write: { ops: [{ t: 'set', key, value, condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] } }
        const data = encodeEnvelope(envelope)
        t.same(data, plainSetLayout(nowMs, clientId, seq, key, value), `client id ${clientId.length} chars, key ${keyLength}, value ${valueLength}`)
        t.same(decodeEnvelope(data), envelope)
      }
    }
  }
})

t.test('each envelope carries its own client id when ids alternate', async (t) => {
  const write = { ops: [{ t: 'set' as const, key: Buffer.from('k'), value: Buffer.from('v'), condition: 'always' as const, expiry: { t: 'none' as const }, get: false }], watches: [] }
  for (const clientId of ['a', 'bb', 'a', '', 'é', 'a']) {
    t.equal(decodeEnvelope(encodeEnvelope({ nowMs: 1, clientId, seq: 2, write })).clientId, clientId)
  }
})

t.test('a client id over 255 bytes is refused right after a short one was encoded', async (t) => {
  const write = { ops: [], watches: [] }
  encodeEnvelope({ nowMs: 0, clientId: 'short', seq: 0, write })
  t.throws(() => encodeEnvelope({ nowMs: 0, clientId: 'é'.repeat(128), seq: 0, write }), KvEncodeError)
  t.equal(decodeEnvelope(encodeEnvelope({ nowMs: 0, clientId: 'short', seq: 0, write: { ops: [{ t: 'dbsize' }], watches: [] } })).clientId, 'short')
})
