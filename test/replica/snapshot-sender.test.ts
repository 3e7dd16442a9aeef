// The leader's snapshot sender reads the snapshot from its file as chunks go
// out: the follower assembles exactly the snapshot's data (its chunk CRCs
// checked), a newer snapshot compacting the file away mid-send changes none
// of the bytes, a request for a snapshot no longer the newest is reported
// failed, and the file is closed when a send ends.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import type { SnapshotMeta, SnapshotRequest } from '../../lib/raft/types.js'
import { SnapshotSender } from '../../lib/replica/snapshot-sender.js'
import { receiveChunk, type IncomingSnapshot } from '../../lib/replica/snapshot-stream.js'
import { NodeStorage } from '../../lib/storage/node-storage.js'
import type { SnapshotFileReader } from '../../lib/storage/snapshot-file.js'
import { collectBytes, type CollectedBytes } from './fixtures/collected-bytes.js'
import type { SnapshotChunk, WireMessage } from '../../lib/transport/wire-message.js'
import { silentLogger } from '../../lib/util/logger.js'
import { makeEntries } from '../storage/fixtures/entries.js'

const config = { members: [{ id: 'n1', addr: '127.0.0.1:7001', role: 'voter' as const }] }
const meta = (index: number, term = 1): SnapshotMeta => ({ index, term, config })
const request = (index: number): SnapshotRequest => ({ type: 'Snapshot', from: 'n1', to: 'n2', term: 1, snapshot: meta(index) })

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error(`never: ${what}`)
}

async function filled(dir: string): Promise<NodeStorage> {
  const { storage } = await NodeStorage.open({ dir, fsync: 'always', segmentBytesMax: 4096 })
  for (let i = 0; i < 30; i++) await storage.persist({ term: 1, vote: 'n1', commit: i * 10 }, makeEntries(i * 10 + 1, 10, 1))
  return storage
}

/** A sender over `storage` with a leader core that records its reports, and the chunks it sent. */
function harness(storage: Pick<NodeStorage, 'latestSnapshotMeta' | 'openSnapshot'>) {
  const sent: SnapshotChunk[] = []
  const reports: boolean[] = []
  const ctx = {
    id: 'n1',
    logger: silentLogger(),
    clock: { nowMs: () => 0, monotonicMs: () => 0 },
    raft: { reportSnapshot: (_to: string, ok: boolean) => reports.push(ok), status: () => ({ role: 'leader' }) },
    storage,
    events: { emit: () => undefined },
    kick: () => undefined,
    sendTo: (_to: string, m: WireMessage) => {
      if (m.type === 'SnapshotChunk') sent.push(m)
    },
  }
  const sender = new SnapshotSender(ctx as unknown as ConstructorParameters<typeof SnapshotSender>[0])
  return { sender, sent, reports }
}

/** The follower's side: takes every chunk sent so far and acknowledges it; returns the completed snapshot's data, if any. */
function deliver(h: ReturnType<typeof harness>, state: { incoming: IncomingSnapshot<CollectedBytes> | null }): Buffer | null {
  for (const c of h.sent.splice(0)) {
    const verdict = receiveChunk(state.incoming, c, '', collectBytes)
    if (verdict.t === 'ack') {
      state.incoming = verdict.incoming
      h.sender.onAck({ type: 'SnapshotChunkAck', term: 1, from: 'n2', to: 'n1', index: c.meta.index, nextOffset: verdict.nextOffset, ok: true })
    } else if (verdict.t === 'complete') {
      state.incoming = null
      h.sender.onAck({ type: 'SnapshotChunkAck', term: 1, from: 'n2', to: 'n1', index: c.meta.index, nextOffset: c.totalBytes, ok: true })
      return verdict.incoming.sink.data
    } else {
      throw new Error(`chunk not taken: ${JSON.stringify(verdict)}`)
    }
  }
  return null
}

t.test('a snapshot is streamed from its file, a window of chunks at a time, and arrives whole', async (t) => {
  const storage = await filled(t.testdir())
  const data = randomBytes(3 * 1024 * 1024 + 17)
  await storage.saveSnapshot(meta(250), data)
  const h = harness(storage)
  h.sender.start(request(250))
  await until(() => h.sent.length > 0, 'the first chunks')
  await until(() => h.sent.length === 4, 'a full window')
  const state = { incoming: null as IncomingSnapshot<CollectedBytes> | null }
  let received: Buffer | null = null
  while (received === null) {
    await until(() => h.sent.length > 0, 'more chunks')
    received = deliver(h, state)
  }
  t.ok(received.equals(data), 'the follower holds exactly the snapshot data')
  t.same(h.reports, [true], 'the core hears it was delivered')
  t.notOk(h.sender.sending('n2'))
  await storage.close()
})

t.test('a newer snapshot compacting the file away mid-send changes none of the bytes sent', async (t) => {
  const dir = t.testdir()
  const storage = await filled(dir)
  const older = randomBytes(3 * 1024 * 1024)
  await storage.saveSnapshot(meta(250), older)
  const h = harness(storage)
  h.sender.start(request(250))
  await until(() => h.sent.length === 4, 'the first window')
  const state = { incoming: null as IncomingSnapshot<CollectedBytes> | null }
  deliver(h, state)
  await storage.saveSnapshot(meta(300), randomBytes(3 * 1024 * 1024))
  t.equal(storage.latestSnapshotMeta()?.index, 300, 'the file being sent is compacted away')
  let received: Buffer | null = null
  while (received === null) {
    await until(() => h.sent.length > 0, 'more chunks')
    received = deliver(h, state)
  }
  t.ok(received.equals(older), 'every byte is the snapshot the transfer began with')
  t.same(h.reports, [true])
  await storage.close()
})

t.test('a request for a snapshot that is no longer the newest is reported failed, at once or once the file is opened', async (t) => {
  const storage = await filled(t.testdir())
  await storage.saveSnapshot(meta(300), randomBytes(1000))
  const h = harness(storage)
  h.sender.start(request(250))
  t.same(h.reports, [false], 'storage already holds a newer one')
  // Storage named 250 the newest when asked; by the open, 300 had replaced it.
  const stale = harness({ latestSnapshotMeta: () => meta(250), openSnapshot: () => storage.openSnapshot() })
  stale.sender.start(request(250))
  await until(() => stale.reports.length > 0, 'a report')
  t.same(stale.reports, [false])
  t.equal(stale.sent.length, 0, 'no chunk of the other snapshot went out')
  t.notOk(stale.sender.sending('n2'))
  await storage.close()
})

t.test('a second start for the snapshot on its way is a no-op, and stop closes the file', async (t) => {
  const storage = await filled(t.testdir())
  await storage.saveSnapshot(meta(250), randomBytes(3 * 1024 * 1024))
  const readers: SnapshotFileReader[] = []
  const h = harness({
    latestSnapshotMeta: () => storage.latestSnapshotMeta(),
    openSnapshot: async () => {
      const reader = await storage.openSnapshot()
      if (reader !== null) readers.push(reader)
      return reader
    },
  })
  h.sender.start(request(250))
  h.sender.start(request(250))
  await until(() => h.sent.length === 4, 'the first window')
  h.sender.start(request(250))
  t.equal(readers.length, 1, 'the file was opened once')
  h.sender.stop()
  t.notOk(h.sender.sending('n2'))
  await t.rejects((readers[0] as SnapshotFileReader).read(0, 1), /closed/, 'the file is closed')
  t.same(h.reports, [], 'a stopping node does not report to its core')
  await storage.close()
})
