// Restart time with a long log: a 3-node cluster with SNAPSHOT_ENTRIES above
// the entry count (so recovery must replay the whole log, not a snapshot),
// `entries` SETs written with pipelining (one log entry each), then SIGKILL
// and the time until the node serves a linearizable GET again — once for one
// follower, once for the whole cluster (which also needs an election).
//
//   node dist/bench/restart.js [--entries 1000000] [--checkout <dir>]
//   node dist/bench/restart.js --entries 1000000 --profile-dir DIR
//
// --checkout runs the nodes of another built checkout (a before/after pair).
//
// With --profile-dir, the restarted follower runs under the CPU profiler
// (bench/lib/cpu-profile-hook.ts; the profile is written there when it is
// stopped with SIGTERM after serving) and the
// whole-cluster restart is skipped (SIGKILL would lose the profile).
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import type { ProcessNode } from '../test/cluster/process-cluster.js'
import { runDriver } from './driver.js'
import { adopt, sleep } from './lib/procs.js'
import { statusBytes } from './lib/proc-stat.js'
import { startRaftkv } from './lib/targets.js'

export interface RestartResult {
  readonly entries: number
  readonly logBytes: number
  readonly writeOpsPerSec: number
  readonly nodeServingMs: number
  /**
   * CPU time (user + system) the restarted node had used when it first
   * served: on a shared, loaded machine wall time mostly measures the wait
   * for a core, this measures the work. NaN where /proc is missing.
   */
  readonly nodeCpuMs: number
  /**
   * The restarted node's highest RSS until it served (VmHWM), in bytes:
   * what replaying the log costs in memory. NaN where /proc is missing.
   */
  readonly nodePeakRssBytes: number
  /** NaN when skipped (--profile-dir). */
  readonly clusterServingMs: number
}

const markerKey = 'bench:restart-marker'

export async function measureRestart(entries: number, log: (t: string) => void, profileDir: string | null = null, checkout: string | null = null): Promise<RestartResult> {
  log(`restart: starting a 3-node cluster${checkout === null ? '' : ` from ${checkout}`} and writing ${entries} entries`)
  const t = await startRaftkv(3, { SNAPSHOT_ENTRIES: String(Math.min(100_000_000, entries * 2 + 100_000)) }, checkout)
  try {
    const w = await runDriver({ host: '127.0.0.1', port: t.writePort, clients: 16, pipeline: 64, mix: { set: 1 }, keys: 1_000_000, valueBytes: 100, seconds: 0, requests: entries, target: t.name, workload: 'restart-fill', progress: true })
    const marker = String(Date.now())
    const client = t.leader.redis()
    await client.set(markerKey, marker)
    client.disconnect()
    await t.cluster.waitFor(async () => {
      const sts = await Promise.all(t.cluster.nodes.map((n) => n.status()))
      const commit = sts[0]?.commitIndex ?? 0
      return commit > entries && sts.every((st) => st !== null && st.appliedIndex >= commit)
    }, 'every node to apply the whole log', 300_000)
    const logBytes = dirBytes(t.leader.spec.dataDir)
    log(`restart: ${entries} entries at ${Math.round(w.opsPerSec)} SET/s; log ${(logBytes / 1e6).toFixed(0)} MB per node`)

    const follower = t.cluster.nodes.find((n) => n !== t.leader) as ProcessNode
    await follower.kill('SIGKILL')
    const hook = fileURLToPath(new URL('./lib/cpu-profile-hook.js', import.meta.url))
    const profileEnv: Record<string, string> = profileDir === null ? {} : { NODE_OPTIONS: `--import=${hook}`, CPU_PROFILE_DIR: profileDir }
    const nodeServingMs = await restartAndTime([follower], follower, marker, profileEnv)
    const nodeCpuMs = processCpuMs(follower.proc?.pid)
    const nodePeakRssBytes = follower.proc?.pid === undefined ? NaN : statusBytes(follower.proc.pid, 'VmHWM')
    log(`restart: one node serving again after ${nodeServingMs} ms (${nodeCpuMs} ms of CPU, peak RSS ${(nodePeakRssBytes / 1048576).toFixed(1)} MiB)`)
    if (profileDir !== null) {
      await follower.kill('SIGTERM')
      log(`restart: profile of the restarted node written to ${profileDir}`)
      return { entries, logBytes, writeOpsPerSec: w.opsPerSec, nodeServingMs, nodeCpuMs, nodePeakRssBytes, clusterServingMs: NaN }
    }

    await Promise.all(t.cluster.nodes.map((n) => n.kill('SIGKILL')))
    const clusterServingMs = await restartAndTime(t.cluster.nodes, t.leader, marker)
    log(`restart: whole cluster serving again after ${clusterServingMs} ms`)
    return { entries, logBytes, writeOpsPerSec: w.opsPerSec, nodeServingMs, nodeCpuMs, nodePeakRssBytes, clusterServingMs }
  } finally {
    await t.stop()
  }
}

async function restartAndTime(nodes: readonly ProcessNode[], probe: ProcessNode, marker: string, extraEnv: Record<string, string> = {}): Promise<number> {
  const started = performance.now()
  for (const n of nodes) {
    n.start(extraEnv)
    adopt(n.proc)
  }
  for (;;) {
    if ((await tryGet(probe.spec.respPort)) === marker) return Math.round(performance.now() - started)
    if (performance.now() - started > 300_000) throw new Error(`not serving 300 s after restart\n${nodes.map((n) => n.output.slice(-2000)).join('\n')}`)
    await sleep(20)
  }
}

async function tryGet(port: number): Promise<string | null> {
  const r = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 2000 })
  r.on('error', () => {})
  try {
    await r.connect()
    return await r.get(markerKey)
  } catch {
    return null
  } finally {
    r.disconnect()
  }
}

/** utime + stime of a process from /proc/<pid>/stat, in ms (clock ticks are 1/100 s on Linux). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

function dirBytes(dir: string): number {
  let total = 0
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size
  return total
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000' }, 'profile-dir': { type: 'string' }, checkout: { type: 'string' } } })
  measureRestart(Number(values.entries), (x) => console.error(x), values['profile-dir'] ?? null, values.checkout ?? null).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2))
      process.exit(0)
    },
    (err: unknown) => {
      console.error(err)
      process.exit(1)
    },
  )
}
