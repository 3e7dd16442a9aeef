// Flat messages (every field a string, long or boolean) go through codecs
// generated from their schema: the same bytes as avsc writes, the same plain
// objects as avsc's reader and the copier give, the same refusals.
import t from 'tap'
import { compileFlatRecordCodec, flatFieldsOf } from '../../lib/transport/flat-record-codec.js'
import { FRAME_HEADER_BYTES } from '../../lib/transport/frame-codec.js'
import { UnionCodec, WireDecodeError, wireCodec } from '../../lib/transport/wire-codec.js'
import type { WireMessage } from '../../lib/transport/wire-message.js'
import { WIRE_MESSAGE_SCHEMAS, wireBranchTypes } from '../../lib/transport/wire-schema.js'
import { Prng } from '../../lib/util/prng.js'

/** avsc's own encoder and reader for the same union: the reference. */
const avscCodec = new UnionCodec<WireMessage>(wireBranchTypes)

const flatSchemas = WIRE_MESSAGE_SCHEMAS.map((schema) => ({ name: (schema as { name: string }).name, fields: flatFieldsOf(schema) }))
  .filter((s): s is { name: string; fields: NonNullable<ReturnType<typeof flatFieldsOf>> } => s.fields !== null)

function randomLong(prng: Prng): number {
  switch (prng.int(5)) {
    case 0: return prng.int(64)
    case 1: return -prng.int(1000)
    case 2: return Number.MAX_SAFE_INTEGER - 1 - prng.int(1000)
    case 3: return -(Number.MAX_SAFE_INTEGER - 1) + prng.int(1000)
    default: return prng.int(2 ** 31) * 2 ** 21 + prng.int(2 ** 21)
  }
}

function randomString(prng: Prng): string {
  const alphabet = ['a', 'n', '7', '-', ':', 'é', '€', '𝄞', '"', '\\']
  let out = ''
  for (let i = prng.int(prng.int(4) === 0 ? 300 : 12); i > 0; i--) out += prng.pick(alphabet)
  return out
}

/** A message of record `name` with random values; fields with a default are sometimes left out. */
function randomMessage(prng: Prng, name: string, fields: NonNullable<ReturnType<typeof flatFieldsOf>>): WireMessage {
  const msg: Record<string, unknown> = { type: name }
  for (const f of fields) {
    if (f.default !== undefined && prng.int(3) === 0) continue
    msg[f.name] = f.type === 'string' ? randomString(prng) : f.type === 'long' ? randomLong(prng) : prng.int(2) === 1
  }
  return msg as unknown as WireMessage
}

t.test('the messages of every replication round are flat: acks, heartbeats, votes, read rounds', async (t) => {
  const names = flatSchemas.map((s) => s.name)
  for (const name of ['AppendResp', 'Heartbeat', 'HeartbeatResp', 'PreVote', 'Vote', 'PreVoteResp', 'VoteResp', 'ReadIndex', 'ReadIndexResp', 'TimeoutNow']) {
    t.ok(names.includes(name), name)
  }
  for (const name of ['Append', 'Snapshot', 'SnapshotChunk', 'ForwardRequest', 'AdminRequest']) t.notOk(names.includes(name), `${name} is not flat`)
})

t.test('every flat message encodes to the bytes avsc writes (seeded, 300 per type)', async (t) => {
  const prng = new Prng(16_034)
  let checked = 0
  for (const { name, fields } of flatSchemas) {
    for (let i = 0; i < 300; i++) {
      const msg = randomMessage(prng, name, fields)
      const ours = wireCodec.encodeFrame(msg)
      const theirs = avscCodec.encodeFrame(msg)
      if (!ours.equals(theirs)) {
        t.fail(`${name}: ${JSON.stringify(msg)} encodes to ${ours.toString('hex')}, avsc ${theirs.toString('hex')}`)
        return
      }
      t.same(wireCodec.encodeFrameParts(msg), theirs)
      checked++
    }
  }
  t.equal(checked, flatSchemas.length * 300)
})

t.test('every flat message decodes to what avsc decodes, with the same keys in the same order (seeded, 300 per type)', async (t) => {
  const prng = new Prng(16_035)
  for (const { name, fields } of flatSchemas) {
    for (let i = 0; i < 300; i++) {
      const payload = avscCodec.encodeFrame(randomMessage(prng, name, fields)).subarray(FRAME_HEADER_BYTES)
      const ours = wireCodec.decode(payload) as unknown as Record<string, unknown>
      const theirs = avscCodec.decode(payload) as unknown as Record<string, unknown>
      if (JSON.stringify(Object.keys(ours)) !== JSON.stringify(Object.keys(theirs)) || JSON.stringify(ours) !== JSON.stringify(theirs)) {
        t.fail(`${name}: decoded ${JSON.stringify(ours)}, avsc ${JSON.stringify(theirs)}`)
        return
      }
    }
  }
  t.pass('all decoded alike')
})

t.test('clockMs 0 decodes as absent, any other value is kept last', async (t) => {
  const base = { type: 'AppendResp', from: 'n2', to: 'n1', term: 3, reject: false, index: 42, hintIndex: 0, hintTerm: 0, fromIncarnation: 'a', toIncarnation: 'b' } as const
  const payloadOf = (msg: WireMessage): Buffer => wireCodec.encodeFrame(msg).subarray(FRAME_HEADER_BYTES)
  t.same(Object.keys(wireCodec.decode(payloadOf({ ...base, clockMs: 0 }))), Object.keys(base))
  const stamped = wireCodec.decode(payloadOf({ ...base, clockMs: 1_700_000_000_123 }))
  t.same(Object.keys(stamped), [...Object.keys(base), 'clockMs'])
  t.equal((stamped as { clockMs?: number }).clockMs, 1_700_000_000_123)
})

t.test('left-out incarnations and clockMs are written as their defaults, as avsc writes them', async (t) => {
  const msg = { type: 'Heartbeat', from: 'n1', to: 'n2', term: 9, commit: 100, readSeq: 7 } as const
  t.same(wireCodec.encodeFrame(msg), avscCodec.encodeFrame(msg))
  t.same(wireCodec.decode(wireCodec.encodeFrame(msg).subarray(FRAME_HEADER_BYTES)), { ...msg, fromIncarnation: '', toIncarnation: '' })
})

t.test('a field that does not fit its schema is refused at encode time', async (t) => {
  const ok = { type: 'HeartbeatResp', from: 'n2', to: 'n1', term: 3, readSeq: 1 }
  t.throws(() => wireCodec.encodeFrame({ ...ok, term: 2 ** 53 } as unknown as WireMessage), /HeartbeatResp\.term/)
  t.throws(() => wireCodec.encodeFrame({ ...ok, term: 1.5 } as unknown as WireMessage), /HeartbeatResp\.term/)
  t.throws(() => wireCodec.encodeFrame({ ...ok, term: '3' } as unknown as WireMessage), /HeartbeatResp\.term/)
  t.throws(() => wireCodec.encodeFrame({ ...ok, from: 7 } as unknown as WireMessage), /HeartbeatResp\.from/)
  t.throws(() => wireCodec.encodeFrame({ ...ok, to: undefined } as unknown as WireMessage), /HeartbeatResp\.to/)
  t.throws(() => wireCodec.encodeFrame({ type: 'VoteResp', from: 'a', to: 'b', term: 1, reject: 0 } as unknown as WireMessage), /VoteResp\.reject/)
})

t.test('a flat message cut short at any byte is a WireDecodeError', async (t) => {
  const payload = wireCodec.encodeFrame({ type: 'AppendResp', from: 'n2', to: 'n1', term: 3, reject: true, index: 300, hintIndex: 299, hintTerm: 2, fromIncarnation: 'inc-a', toIncarnation: 'inc-b', clockMs: 1_700_000_000_123 }).subarray(FRAME_HEADER_BYTES)
  for (let end = 1; end < payload.length; end++) t.throws(() => wireCodec.decode(payload.subarray(0, end)), WireDecodeError, `cut at ${end}`)
})

t.test('trailing bytes, a boolean byte other than 0 or 1 and a long beyond 2^53 are WireDecodeErrors', async (t) => {
  const payload = wireCodec.encodeFrame({ type: 'VoteResp', from: 'n2', to: 'n1', term: 3, reject: true }).subarray(FRAME_HEADER_BYTES)
  t.throws(() => wireCodec.decode(Buffer.concat([payload, Buffer.from([0])])), { name: 'WireDecodeError', message: /VoteResp: trailing bytes/ })
  const badBoolean = Buffer.from(payload)
  // The boolean is the byte before the three stamps ('' '' and clockMs 0: one 0 byte each).
  badBoolean[badBoolean.length - 4] = 2
  t.throws(() => wireCodec.decode(badBoolean), { name: 'WireDecodeError', message: /invalid boolean byte 2/ })
  const hugeTerm = Buffer.concat([payload.subarray(0, 7), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]), payload.subarray(8)])
  t.throws(() => wireCodec.decode(hugeTerm), { name: 'WireDecodeError', message: /long out of range/ })
  t.throws(() => avscCodec.decode(hugeTerm), WireDecodeError, 'avsc refuses it too')
})

t.test('field names are quoted, not spliced into the generated code', async (t) => {
  const name = "x'); globalThis.injectedByName = 1; ('"
  const codec = compileFlatRecordCodec('Evil"); globalThis.injectedByType = 1; ("', 3, [{ name, type: 'long' }, { name: 'ok', type: 'boolean' }])
  const frame = codec.encodeFrame({ [name]: 5, ok: true })
  t.same([...frame.subarray(FRAME_HEADER_BYTES)], [6, 10, 1])
  t.same(codec.decode(frame.subarray(FRAME_HEADER_BYTES)), { type: 'Evil"); globalThis.injectedByType = 1; ("', [name]: 5, ok: true })
  t.notOk('injectedByName' in globalThis)
  t.notOk('injectedByType' in globalThis)
})

t.test('a schema with a field that is not a string, long or boolean, or with clockMs not last, is left to avsc', async (t) => {
  t.equal(flatFieldsOf({ fields: [{ name: 'data', type: 'bytes' }] }), null)
  t.equal(flatFieldsOf({ fields: [{ name: 'clockMs', type: 'long' }, { name: 'x', type: 'long' }] }), null)
  t.same(flatFieldsOf({ fields: [{ name: 'x', type: 'string', default: '' }, { name: 'clockMs', type: 'long', default: 0 }] }), [
    { name: 'x', type: 'string', default: '' },
    { name: 'clockMs', type: 'long', default: 0 },
  ])
})
