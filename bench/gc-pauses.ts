// Garbage-collection pauses of every raftkv node under a sustained write
// load: the issue-16 must "no GC pause over 10 ms on any node during a
// 60-second -P 16 run". Starts a 3-node cluster whose nodes preload
// bench/gc-hook.ts (perf_hooks 'gc' entries), runs `redis-benchmark -t set
// -P 16` against the leader for the given time, and reports each node's
// pauses inside that window: count, time in GC, median, p99 and max, by kind,
// and how fast its Buffers' backing stores rose (what V8 counts against the
// old generation's limit until a mark-compact frees them).
//
//   node dist/bench/gc-pauses.js [--seconds 60] [--clients 50] [--pipeline 16] [--compare-with <checkout>]
//     [--env NAME=VALUE ...] [--compare-env NAME=VALUE ...] [--floor]
//
// --floor also runs the replication floor (bench/replication-floor-server.ts,
// unchanged; only the hook is preloaded) under the same load: the yardstick
// for what a bare replicated Node.js write pays in GC on this machine. It
// does not count commands, so its SETs are redis-benchmark's own overall
// rate times the window.
//
// --compare-with runs another checkout's build (built with `npx tsc`) after
// this one's, under the same load, for a before/after pair. --compare-env
// runs this checkout's build a second time with more environment (e.g.
// `GC_HOOK_V8_FLAGS=--no-parallel-scavenge`, read by bench/gc-hook.ts, or a
// node variable); --env applies to every run. Each node's CPU time in the
// window (user + system, from /proc) is reported per SET too: a flag that
// trades CPU for shorter pauses shows it. So is the share of each node's
// main thread's runnable time that it spent waiting for a CPU (schedstat):
// pauses are wall time, and on a machine with more busy threads than cores a
// pause stretches by that wait.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { cpuTicks, mainThreadSched, ticksPerSecond, type SchedTimes } from './lib/proc-stat.js'
import { envPairs } from './lib/env-pairs.js'
import { gcHookUrl as hookUrl, readGcLog, type BufferSample, type Pause } from './lib/gc-log.js'
import { startRaftkv, startReplicationFloor } from './lib/targets.js'

interface NodePauses {
  readonly role: string
  readonly pid: number
  readonly pauses: Pause[]
  readonly dropped: number
  /** utime + stime in the load's window, seconds. */
  readonly cpuSeconds: number
  /** The main thread's time on a CPU and waiting for one, in the load's window (ns). */
  readonly mainThread: SchedTimes
  /** Rises of the Buffers' backing stores between the hook's once-a-second samples in the window, summed: bytes. */
  readonly arrayBufferRiseBytes: number
}

/**
 * What the Buffers' backing stores grew by, summed over rises only, between
 * samples inside [startMs, endMs]. Mark-compacts free what scavenges could
 * not, so the rises are what stays until one: in steady state, the rate that
 * fills the old generation's limit alongside its own growth.
 */
function arrayBufferRise(samples: readonly BufferSample[], startMs: number, endMs: number): number {
  let rise = 0
  let prev: BufferSample | null = null
  for (const s of samples) {
    if (s.atMs < startMs || s.atMs > endMs) continue
    if (prev !== null && s.bytes > prev.bytes) rise += s.bytes - prev.bytes
    prev = s
  }
  return rise
}

function cpuSeconds(pid: number): number {
  return cpuTicks(pid) / ticksPerSecond
}

async function commandsProcessed(port: number): Promise<number> {
  const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await r.connect()
    const info = await r.info('stats')
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN)
  } finally {
    r.disconnect()
  }
}

/**
 * Runs redis-benchmark SETs for `seconds`, then stops it (it is given more
 * requests than it can finish); resolves with the last overall rate it
 * printed (SET/s), NaN if none.
 */
function loadFor(port: number, seconds: number, clients: number, pipeline: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-c', String(clients), '-P', String(pipeline),
      '-d', '100', '-r', '100000', '-n', '1000000000', '-q'], { stdio: ['ignore', 'pipe', 'ignore'] })
    // Progress lines end in \r: "SET: rps=… (overall: 51234.5) avg_msec=… (overall: 1.07)"; keep only the tail.
    let tail = ''
    p.stdout?.on('data', (d: Buffer) => {
      tail = (tail + d.toString('latin1')).slice(-4096)
    })
    const timer = setTimeout(() => p.kill('SIGINT'), seconds * 1000)
    p.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    p.on('exit', () => {
      clearTimeout(timer)
      const rates = [...tail.matchAll(/rps=[0-9.]+ \(overall: ([0-9.]+)\)/g)]
      resolve(Number(rates.at(-1)?.[1] ?? NaN))
    })
  })
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

interface TargetRun {
  readonly name: string
  readonly opsPerSec: number
  readonly sets: number
  /** The load's window, seconds. */
  readonly seconds: number
  readonly nodes: NodePauses[]
}

/** What runTarget measures: three processes, the leader first. */
interface LoadTarget {
  readonly name: string
  readonly writePort: number
  pids(): number[]
  stop(): Promise<void>
  /** Whether INFO counts its commands (raftkv); the floor's SETs come from redis-benchmark's rate. */
  readonly countsCommands: boolean
}

type TargetStarter = (env: Record<string, string>) => Promise<LoadTarget>

function raftkvStarter(checkout: string | null): TargetStarter {
  return async (env) => ({ ...(await startRaftkv(3, env, checkout)), countsCommands: true })
}

const floorStarter: TargetStarter = async (env) => ({ ...(await startReplicationFloor(env)), countsCommands: false })

async function runTarget(start: TargetStarter, env: Record<string, string>, seconds: number, clients: number, pipeline: number): Promise<TargetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-gc-'))
  const nodeOptions = `${env['NODE_OPTIONS'] ?? ''} --import ${hookUrl}`.trim()
  const t = await start({ ...env, NODE_OPTIONS: nodeOptions, GC_PAUSES_DIR: dir })
  try {
    const before = t.countsCommands ? await commandsProcessed(t.writePort) : 0
    const cpuBefore = t.pids().map(cpuSeconds)
    const schedBefore = t.pids().map(mainThreadSched)
    const startMs = Date.now()
    const benchmarkRate = await loadFor(t.writePort, seconds, clients, pipeline)
    const endMs = Date.now()
    const cpuAfter = t.pids().map(cpuSeconds)
    const schedAfter = t.pids().map(mainThreadSched)
    const after = t.countsCommands ? await commandsProcessed(t.writePort) : 0
    // Let every node's hook flush the last second.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const pids = t.pids()
    const nodes = pids.map((pid, i) => {
      const { pauses, dropped, samples } = readGcLog(dir, pid)
      const cpu = (cpuAfter[i] ?? NaN) - (cpuBefore[i] ?? NaN)
      return {
        role: i === 0 ? 'leader' : `follower ${i}`,
        pid,
        pauses: pauses.filter((p) => p.startMs >= startMs && p.startMs <= endMs),
        dropped,
        cpuSeconds: cpu,
        mainThread: { runNs: (schedAfter[i]?.runNs ?? NaN) - (schedBefore[i]?.runNs ?? NaN), waitNs: (schedAfter[i]?.waitNs ?? NaN) - (schedBefore[i]?.waitNs ?? NaN) },
        arrayBufferRiseBytes: arrayBufferRise(samples, startMs, endMs),
      }
    })
    const sets = t.countsCommands ? after - before - 1 : Math.round((benchmarkRate * (endMs - startMs)) / 1000)
    return { name: t.name, opsPerSec: sets / ((endMs - startMs) / 1000), sets, seconds: (endMs - startMs) / 1000, nodes }
  } finally {
    await t.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function report(r: TargetRun): string[] {
  const cpu = r.nodes.map((n) => `${n.role} ${((n.cpuSeconds * 1e6) / r.sets).toFixed(1)}`).join(', ')
  const rise = r.nodes.map((n) => `${n.role} ${(n.arrayBufferRiseBytes / 1e6 / r.seconds).toFixed(1)}`).join(', ')
  // A pause needing c ms of CPU lasts about c / (1 - waiting share) ms of wall time, more at the tail.
  const waiting = r.nodes.map((n) => `${n.role} ${((100 * n.mainThread.waitNs) / (n.mainThread.runNs + n.mainThread.waitNs)).toFixed(0)} %`).join(', ')
  const lines = [`${r.name}: ${Math.round(r.opsPerSec)} SET/s; CPU µs per SET: ${cpu}; Buffers' rise between 1 s samples, MB/s: ${rise}`, `Main thread's runnable time spent waiting for a CPU: ${waiting}`, '| node | kind | pauses | ms in GC | p50 ms | p99 ms | max ms | over 10 ms |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
  for (const n of r.nodes) {
    const kinds = ['all', ...new Set(n.pauses.map((p) => p.kind))]
    for (const kind of kinds) {
      const ms = n.pauses.filter((p) => kind === 'all' || p.kind === kind).map((p) => p.ms).sort((a, b) => a - b)
      const total = ms.reduce((s, x) => s + x, 0)
      const over = ms.filter((x) => x > 10).length
      lines.push(`| ${n.role} | ${kind} | ${ms.length} | ${total.toFixed(0)} | ${quantile(ms, 0.5).toFixed(2)} | ${quantile(ms, 0.99).toFixed(2)} | ${(ms.at(-1) ?? 0).toFixed(2)} | ${over} |`)
    }
    if (n.dropped > 0) lines.push(`| ${n.role} | (dropped by the hook) | ${n.dropped} | | | | | |`)
  }
  return lines
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      clients: { type: 'string', default: '50' },
      pipeline: { type: 'string', default: '16' },
      'compare-with': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      'compare-env': { type: 'string', multiple: true, default: [] },
      floor: { type: 'boolean', default: false },
    },
  })
  const seconds = Number(values.seconds)
  const clients = Number(values.clients)
  const pipeline = Number(values.pipeline)
  const env = envPairs(values.env ?? [])
  const runs: { start: TargetStarter; env: Record<string, string>; label: string }[] = [{ start: raftkvStarter(null), env, label: '' }]
  if ((values['compare-env'] ?? []).length > 0) runs.push({ start: raftkvStarter(null), env: { ...env, ...envPairs(values['compare-env'] ?? []) }, label: ` (${(values['compare-env'] ?? []).join(' ')})` })
  if (values['compare-with'] !== undefined) runs.push({ start: raftkvStarter(values['compare-with']), env, label: '' })
  if (values.floor === true) runs.push({ start: floorStarter, env, label: ' (SETs from redis-benchmark\'s rate)' })
  const out = [`Command: \`node dist/bench/gc-pauses.js ${process.argv.slice(2).join(' ')}\` — ${new Date().toISOString()}; redis-benchmark -t set -c ${clients} -P ${pipeline} -d 100 -r 100000 for ${seconds} s against the leader.`, '']
  for (const run of runs) {
    const r = await runTarget(run.start, run.env, seconds, clients, pipeline)
    out.push(...report({ ...r, name: `${r.name}${run.label}` }), '')
  }
  console.log(out.join('\n'))
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
