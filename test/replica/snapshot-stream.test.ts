// Receiving a snapshot in chunks: a snapshot stamped for another incarnation
// of this node (the member it was before its directory was wiped) is never
// assembled, and a chunk that comes after its snapshot was taken in whole is
// acknowledged as whole, not refused as unknown.
import t from 'tap'
import type { SnapshotChunk } from '../../lib/transport/wire-message.js'
import { receiveChunk } from '../../lib/replica/snapshot-stream.js'
import { crc32c } from '../../lib/util/checksum.js'
import { collectBytes } from './fixtures/collected-bytes.js'

function chunk(over: Partial<SnapshotChunk> = {}): SnapshotChunk {
  const data = Buffer.from('snapshot bytes')
  return {
    type: 'SnapshotChunk',
    term: 3,
    from: 'n1',
    to: 'n2',
    meta: { index: 10, term: 3, config: { members: [] } },
    offset: 0,
    totalBytes: data.length,
    data,
    crc: crc32c(data),
    fromIncarnation: 'a1',
    toIncarnation: 'b1',
    ...over,
  }
}

t.test('a chunk stamped for this incarnation is taken', async (t) => {
  t.match(receiveChunk(null, chunk(), 'b1', collectBytes), { t: 'complete' })
})

t.test('a chunk stamped for another incarnation of this node is dropped before any bytes are held, without an answer', async (t) => {
  const verdict = receiveChunk(null, chunk({ totalBytes: 1 << 30 }), 'b2', collectBytes)
  t.match(verdict, { t: 'drop', reason: /incarnation b1, this node is b2/ })
})

t.test('a later chunk stamped for another incarnation does not join a snapshot in progress', async (t) => {
  const data = Buffer.alloc(8, 1)
  const first = receiveChunk(null, chunk({ data: data.subarray(0, 4), crc: crc32c(data.subarray(0, 4)), totalBytes: 8 }), 'b1', collectBytes)
  t.match(first, { t: 'ack', nextOffset: 4 })
  const incoming = first.t === 'ack' ? first.incoming : null
  const stale = receiveChunk(incoming, chunk({ offset: 4, data: data.subarray(4), crc: crc32c(data.subarray(4)), totalBytes: 8, toIncarnation: 'b0' }), 'b1', collectBytes)
  t.match(stale, { t: 'drop' })
  t.equal(incoming?.receivedBytes, 4, 'the snapshot in progress is unchanged')
})

t.test('unstamped chunks (a peer or data from before incarnations) are not checked', async (t) => {
  t.match(receiveChunk(null, chunk({ toIncarnation: '' }), 'b2', collectBytes), { t: 'complete' })
  t.match(receiveChunk(null, chunk(), '', collectBytes), { t: 'complete' })
})

/** The snapshot `chunk()` describes, as a receiver remembers it once taken in whole. */
const completed = { from: 'n1', meta: { index: 10, term: 3, config: { members: [] } }, totalBytes: 8 }

function half(offset: number, over: Partial<SnapshotChunk> = {}): SnapshotChunk {
  const data = Buffer.alloc(4, offset + 1)
  return chunk({ offset, data, crc: crc32c(data), totalBytes: 8, ...over })
}

t.test('a chunk of the snapshot completed last that comes after it is acknowledged as whole', async (t) => {
  t.same(receiveChunk(null, half(4), 'b1', collectBytes, completed), { t: 'late', nextOffset: 8 })
})

t.test('a chunk past offset 0 of any other snapshot is still refused as unknown', async (t) => {
  t.match(receiveChunk(null, half(4, { meta: { index: 11, term: 3, config: { members: [] } } }), 'b1', collectBytes, completed), { t: 'refuse', reason: /unknown snapshot/ })
  t.match(receiveChunk(null, half(4, { from: 'n3' }), 'b1', collectBytes, completed), { t: 'refuse' })
  t.match(receiveChunk(null, half(4), 'b1', collectBytes, null), { t: 'refuse' })
})

t.test('the completed snapshot sent again from offset 0 is taken anew', async (t) => {
  const first = receiveChunk(null, half(0), 'b1', collectBytes, completed)
  t.match(first, { t: 'ack', nextOffset: 4 })
  const second = receiveChunk(first.t === 'ack' ? first.incoming : null, half(4), 'b1', collectBytes, completed)
  t.match(second, { t: 'complete' }, 'its next chunk joins the new transfer')
})

t.test('a late chunk stamped for another incarnation is dropped, not acknowledged', async (t) => {
  t.match(receiveChunk(null, half(4, { toIncarnation: 'b0' }), 'b1', collectBytes, completed), { t: 'drop' })
})
