// Backup and restore with real processes, as an operator runs them: a
// linearizable backup taken through a follower while clients write, checked
// with `backup verify`, restored into a fresh 3-node cluster (one node
// restored, two joining it as usual). The restored keyspace must equal the
// source's at the backup's index — rebuilt from the source's own /watch
// feed, which gives every change with its log index — and hold every write
// acknowledged before the backup was asked for.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ProcessCluster, runCli, type ProcessNode } from './process-cluster.js'
import { SseWatch, type WatchEvent } from './sse-watch.js'

function envFile(dir: string, node: ProcessNode): string {
  const file = join(dir, `${node.spec.id}.env`)
  writeFileSync(file, Object.entries(node.env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  return file
}

/**
 * The source's change feed, resumed with Last-Event-ID if its stream ends
 * (a node under load may close a stream; the events are the same on resume).
 */
class ResumingWatch {
  private readonly done: WatchEvent[] = []
  private current: SseWatch
  private ended = false
  constructor(private readonly url: string) {
    this.current = this.open(null)
  }

  private open(lastEventId: string | null): SseWatch {
    const watch = new SseWatch(this.url, lastEventId)
    this.ended = false
    void watch.done.then(() => (this.ended = true))
    return watch
  }

  /** The last index seen whole; reopens the stream if it ended. */
  lastIndex(): number {
    const last = this.current.lastEventId
    if (this.ended && last !== null) {
      // Events after the last id belong to an entry not yet seen whole: the resume sends them again.
      this.done.push(...this.current.events.filter((e) => e.index <= Number(last)))
      this.current = this.open(last)
    }
    return last === null ? -1 : Number(last)
  }

  events(): WatchEvent[] {
    return [...this.done, ...this.current.events]
  }

  close(): void {
    this.current.close()
  }
}

/** The keyspace of string keys as the feed's events up to `index` leave it. */
function keyspaceAt(watch: ResumingWatch, index: number): Map<string, string> {
  const keys = new Map<string, string>()
  for (const e of watch.events()) {
    if (e.index > index) break
    if (e.value === null) keys.delete(e.key)
    else keys.set(e.key, e.value)
  }
  return keys
}

async function keyspaceOf(node: ProcessNode): Promise<Map<string, string>> {
  const c = node.redis()
  try {
    const names = (await c.keys('*')).sort()
    const values = names.length === 0 ? [] : await c.mget(...names)
    return new Map(names.map((k, i) => [k, values[i] ?? '(nil)']))
  } finally {
    c.disconnect()
  }
}

t.test('a backup taken under load restores into a new 3-node cluster holding exactly the source keyspace at its index', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-backup-e2e-'))
  const source = new ProcessCluster()
  const target = new ProcessCluster()
  t.teardown(async () => {
    await source.stop()
    await target.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  await source.start(3)
  const leader = await source.waitForLeader()
  const follower = source.nodes.find((n) => n !== leader) as ProcessNode
  const watch = new ResumingWatch(`http://127.0.0.1:${leader.spec.httpPort}/watch?prefix=`)
  t.teardown(() => watch.close())
  await source.waitFor(async () => watch.lastIndex() >= 0, 'the watch to start')

  // Writers on every node: overwrites, counters, appends, deletes on a few
  // keys, and one client's sequence of new keys (acknowledged in order).
  let writing = true
  const acked: string[] = []
  let ackedBeforeBackup = -1
  const mixed = async (node: ProcessNode, w: number): Promise<void> => {
    const c = node.redis()
    for (let i = 0; writing; i++) {
      const key = `shared-${i % 7}`
      await [() => c.set(key, `w${w}-${i}`), () => c.incr(`counter-${w}`), () => c.append(key, '+'), () => c.del(`shared-${(i + 3) % 7}`)][i % 4]?.().catch(() => null)
    }
    c.disconnect()
  }
  const sequence = async (): Promise<void> => {
    const c = follower.redis()
    for (let i = 0; writing; i++) if ((await c.set(`seq-${i}`, String(i)).catch(() => null)) === 'OK') acked.push(`seq-${i}`)
    c.disconnect()
  }
  const load = [sequence(), ...source.nodes.map((n, w) => mixed(n, w))]
  await source.waitFor(async () => acked.length >= 100, '100 acknowledged writes')

  const out = join(dir, 'cluster.backup')
  ackedBeforeBackup = acked.length
  const saved = await runCli(['backup', out, '--env', envFile(dir, follower)])
  const afterBackup = acked.length
  await source.waitFor(async () => acked.length >= afterBackup + 50, 'writes after the backup')
  writing = false
  await Promise.all(load)
  if (saved.code !== 0) return t.fail(`the backup failed: ${saved.stderr}`)
  const index = Number(/index (\d+)/.exec(saved.stdout)?.[1])
  t.ok(index > 0, `the backup names its index: ${saved.stdout.trim()}`)
  const verified = await runCli(['backup', 'verify', out])
  t.equal(verified.code, 0, verified.stderr)
  t.match(verified.stdout, `index ${index},`)

  // The source's keyspace at the backup's index, from its change feed.
  await source.waitFor(async () => watch.lastIndex() > index, 'the feed to pass the backup index')
  const expected = keyspaceAt(watch, index)
  const missing = acked.slice(0, ackedBeforeBackup).filter((key) => expected.get(key) !== key.slice(4))
  t.same(missing, [], `all ${ackedBeforeBackup} writes acknowledged before the backup are in it`)

  const n1 = await target.addNode('n1')
  const restored = await runCli(['restore', out, '--env', envFile(dir, n1)])
  t.equal(restored.code, 0, restored.stderr)
  t.match(restored.stdout, /new cluster [0-9a-f]{16}/)
  n1.start()
  // The joiners start at once: they retry their join until the restored node leads.
  for (const id of ['n2', 'n3']) (await target.addNode(id)).start()
  await target.waitFor(async () => (await n1.status())?.role === 'leader', 'the restored node to lead')
  await target.waitForVoters(3)

  for (const node of target.nodes) {
    const st = await node.status()
    t.ok((st?.appliedIndex ?? 0) >= index, `${node.spec.id} applied the restored state`)
    t.same(await keyspaceOf(node), new Map([...expected].sort(([a], [b]) => (a < b ? -1 : 1))), `${node.spec.id} holds the source keyspace at index ${index} (${expected.size} keys)`)
  }
  const oldId = (await (await fetch(`http://127.0.0.1:${leader.spec.httpPort}/cluster/status`)).json() as { clusterId: string }).clusterId
  const newId = (await (await fetch(`http://127.0.0.1:${n1.spec.httpPort}/cluster/status`)).json() as { clusterId: string }).clusterId
  t.not(newId, oldId, 'the restored cluster has a cluster id of its own')
})
