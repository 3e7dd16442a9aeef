// CPU time per operation, per server process: the steadier measure on a
// shared, noisy machine, where throughput swings by 2x from minute to minute
// but the CPU each request costs does not. Runs a fixed number of requests
// per workload with redis-benchmark and reads each server's utime+stime from
// /proc before and after; repetitions interleave across targets, medians.
// The first target's cost against each other's is also given as the median
// of per-repetition ratios (bench/lib/paired-ratios.ts).
//
//   node dist/bench/cpu-cost.js [--requests 200000] [--reps 3] [--only raftkv,node-floor,replication-floor,redis]
//                               [--compare-with <checkout>] [--compare-env KEY=VALUE ...]
//
// Before each measurement the machine is let settle: dirty pages are
// written back (sync) and every server process of every target must have
// been nearly idle for half a second (bounded), so one target's background
// work (the kernel's writeback of its log, its idle collector's full GC, a
// snapshot in steps) does not land in the next target's run. The order of
// the targets rotates with each repetition, so no target always runs first.
//
// --compare-with runs another checkout's build as a second raftkv target;
// --compare-env starts that second target (this checkout's, unless
// --compare-with names another) with extra environment, e.g.
// `--compare-env NODE_OPTIONS=--max-semi-space-size=64` to weigh a runtime flag.
import { execFileSync } from 'node:child_process'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { cpuTicks, processSched, ticksPerSecond } from './lib/proc-stat.js'
import { envPairs } from './lib/env-pairs.js'
import { sleep } from './lib/procs.js'
import { pairedRatios } from './lib/paired-ratios.js'
import { median } from './lib/result.js'
import { redisBenchmark } from './lib/tools.js'
import { startNodeFloor, startRaftkv, startRedis, startReplicationFloor, type RespTarget } from './lib/targets.js'

interface CostWorkload {
  readonly id: string
  readonly command: 'set' | 'get'
  readonly clients: number
  readonly pipeline: number
  /** Fraction of --requests (sequential runs are slow). */
  readonly share: number
}

const workloads: readonly CostWorkload[] = [
  { id: 'set-c50', command: 'set', clients: 50, pipeline: 1, share: 1 },
  { id: 'set-c50-p16', command: 'set', clients: 50, pipeline: 16, share: 2 },
  { id: 'get-c50', command: 'get', clients: 50, pipeline: 1, share: 1 },
  { id: 'set-c1', command: 'set', clients: 1, pipeline: 1, share: 0.1 },
]

/** A window counts as idle when every server process of every target, summed, used at most 3 ticks (30 ms of CPU) in its 500 ms. */
const quietWindowMs = 500
const quietTicksMax = 3
/** How long a settle may wait before measuring anyway (then it says so). */
const settleWaitMsMax = 15_000

/**
 * Writes dirty pages back and waits until `pids` together used at most
 * quietTicksMax ticks over a quietWindowMs window. Returns the ms waited, or
 * -1 when the bound ran out first.
 */
async function settle(pids: readonly number[]): Promise<number> {
  const startedMs = Date.now()
  execFileSync('sync')
  for (;;) {
    const before = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0)
    await sleep(quietWindowMs)
    const used = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0) - before
    if (used <= quietTicksMax) return Date.now() - startedMs
    if (Date.now() - startedMs > settleWaitMsMax) return -1
  }
}

interface Cost {
  readonly opsPerSec: number
  /** µs of CPU per request for each server process, the one taking writes first. */
  readonly perProcessUs: number[]
  /** µs per request that the server processes' threads spent waiting for a CPU, summed over them. */
  readonly runQueueWaitUs: number
}

async function measure(t: RespTarget, w: CostWorkload, requests: number): Promise<Cost> {
  const pids = t.pids()
  const before = pids.map(cpuTicks)
  const waitBefore = pids.map((pid) => processSched(pid).waitNs)
  const r = await redisBenchmark({ port: t.writePort, command: w.command, clients: w.clients, pipeline: w.pipeline, requests, valueBytes: 100, keys: 100_000, target: t.name, workload: w.id })
  const after = pids.map(cpuTicks)
  const waitNs = pids.map((pid) => processSched(pid).waitNs).reduce((sum, x, i) => sum + x - (waitBefore[i] as number), 0)
  return {
    opsPerSec: r.opsPerSec,
    perProcessUs: pids.map((_, i) => (((after[i] as number) - (before[i] as number)) / ticksPerSecond) * 1e6 / r.requests),
    runQueueWaitUs: waitNs / 1000 / r.requests,
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '200000' },
      reps: { type: 'string', default: '3' },
      only: { type: 'string', default: 'raftkv,node-floor,redis' },
      'compare-with': { type: 'string' },
      'compare-env': { type: 'string', multiple: true, default: [] },
    },
  })
  const requests = Number(values.requests)
  const reps = Number(values.reps)
  const only = new Set(values.only.split(','))
  const targets: RespTarget[] = []
  const results = new Map<string, Cost[]>()
  const settleMs: number[] = []
  try {
    if (only.has('raftkv')) targets.push(await startRaftkv(3))
    const compareEnv = envPairs(values['compare-env'])
    if (values['compare-with'] !== undefined || Object.keys(compareEnv).length > 0) {
      const t = await startRaftkv(3, compareEnv, values['compare-with'] ?? null)
      targets.push(values['compare-with'] === undefined ? { ...t, name: `${t.name} (${values['compare-env'].join(' ')})` } : t)
    }
    if (only.has('node-floor')) targets.push(await startNodeFloor())
    if (only.has('replication-floor')) targets.push(await startReplicationFloor())
    if (only.has('redis')) targets.push(await startRedis())
    for (const t of targets) for (const w of workloads) await measure(t, w, Math.round(requests * w.share * 0.2)) // warm-up
    const allPids = (): number[] => targets.flatMap((t) => t.pids())
    for (let rep = 0; rep < reps; rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length] as RespTarget)
      for (const w of workloads) {
        for (const t of order) {
          const waited = await settle(allPids())
          settleMs.push(waited)
          if (waited < 0) process.stderr.write(`${t.name}/${w.id}: the servers did not go quiet within ${settleWaitMsMax} ms; measuring anyway\n`)
          const c = await measure(t, w, Math.round(requests * w.share))
          const k = `${t.name}/${w.id}`
          results.set(k, [...(results.get(k) ?? []), c])
          process.stderr.write(`${k}: ${Math.round(c.opsPerSec)} ops/s, CPU µs/op ${c.perProcessUs.map((x) => x.toFixed(1)).join(' / ')}, run-queue wait µs/op ${c.runQueueWaitUs.toFixed(1)}\n`)
        }
      }
    }
  } finally {
    for (const t of targets) await t.stop()
  }
  /** CPU µs per request over all of a target's server processes, one number per repetition. */
  const totalsUs = (t: RespTarget, w: CostWorkload): number[] => (results.get(`${t.name}/${w.id}`) ?? []).map((c) => c.perProcessUs.reduce((a, b) => a + b, 0))
  const compareWith = values['compare-with']
  const displayName = (name: string): string => (name.startsWith('raftkv-3-') && compareWith !== undefined ? `raftkv-3 (${basename(compareWith)})` : name)
  const rows = [
    `Command: \`node dist/bench/cpu-cost.js ${process.argv.slice(2).join(' ')}\` — ${new Date().toISOString()}; medians of ${reps}.`,
    'CPU µs per request (utime+stime of each server process / requests). raftkv and replication-floor: leader, then the followers.',
    'Run-queue wait: µs per request that the server processes\' threads were runnable but had no CPU (schedstat), summed over them.',
    `Before each measurement: sync, then all servers idle (≤ ${quietTicksMax * 10} ms of CPU in ${quietWindowMs} ms); waits median ${median(settleMs.filter((x) => x >= 0)).toFixed(0)} ms, ${settleMs.filter((x) => x < 0).length} of ${settleMs.length} gave up after ${settleWaitMsMax} ms. Target order rotates each repetition.`,
    '',
    '| target | workload | ops/s | CPU µs/op, write node | other nodes | all server processes | run-queue wait µs/op |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const t of targets) {
    for (const w of workloads) {
      const cs = results.get(`${t.name}/${w.id}`) ?? []
      const n = cs[0]?.perProcessUs.length ?? 0
      const per = Array.from({ length: n }, (_, i) => median(cs.map((c) => c.perProcessUs[i] as number)))
      const total = median(totalsUs(t, w))
      const others = per.slice(1).map((x) => x.toFixed(1)).join(', ') || '–'
      const wait = median(cs.map((c) => c.runQueueWaitUs))
      rows.push(`| ${displayName(t.name)} | ${w.id} | ${Math.round(median(cs.map((c) => c.opsPerSec))).toLocaleString('en-US')} | ${(per[0] ?? NaN).toFixed(1)} | ${others} | ${total.toFixed(1)} | ${Number.isNaN(wait) ? '–' : wait.toFixed(1)} |`)
    }
  }
  const first = targets[0]
  if (first !== undefined && targets.length > 1) {
    rows.push(
      '',
      `Paired: ${displayName(first.name)}'s CPU µs per request over all its server processes divided by each other target's, repetition by repetition (the two measured back to back), and the median of those ratios — the ratio to quote on a machine whose load drifts between repetitions.`,
      '',
      '| workload | against | ratio in each repetition | median |',
      '| --- | --- | --- | --- |',
    )
    for (const w of workloads) {
      for (const other of targets.slice(1)) {
        const r = pairedRatios(totalsUs(first, w), totalsUs(other, w))
        rows.push(`| ${w.id} | ${displayName(other.name)} | ${r.perRep.map((x) => x.toFixed(2)).join(', ')} | ${r.median.toFixed(2)} |`)
      }
    }
  }
  process.stdout.write(rows.join('\n') + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
