import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { FRAME_HEADER_BYTES } from '../../lib/transport/frame-codec.js'
import { WIRE_MESSAGE_TYPES, WireDecodeError, decodeWireMessage, encodeWireFrame, wireCodec } from '../../lib/transport/wire-codec.js'
import { WIRE_INTEGER_MAX, type WireMessage } from '../../lib/transport/wire-message.js'
import { wireUnionType } from '../../lib/transport/wire-schema.js'
import { WireGen } from './fixtures/wire-gen.js'

const ALL_TYPES = [
  'PreVote', 'Vote', 'PreVoteResp', 'VoteResp', 'Append', 'AppendResp', 'Heartbeat', 'HeartbeatResp',
  'Snapshot', 'TimeoutNow', 'ReadIndex', 'ReadIndexResp', 'JoinRequest', 'JoinResponse', 'ForwardRequest',
  'ForwardResponse', 'SnapshotChunk', 'SnapshotChunkAck', 'AdminRequest', 'AdminResponse',
]

function payloadOf(frame: Buffer): Buffer {
  return frame.subarray(FRAME_HEADER_BYTES)
}

t.test('the wire union has a branch for every message type', async (t) => {
  t.same([...WIRE_MESSAGE_TYPES].sort(), [...ALL_TYPES].sort())
})

t.test('every message type round-trips through a frame unchanged (seeded, 200 per type)', async (t) => {
  const gen = new WireGen(4242)
  let checked = 0
  for (const type of WIRE_MESSAGE_TYPES) {
    for (let i = 0; i < 200; i++) {
      const msg = gen.message(type)
      const frame = encodeWireFrame(msg)
      const back = decodeWireMessage(payloadOf(frame))
      // Plain checks in the loop, one tap assertion at the end: 4000 asserts would dominate the run time.
      if (frame.readUInt32BE(0) !== frame.length - FRAME_HEADER_BYTES || !isDeepStrictEqual(back, msg)) {
        t.strictSame(back, msg, `${type} #${i}`)
        return
      }
      checked++
    }
  }
  t.equal(checked, 200 * WIRE_MESSAGE_TYPES.length)
})

t.test('frames are byte-for-byte the Avro union encoding', async (t) => {
  const gen = new WireGen(7)
  for (const type of WIRE_MESSAGE_TYPES) {
    const msg = gen.message(type)
    const decodedByAvsc = wireUnionType.fromBuffer(payloadOf(encodeWireFrame(msg))) as Record<string, unknown>
    t.same(Object.keys(decodedByAvsc), [type], `avsc reads a ${type} back`)
  }
})

t.test('decoded entries keep only the fields of their variant', async (t) => {
  const msg: WireMessage = {
    type: 'Append', from: 'a', to: 'b', term: 2, prevIndex: 0, prevTerm: 0, commit: 0, fromIncarnation: 'x', toIncarnation: 'y',
    entries: [
      { index: 1, term: 2, kind: 'noop' },
      { index: 2, term: 2, kind: 'normal', data: Buffer.from([0, 255, 10, 13]) },
      { index: 3, term: 2, kind: 'config', config: { members: [{ id: 'a', addr: 'h:1', role: 'voter' }] } },
    ],
  }
  const back = decodeWireMessage(payloadOf(encodeWireFrame(msg)))
  t.strictSame(back, msg)
  t.same(back.type === 'Append' && back.entries.map((e) => Object.keys(e)), [
    ['index', 'term', 'kind'],
    ['index', 'term', 'kind', 'data'],
    ['index', 'term', 'kind', 'config'],
  ])
})

t.test('decoded bytes do not alias the frame buffer', async (t) => {
  const frame = encodeWireFrame({ type: 'ForwardRequest', requestId: 'r', data: Buffer.from('abc') })
  const back = decodeWireMessage(payloadOf(frame))
  frame.fill(0)
  t.equal(back.type === 'ForwardRequest' && back.data.toString(), 'abc')
})

t.test('a large message (1 MiB of data) encodes past the scratch buffer', async (t) => {
  const data = Buffer.alloc(1024 * 1024 + 3, 7)
  const back = decodeWireMessage(payloadOf(encodeWireFrame({ type: 'ForwardRequest', requestId: 'big', data })))
  t.ok(back.type === 'ForwardRequest' && back.data.equals(data))
})

t.test('an unsafe integer is refused at encode time', async (t) => {
  t.throws(() => encodeWireFrame({ type: 'TimeoutNow', from: 'a', to: 'b', term: WIRE_INTEGER_MAX + 2 }))
})

t.test('an unknown union index is a WireDecodeError', async (t) => {
  t.throws(() => decodeWireMessage(Buffer.from([2 * 60, 0, 0])), WireDecodeError)
  t.throws(() => decodeWireMessage(Buffer.from([1])), WireDecodeError)
})

t.test('trailing bytes after a message are a WireDecodeError', async (t) => {
  const payload = payloadOf(encodeWireFrame({ type: 'TimeoutNow', from: 'a', to: 'b', term: 1 }))
  t.throws(() => decodeWireMessage(Buffer.concat([payload, Buffer.from([0])])), WireDecodeError)
})

t.test('a truncated message is a WireDecodeError', async (t) => {
  const payload = payloadOf(encodeWireFrame({ type: 'ReadIndex', from: 'a', to: 'b', term: 1, ctx: 'hello' }))
  for (let cut = 1; cut < payload.length; cut++) {
    t.throws(() => decodeWireMessage(payload.subarray(0, cut)), WireDecodeError, `cut at ${cut}`)
  }
})

t.test('an array count larger than the frame is refused without looping over it', async (t) => {
  // Append header fields, then an entry count of 2^40 and nothing else.
  const head = payloadOf(encodeWireFrame({ type: 'Append', from: 'a', to: 'b', term: 1, prevIndex: 1, prevTerm: 1, entries: [], commit: 1 }))
  const countAt = head.length - 2 // entries (1 byte: 0) then commit (1 byte)
  const huge = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]) // zigzag varint of 2^40
  const payload = Buffer.concat([head.subarray(0, countAt), huge, Buffer.from([2])])
  const started = process.hrtime.bigint()
  t.throws(() => decodeWireMessage(payload), WireDecodeError)
  // Generous: looping over 2^40 entries would take hours, so any bound a loaded machine meets tells them apart.
  t.ok(process.hrtime.bigint() - started < 5_000_000_000n, 'fails without looping (well under 5 s)')
})

t.test('random payloads only ever produce a message or a WireDecodeError (seeded, 20000 cases)', async (t) => {
  const gen = new WireGen(99)
  let decoded = 0
  for (let i = 0; i < 20000; i++) {
    const payload = gen.prng.chance(0.5) ? gen.bytes(40) : mutate(gen, payloadOf(encodeWireFrame(gen.message(gen.prng.pick(WIRE_MESSAGE_TYPES)))))
    try {
      wireCodec.decode(payload)
      decoded++
    } catch (error) {
      if (!(error instanceof WireDecodeError)) {
        t.fail(`non-WireDecodeError for ${payload.toString('hex')}: ${String(error)}`)
        return
      }
    }
  }
  t.pass(`${decoded} of 20000 decoded`)
})

function mutate(gen: WireGen, payload: Buffer): Buffer {
  const out = Buffer.from(payload)
  for (let i = 1 + gen.prng.int(3); i > 0 && out.length > 0; i--) out[gen.prng.int(out.length)] = gen.prng.int(256)
  return gen.prng.chance(0.3) ? out.subarray(0, gen.prng.int(out.length + 1)) : out
}

t.test('a large snapshot chunk goes out as parts whose bytes are its one-buffer frame, its data not copied', async (t) => {
  const gen = new WireGen(31)
  for (let i = 0; i < 20; i++) {
    const chunk = gen.message('SnapshotChunk')
    if (chunk.type !== 'SnapshotChunk') throw new Error('the generator made another type')
    // Sizes around the length varint's steps (2 and 3 bytes) and a chunk's size.
    const dataBytes = [16 * 1024 + 1, 2 ** 21 - 1, 2 ** 21, 512 * 1024][i % 4] as number
    const data = Buffer.alloc(dataBytes, i)
    const msg: WireMessage = { ...chunk, data, clockMs: i % 2 === 0 ? undefined : 1_700_000_000_000 + i }
    const parts = wireCodec.encodeFrameParts(msg)
    if (!Array.isArray(parts)) {
      t.fail('a chunk of this size is sent as parts')
      return
    }
    t.equal(parts[1], data, 'the data part is the chunk read from the file')
    const frame = Buffer.concat(parts)
    t.ok(frame.equals(encodeWireFrame(msg)), `#${i}: the same bytes as the one-buffer frame`)
    const back = decodeWireMessage(payloadOf(frame))
    t.ok(back.type === 'SnapshotChunk' && back.data.equals(data) && back.crc === msg.crc && back.toIncarnation === msg.toIncarnation, `#${i}: decodes back`)
  }
})

t.test('a small snapshot chunk is one frame buffer', async (t) => {
  const chunk = new WireGen(32).message('SnapshotChunk')
  t.ok(Buffer.isBuffer(wireCodec.encodeFrameParts(chunk)))
})
