// A follower decodes a snapshot from the leader as its chunks come; it lets
// go of a half-received one once its sender has been silent far longer than
// any sender waits (what it decoded so far may be as large as the state), and
// refuses one whose bytes do not decode, so that the sender starts over; a
// chunk that comes after its snapshot was taken in whole is acknowledged as
// whole, quietly.
import t from 'tap'
import { SnapshotReceiver } from '../../lib/replica/snapshot-receiver.js'
import type { SnapshotChunk, WireMessage } from '../../lib/transport/wire-message.js'
import { crc32c } from '../../lib/util/checksum.js'
import { silentLogger } from '../../lib/util/logger.js'
import { Driver, set } from '../kv/fixtures/driver.js'

/** A real snapshot: the receiver decodes what it is sent. */
const data = ((): Buffer => {
  const d = new Driver()
  for (let i = 0; i < 20; i++) d.one(set(`key:${i}`, `value ${i}`))
  return d.sm.snapshot()
})()

function chunk(offset: number, length: number, bytes = data): SnapshotChunk {
  const part = bytes.subarray(offset, offset + length)
  return {
    type: 'SnapshotChunk', term: 2, from: 'n1', to: 'n2', meta: { index: 10, term: 2, config: { members: [] } },
    offset, totalBytes: data.length, data: part, crc: crc32c(part), fromIncarnation: '', toIncarnation: '',
  }
}

function receiver() {
  let nowMs = 0
  const warnings: string[] = []
  const logger = Object.assign(Object.create(silentLogger()) as object, { warn: (_fields: unknown, msg: string) => warnings.push(msg) })
  // The core takes the completed snapshot (its log then starts there).
  let snapshotIndex = 0
  const raft = {
    step: (m: { snapshot: { index: number } }) => { snapshotIndex = m.snapshot.index },
    status: () => ({ snapshotIndex }),
    termAt: () => 2,
  }
  const ctx = {
    id: 'n2', incarnation: '', logger, clock: { nowMs: () => nowMs, monotonicMs: () => nowMs },
    raft, hearClock: () => undefined, stampClock: () => undefined, kick: () => undefined,
  }
  const r = new SnapshotReceiver(ctx as unknown as ConstructorParameters<typeof SnapshotReceiver>[0])
  const acks: { nextOffset: number; ok: boolean }[] = []
  const reply = (m: WireMessage): void => {
    if (m.type === 'SnapshotChunkAck') acks.push({ nextOffset: m.nextOffset, ok: m.ok })
  }
  return { r, acks, reply, warnings, advance: (ms: number) => { nowMs += ms } }
}

t.test('a snapshot in progress resumes after a short silence', async (t) => {
  const h = receiver()
  h.r.onChunk(chunk(0, 8), h.reply)
  h.advance(5_000)
  h.r.checkIdle()
  h.r.onChunk(chunk(8, 4), h.reply)
  t.same(h.acks, [{ nextOffset: 8, ok: true }, { nextOffset: 12, ok: true }])
})

t.test('a snapshot whose sender fell silent for a minute is dropped: its next chunk finds nothing to join', async (t) => {
  const h = receiver()
  h.r.onChunk(chunk(0, 8), h.reply)
  h.advance(60_000)
  h.r.checkIdle()
  h.r.onChunk(chunk(8, 4), h.reply)
  t.same(h.acks, [{ nextOffset: 8, ok: true }, { nextOffset: 0, ok: false }], 'refused: the sender starts over')
})

t.test('a snapshot whose bytes do not decode is refused at the chunk that shows it, and the sender starts over', async (t) => {
  const h = receiver()
  const bad = Buffer.from(data)
  bad.write('XXXX', 0, 'latin1') // the magic: refused as soon as the header is in
  h.r.onChunk(chunk(0, 8, bad), h.reply)
  h.r.onChunk(chunk(8, 4, bad), h.reply)
  t.same(h.acks, [{ nextOffset: 0, ok: false }, { nextOffset: 0, ok: false }], 'the first chunk refused; the next finds nothing to join')
})

t.test('a snapshot whose checksum does not match is refused once its last chunk came', async (t) => {
  const h = receiver()
  const bad = Buffer.from(data)
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
  h.r.onChunk(chunk(0, 8, bad), h.reply)
  h.r.onChunk(chunk(8, bad.length - 8, bad), h.reply)
  t.same(h.acks, [{ nextOffset: 8, ok: true }, { nextOffset: 0, ok: false }])
})

t.test('a chunk resent after its snapshot completed is acknowledged as whole, without a warning', async (t) => {
  const h = receiver()
  h.r.onChunk(chunk(0, 8), h.reply)
  h.r.onChunk(chunk(8, data.length - 8), h.reply)
  h.r.onChunk(chunk(8, 4), h.reply)
  t.same(h.acks, [{ nextOffset: 8, ok: true }, { nextOffset: data.length, ok: true }, { nextOffset: data.length, ok: true }])
  t.same(h.warnings, [])
})
