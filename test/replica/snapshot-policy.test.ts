// When a node snapshots: after SNAPSHOT_ENTRIES applied entries (once they
// also hold SNAPSHOT_LOG_PERCENT of the keys' bytes, when that is set: so that
// a large keyspace is not encoded again every SNAPSHOT_ENTRIES writes), or earlier once the
// entries applied since the last snapshot hold SNAPSHOT_LOG_BYTES — so large
// values cannot grow the in-memory log and the restart replay without bound.
// One node runs in this process.
import t from 'tap'
import type { RunningNode } from '../../lib/app/start-node.js'
import type { KvWrite } from '../../lib/kv/command.js'
import { snapshotWanted } from '../../lib/replica/snapshot-taker.js'
import { startSingleNode, waitFor } from './fixtures/single-node.js'

function setWrite(i: number, valueBytes: number): KvWrite {
  return { ops: [{ t: 'set', key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, 120), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] }
}

t.test('entries holding SNAPSHOT_LOG_BYTES trigger a snapshot before SNAPSHOT_ENTRIES is reached', async (t) => {
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '1000000', SNAPSHOT_LOG_BYTES: '65536' })
  for (let i = 0; i < 40; i++) await node.backend.write(setWrite(i, 4096))
  await waitFor(() => node.replica.snapshotIndexNow() > 0, 'a snapshot')
  t.ok(node.replica.status().firstIndex > 1, 'the log was compacted')
})

t.test('no snapshot is taken while both thresholds are unmet', async (t) => {
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '1000000', SNAPSHOT_LOG_BYTES: '1048576' })
  for (let i = 0; i < 40; i++) await node.backend.write(setWrite(i, 4096))
  // 40 writes of 4 KiB are 160 KiB, far below 1 MiB: applied, but not snapshotted.
  await waitFor(() => node.replica.appliedIndex() >= 40, 'the writes to apply')
  t.equal(node.replica.snapshotIndexNow(), 0, 'no snapshot')
  t.equal(node.replica.status().firstIndex, 1, 'the log is whole')
})

const policy = { snapshotEntries: 100, snapshotLogBytes: 1 << 30, snapshotLogPercent: 50 }
const keysBytes = (bytes: number) => ({ snapshotKeysBytes: () => bytes })

t.test('below SNAPSHOT_ENTRIES no snapshot is wanted, however small the keyspace', async (t) => {
  t.notOk(snapshotWanted(99, 1 << 20, policy, keysBytes(10)))
})

t.test('past SNAPSHOT_ENTRIES a snapshot waits until the log since the last one holds SNAPSHOT_LOG_PERCENT of the keys\' bytes', async (t) => {
  t.notOk(snapshotWanted(100, 49_999, policy, keysBytes(100_000)), 'the log holds under half')
  t.ok(snapshotWanted(100, 50_000, policy, keysBytes(100_000)), 'the log holds half')
  t.notOk(snapshotWanted(1_000_000, 49_999, policy, keysBytes(100_000)), 'the entry count alone does not decide')
})

t.test('SNAPSHOT_LOG_PERCENT 0 snapshots every SNAPSHOT_ENTRIES entries whatever the keyspace holds', async (t) => {
  t.ok(snapshotWanted(100, 1, { ...policy, snapshotLogPercent: 0 }, keysBytes(1 << 30)))
})

t.test('SNAPSHOT_LOG_BYTES wants a snapshot before either of the others', async (t) => {
  t.ok(snapshotWanted(1, 1 << 30, policy, keysBytes(1 << 40)))
})

/** Counts the snapshots a node saves. */
function savedSnapshots(node: RunningNode): { count: number } {
  const saved = { count: 0 }
  node.replica.on('snapshot', (kind: string) => {
    if (kind === 'saved') saved.count++
  })
  return saved
}

async function writeAll(node: RunningNode, keys: readonly number[]): Promise<void> {
  for (const k of keys) await node.backend.write(setWrite(k, 4096))
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i)

t.test('a node whose keyspace grows snapshots less often than every SNAPSHOT_ENTRIES writes', async (t) => {
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '10', SNAPSHOT_LOG_PERCENT: '100' })
  const saved = savedSnapshots(node)
  // 10 new keys: the log since the start holds more than the keys do.
  await writeAll(node, range(0, 10))
  await waitFor(() => saved.count === 1, 'the first snapshot')
  // 15 new keys more: past SNAPSHOT_ENTRIES, but the log since holds ~61 KiB of the keys' ~103 KiB.
  await writeAll(node, range(10, 15))
  // 20 overwrites: the log since passes the keys' bytes after ~10 of them, once.
  await writeAll(node, range(0, 20))
  await waitFor(() => saved.count === 2, 'the second snapshot')
  await waitFor(() => node.replica.appliedIndex() >= 45, 'every write to apply')
  t.equal(saved.count, 2, 'two snapshots for 45 writes, where SNAPSHOT_ENTRIES alone takes four')
})

t.test('with SNAPSHOT_LOG_PERCENT 0 the same writes snapshot every SNAPSHOT_ENTRIES', async (t) => {
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '10', SNAPSHOT_LOG_PERCENT: '0' })
  const saved = savedSnapshots(node)
  await writeAll(node, range(0, 10))
  await writeAll(node, range(10, 15))
  await writeAll(node, range(0, 20))
  await waitFor(() => saved.count >= 4, 'a snapshot every 10 writes')
  t.ok(saved.count >= 4, 'four snapshots or more for 45 writes')
})

t.test('entries applied while a snapshot is being taken get their own snapshot once it is done, with no further write', async (t) => {
  // SNAPSHOT_LOG_PERCENT 0: 45 small writes after 10 MiB of values are a snapshot's worth by count alone.
  const node = await startSingleNode(t, { SNAPSHOT_ENTRIES: '40', SNAPSHOT_LOG_PERCENT: '0' })
  // 40 values of 256 KiB: the snapshot they start takes many turns to encode and write.
  for (let i = 0; i < 40; i++) await node.backend.write(setWrite(i, 256 * 1024))
  // 45 more, at once: applied while that snapshot is still being taken.
  await Promise.all(Array.from({ length: 45 }, (_, i) => node.backend.write(setWrite(100 + i, 16))))
  const lastApplied = node.replica.appliedIndex()
  await waitFor(() => node.replica.snapshotIndexNow() >= lastApplied, `a snapshot at ${lastApplied}, the last entry applied`)
  t.equal(node.replica.snapshotIndexNow(), lastApplied)
})
