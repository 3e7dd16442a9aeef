// A follower lets go of a half-received snapshot once its sender has been
// silent far longer than any sender waits: the buffer it fills may be as
// large as the whole snapshot.
import t from 'tap'
import { SnapshotReceiver } from '../../lib/replica/snapshot-receiver.js'
import type { SnapshotChunk, WireMessage } from '../../lib/transport/wire-message.js'
import { crc32c } from '../../lib/util/checksum.js'
import { silentLogger } from '../../lib/util/logger.js'

const data = Buffer.from('0123456789abcdef')

function chunk(offset: number, length: number): SnapshotChunk {
  const part = data.subarray(offset, offset + length)
  return {
    type: 'SnapshotChunk', term: 2, from: 'n1', to: 'n2', meta: { index: 10, term: 2, config: { members: [] } },
    offset, totalBytes: data.length, data: part, crc: crc32c(part), fromIncarnation: '', toIncarnation: '',
  }
}

function receiver() {
  let nowMs = 0
  const ctx = { id: 'n2', incarnation: '', logger: silentLogger(), clock: { nowMs: () => nowMs, monotonicMs: () => nowMs } }
  const r = new SnapshotReceiver(ctx as unknown as ConstructorParameters<typeof SnapshotReceiver>[0])
  const acks: { nextOffset: number; ok: boolean }[] = []
  const reply = (m: WireMessage): void => {
    if (m.type === 'SnapshotChunkAck') acks.push({ nextOffset: m.nextOffset, ok: m.ok })
  }
  return { r, acks, reply, advance: (ms: number) => { nowMs += ms } }
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
