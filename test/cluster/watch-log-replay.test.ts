// A /watch resume replays SETs read back from the Raft log: the history keeps
// a plain SET's event as its entry's index (lib/feeds/watch-history.ts), so
// that entry must stay readable after snapshots compact the log past it
// (NodeStorage.keepLogAfter). Here every node snapshots every ten entries
// and drops whole 64 KiB segments behind each snapshot, and holds only 4 KiB
// of entries in memory, so a resume from before the writes reads them back
// from segment files that compaction would otherwise have deleted.
import t from 'tap'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'
import { SseWatch } from './sse-watch.js'

const writesCount = 1200

t.test('a watch resumed from before many snapshots gets every change since, in order, read back from the log', async (t) => {
  const cluster = new ProcessCluster({
    SNAPSHOT_ENTRIES: '10',
    SNAPSHOT_LOG_PERCENT: '0',
    SEGMENT_BYTES: String(64 * 1024),
    LOG_CACHE_BYTES: '4096',
    WATCH_HISTORY_ENTRIES: '20000',
  })
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const leader = await cluster.waitForLeader()
  const writer = leader.redis()
  t.teardown(() => writer.disconnect())
  await writer.set('w:start', '0')
  // The leader applied the SET before it answered: everything after this index is what follows.
  const from = (await leader.status())?.appliedIndex ?? 0
  t.ok(from > 0, `resume point ${from}`)

  const expected: string[] = []
  let counter = 0
  for (let i = 0; i < writesCount; i++) {
    const key = `w:${i % 40}`
    // Values of 1 to ~300 bytes: 1,200 of them fill several segments.
    const value = `v${i}-${'x'.repeat(i % 300)}`
    if (i % 9 === 4) {
      // A SET with a deadline: its set event is read back from the entry, its expire event is held.
      await writer.set(key, value, 'EX', 3600)
      expected.push(`set ${key} ${value}`, `expire ${key} null`)
    } else {
      await writer.set(key, value)
      expected.push(`set ${key} ${value}`)
    }
    if (i % 50 === 49) {
      await writer.del(key)
      expected.push(`del ${key} null`)
    }
    if (i % 70 === 3) {
      counter = await writer.incr('w:counter')
      expected.push(`incrby w:counter ${counter}`)
    }
  }
  const commit = (await leader.status())?.commitIndex ?? 0

  /** What a watch on `node` resumed after `from` replays: null when the node answers 410. */
  const replay = async (node: ProcessNode): Promise<string[] | null> => {
    await cluster.waitFor(async () => ((await node.status())?.appliedIndex ?? 0) >= commit, `${node.spec.id} to apply every write`)
    const status = await node.status()
    t.ok((status?.snapshotIndex ?? 0) > from, `${node.spec.id} snapshotted past the resume point (${String(status?.snapshotIndex)} > ${from})`)
    const watch = new SseWatch(`http://127.0.0.1:${node.spec.httpPort}/watch?prefix=w:`, String(from))
    t.teardown(() => watch.close())
    await cluster.waitFor(async () => watch.status !== 0, `the watch on ${node.spec.id} to answer`)
    if (watch.status === 410) return null
    t.equal(watch.status, 200, `the watch on ${node.spec.id} opens`)
    await cluster.waitFor(async () => watch.events.length >= expected.length, `${expected.length} events from ${node.spec.id}`)
    watch.close()
    return watch.events.map((e) => `${e.op} ${e.key} ${e.value}`)
  }

  // The leader never installs a snapshot, so its history reaches back to the resume point.
  t.same(await replay(leader), expected, 'the leader replays every change once, in order, with its value')
  for (const node of cluster.nodes.filter((n) => n !== leader)) {
    const got = await replay(node)
    if (got !== null) {
      t.same(got, expected, `${node.spec.id} replays every change once, in order, with its value`)
      continue
    }
    // A follower that fell behind a snapshot installs it and starts its history there: a 410 is right then, and only then.
    const status = (await node.status()) as { snapshots?: { installed?: { count?: number } } } | null
    t.ok((status?.snapshots?.installed?.count ?? 0) > 0, `${node.spec.id} answered 410 after installing a snapshot from the leader`)
  }
})
