// How long a follower that comes back empty takes to catch up with a large
// keyspace, and what the leader and that follower pause for garbage
// collection meanwhile. A 3-node cluster (every node preloads
// bench/gc-hook.ts) takes `redis-benchmark -t set -n KEYS -r 100000000 -d
// VALUE_BYTES -P 32`; once every node has applied it, one follower is killed,
// its data directory emptied, and it is started again. It installs the
// leader's snapshot, then receives the log after it (most of it read back
// from the leader's log file: LOG_CACHE_BYTES holds only the newest). Each
// row: the entries after the leader's snapshot, the time until the
// follower's snapshot was installed and until it applied the leader's commit
// index, the pauses of both processes in that time (count, total, longest),
// and the follower's peak RSS.
//
//   node dist/bench/catch-up.js [--keys 1000000] [--value-bytes 100] [--reps 2]
//     [--compare-with <checkout>] [--env NAME=VALUE ...] [--compare-env NAME=VALUE ...]
//
// With --compare-with or --compare-env the configurations alternate, rep by
// rep, so that a drift of the machine's load touches both.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { ProcessNode } from '../test/cluster/process-cluster.js'
import { envPairs } from './lib/env-pairs.js'
import { gcHookUrl, readGcLog, type Pause } from './lib/gc-log.js'
import { statusBytes } from './lib/proc-stat.js'
import { sleep, waitFor } from './lib/procs.js'
import { startRaftkv } from './lib/targets.js'

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    'value-bytes': { type: 'string', default: '100' },
    reps: { type: 'string', default: '2' },
    'compare-with': { type: 'string', multiple: true, default: [] },
    env: { type: 'string', multiple: true, default: [] },
    'compare-env': { type: 'string', multiple: true, default: [] },
  },
})
const KEYS = Number(values.keys)
const VALUE_BYTES = Number(values['value-bytes'])
const REPS = Number(values.reps)
const POLL_MS = 50
const CATCH_UP_MS_MAX = 10 * 60_000

interface Config {
  readonly label: string
  readonly checkout: string | null
  readonly env: Record<string, string>
}

interface Run {
  readonly leaderSnapshotIndex: number
  readonly commitIndex: number
  readonly installedMs: number
  readonly caughtUpMs: number
  readonly leaderPauses: Pause[]
  readonly followerPauses: Pause[]
  readonly followerPeakRssBytes: number
}

/** The node's status, waiting through the moments a loaded node does not answer. */
async function statusOf(node: ProcessNode): Promise<{ commitIndex: number; appliedIndex: number; snapshotIndex: number }> {
  for (;;) {
    const s = await node.status()
    if (s !== null) return s
    await sleep(POLL_MS)
  }
}

async function runOnce(config: Config): Promise<Run> {
  const gcDir = mkdtempSync(join(tmpdir(), 'raftkv-catch-up-gc-'))
  const env: Record<string, string> = { ...envPairs(values.env ?? []), ...config.env, GC_PAUSES_DIR: gcDir }
  env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --import ${gcHookUrl}`.trim()
  const t = await startRaftkv(3, env, config.checkout)
  try {
    const load = spawnSync('redis-benchmark', ['-p', String(t.writePort), '-t', 'set', '-n', String(KEYS), '-r', '100000000', '-d', String(VALUE_BYTES), '-P', '32', '-q'], { encoding: 'utf8', timeout: 30 * 60_000 })
    if (load.status !== 0) throw new Error(`redis-benchmark failed: ${load.stderr}`)
    const { commitIndex, snapshotIndex } = await statusOf(t.leader)
    for (const n of t.cluster.nodes) await waitFor(async () => ((await n.status())?.appliedIndex ?? 0) >= commitIndex, `${n.spec.id} to apply ${commitIndex}`, CATCH_UP_MS_MAX)
    const follower = t.cluster.nodes.find((n) => n !== t.leader)
    if (follower === undefined) throw new Error('no follower')
    await follower.kill('SIGKILL')
    for (const name of readdirSync(follower.spec.dataDir)) rmSync(join(follower.spec.dataDir, name), { recursive: true, force: true })
    const started = Date.now()
    follower.start()
    let installedMs = NaN
    for (;;) {
      const s = await follower.status()
      if (s !== null && s.snapshotIndex > 0 && Number.isNaN(installedMs)) installedMs = Date.now() - started
      if (s !== null && s.appliedIndex >= commitIndex) break
      if (Date.now() - started > CATCH_UP_MS_MAX) throw new Error(`${follower.spec.id} did not catch up in ${CATCH_UP_MS_MAX} ms`)
      await sleep(POLL_MS)
    }
    const ended = Date.now()
    const followerPid = follower.proc?.pid ?? 0
    const followerPeakRssBytes = statusBytes(followerPid, 'VmHWM')
    // The hook flushes once a second.
    await sleep(1500)
    const inWindow = (pid: number): Pause[] => readGcLog(gcDir, pid).pauses.filter((p) => p.startMs >= started && p.startMs <= ended)
    return {
      leaderSnapshotIndex: snapshotIndex,
      commitIndex,
      installedMs,
      caughtUpMs: ended - started,
      leaderPauses: inWindow(t.leader.proc?.pid ?? 0),
      followerPauses: inWindow(followerPid),
      followerPeakRssBytes,
    }
  } finally {
    await t.stop()
    rmSync(gcDir, { recursive: true, force: true })
  }
}

function pauses(ps: readonly Pause[]): string {
  const total = ps.reduce((sum, p) => sum + p.ms, 0)
  const longest = ps.reduce((max, p) => Math.max(max, p.ms), 0)
  const majors = ps.filter((p) => p.kind === 'mark-compact').length
  return `${ps.length} (${majors} mark-compact), ${total.toFixed(0)} ms, max ${longest.toFixed(0)}`
}

const configs: Config[] = [{ label: 'this checkout', checkout: null, env: {} }]
if ((values['compare-env'] ?? []).length > 0) configs.push({ label: (values['compare-env'] ?? []).join(' '), checkout: null, env: envPairs(values['compare-env'] ?? []) })
for (const checkout of values['compare-with'] ?? []) configs.push({ label: checkout, checkout, env: {} })

console.log(`keys: ${KEYS}, value bytes: ${VALUE_BYTES}; node ${process.version}`)
console.log('| build | entries after the leader\'s snapshot | snapshot installed (ms) | caught up (ms) | leader GC pauses | follower GC pauses | follower peak RSS (MiB) |')
console.log('| --- | ---: | ---: | ---: | --- | --- | ---: |')
for (let rep = 0; rep < REPS; rep++) {
  for (const config of configs) {
    const r = await runOnce(config)
    console.log(`| ${config.label} | ${r.commitIndex - r.leaderSnapshotIndex} | ${r.installedMs} | ${r.caughtUpMs} | ${pauses(r.leaderPauses)} | ${pauses(r.followerPauses)} | ${(r.followerPeakRssBytes / 1048576).toFixed(1)} |`)
  }
}
