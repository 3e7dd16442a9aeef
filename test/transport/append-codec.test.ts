// Append frames are encoded by hand (lib/transport/append-codec.ts): the same
// bytes as avsc's, one entries section shared by every follower at the same
// position, and a follower's log record reuses the bytes it received.
import t from 'tap'
import { rememberedRuns } from '../../lib/codec/encoded-runs.js'
import type { AppendRequest, Entry } from '../../lib/raft/types.js'
import { decodeBatch, encodeBatchInto } from '../../lib/storage/entry-codec.js'
import { FRAME_HEADER_BYTES } from '../../lib/transport/frame-codec.js'
import { decodeWireMessage, encodeWireFrame, encodeWireFrameParts } from '../../lib/transport/wire-codec.js'
import { wireUnionType } from '../../lib/transport/wire-schema.js'
import { WireGen } from './fixtures/wire-gen.js'

function avscFrame(msg: AppendRequest): Buffer {
  const payload = wireUnionType.toBuffer({ Append: { fromIncarnation: '', toIncarnation: '', clockMs: 0, ...msg } })
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  payload.copy(frame, FRAME_HEADER_BYTES)
  return frame
}

function entriesOf(count: number, dataBytes: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: 100 + i, term: 3, kind: 'normal' as const, data: Buffer.alloc(dataBytes, i) }))
}

function append(to: string, entries: readonly Entry[]): AppendRequest {
  return { type: 'Append', from: 'n1', to, term: 3, prevIndex: 99, prevTerm: 3, entries, commit: 98, fromIncarnation: 'i1', toIncarnation: `i-${to}` }
}

function joined(parts: Buffer | readonly Buffer[]): Buffer {
  return Buffer.isBuffer(parts) ? parts : Buffer.concat(parts as Buffer[])
}

t.test('an Append frame is byte for byte what avsc writes (seeded, 300 messages)', async (t) => {
  const gen = new WireGen(31)
  for (let i = 0; i < 300; i++) {
    const msg = gen.message('Append') as AppendRequest
    if (!encodeWireFrame(msg).equals(avscFrame(msg))) {
      t.same(encodeWireFrame(msg), avscFrame(msg), `message ${i}`)
      return
    }
  }
  t.pass('all equal')
})

t.test('a large Append goes out as head, shared body and tail that add up to the one-buffer frame', async (t) => {
  const msg = append('n2', entriesOf(400, 100))
  const parts = encodeWireFrameParts(msg)
  t.notOk(Buffer.isBuffer(parts), 'in parts')
  t.same(joined(parts), encodeWireFrame(msg))
  t.same(decodeWireMessage(joined(parts).subarray(FRAME_HEADER_BYTES)), msg)
})

t.test('followers at the same position share one encoding of the entries', async (t) => {
  const entries = entriesOf(400, 100)
  const toN2 = encodeWireFrameParts(append('n2', entries)) as readonly Buffer[]
  // A new slice array of the same entry objects, as the leader makes per follower.
  const toN3 = encodeWireFrameParts(append('n3', entries.slice())) as readonly Buffer[]
  t.equal(toN2[1], toN3[1], 'the same body buffer')
  t.not(toN2[0], toN3[0], 'each its own head')
  const other = encodeWireFrameParts(append('n3', entries.map((e) => ({ ...e })))) as readonly Buffer[]
  t.not(other[1], toN2[1], 'other entry objects get their own encoding')
  t.same(other[1], toN2[1], 'with the same bytes')
})

t.test('a follower writes to its log the entry bytes it received, as they are', async (t) => {
  const frame = encodeWireFrame(append('n2', entriesOf(3, 5)))
  const payload = Buffer.from(frame.subarray(FRAME_HEADER_BYTES))
  // Re-encode the first entry's term (3, one byte 0x06) in a longer form a
  // reader still accepts (0x86 0x00): only a copy of the received bytes keeps it.
  const section = payload.indexOf(Buffer.from([0x06, 0xc8, 0x01, 0x06])) // count 3, index 100, term 3
  t.ok(section > 0, 'found the entries section')
  const patched = Buffer.concat([payload.subarray(0, section + 3), Buffer.from([0x86, 0x00]), payload.subarray(section + 4)])
  const msg = decodeWireMessage(patched)
  if (msg.type !== 'Append') return t.fail('not an Append')
  t.equal(msg.entries[0]?.term, 3)
  const record = Buffer.alloc(1024)
  const end = encodeBatchInto({ hardState: null, entries: msg.entries }, record, 0)
  t.ok(record.subarray(0, end).includes(Buffer.from([0xc8, 0x01, 0x86, 0x00])), 'the received bytes, not a new encoding')
  t.same(decodeBatch(record.subarray(0, end)).entries, msg.entries, 'and they read back as the same entries')
})

t.test('remembered bytes are used only for the very same entry objects, then forgotten', async (t) => {
  const msg = decodeWireMessage(Buffer.from(encodeWireFrame(append('n2', entriesOf(2, 4))).subarray(FRAME_HEADER_BYTES)))
  if (msg.type !== 'Append') return t.fail('not an Append')
  const [first, second] = msg.entries as [Entry, Entry]
  const lookalike: Entry = { index: second.index, term: second.term, kind: 'normal', data: Buffer.from('xxxx') }
  const record = Buffer.alloc(1024)
  const end = encodeBatchInto({ hardState: null, entries: [first, lookalike] }, record, 0)
  t.same(decodeBatch(record.subarray(0, end)).entries, [first, lookalike], 'encoded from the entries themselves')
  const before = rememberedRuns()
  encodeBatchInto({ hardState: null, entries: msg.entries }, record, 0)
  t.equal(rememberedRuns(), before - 1, 'the run is forgotten once written')
})

t.test('an Append whose entries come in several array blocks decodes as avsc decodes it', async (t) => {
  const entries = entriesOf(2, 3) // 9 bytes each: index (2), term, kind, length, 3 data bytes, no members
  const two = encodeWireFrame(append('n2', entries)).subarray(FRAME_HEADER_BYTES)
  const section = two.indexOf(Buffer.from([0x04, 0xc8, 0x01, 0x06])) // count 2, index 100, term 3
  const e0 = two.subarray(section + 1, section + 10)
  const e1 = two.subarray(section + 10, section + 19)
  const tail = two.subarray(section + 20)
  // [count 2][e0][e1][0] as [count -1][size 9][e0][count 1][e1][0]
  const blocks = Buffer.concat([two.subarray(0, section), Buffer.from([0x01, 0x12]), e0, Buffer.from([0x02]), e1, Buffer.from([0x00]), tail])
  t.same(decodeWireMessage(blocks), decodeWireMessage(two))
  const reference = wireUnionType.fromBuffer(blocks) as { Append: AppendRequest }
  t.same(reference.Append.entries, entries)
})

t.test('an unsafe integer in an Append is refused at encode time', async (t) => {
  t.throws(() => encodeWireFrame({ ...append('n2', []), commit: Number.MAX_SAFE_INTEGER }), RangeError)
  t.throws(() => encodeWireFrame(append('n2', [{ index: 1.5, term: 1, kind: 'noop' }])), RangeError)
})

t.test('remembered encodings are bounded: the oldest are dropped', async (t) => {
  for (let i = 0; i < 200; i++) encodeWireFrame(append('n2', entriesOf(1, 1)))
  t.ok(rememberedRuns() <= 16, `${rememberedRuns()} remembered`)
})

t.test('ids and incarnations repeated across Appends decode to the strings sent, past the recent-value slots', async (t) => {
  const decodeAs = (msg: AppendRequest, what: string): boolean => {
    const decoded = decodeWireMessage(Buffer.from(encodeWireFrame(msg).subarray(FRAME_HEADER_BYTES)))
    if (decoded.type === 'Append' && decoded.from === msg.from && decoded.to === msg.to && decoded.fromIncarnation === msg.fromIncarnation && decoded.toIncarnation === msg.toIncarnation) return true
    t.same(decoded, msg, what)
    return false
  }
  // Ten senders cycle through slots kept for eight (every first decode a miss
  // that evicts one), each decoded twice (the second a hit); one id is
  // non-ASCII, one a prefix of another, one empty.
  const ids = ['n1', 'n2', 'n3', 'n10', 'node-é', 'n1x', 'a', '', 'n7', 'n8']
  for (let round = 0; round < 3; round++) {
    for (const [i, id] of ids.entries()) {
      const msg: AppendRequest = { ...append(ids[(i + 1) % ids.length] as string, entriesOf(1, 2)), from: id, fromIncarnation: `inc-${id}`, toIncarnation: `inc-${i}` }
      if (!decodeAs(msg, `round ${round}, sender ${id}`) || !decodeAs(msg, `round ${round}, sender ${id} again`)) return
    }
  }
  // Two senders of the same length alternating: every lookup compares bytes of equal length.
  for (let i = 0; i < 20; i++) {
    const from = i % 2 === 0 ? 'n1' : 'n2'
    if (!decodeAs({ ...append(from === 'n1' ? 'n2' : 'n1', entriesOf(1, 2)), from, fromIncarnation: `i-${from}`, toIncarnation: `i-${i % 2}` }, `alternating ${i}`)) return
  }
  t.pass('every string as sent')
})
