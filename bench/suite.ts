// `make bench`: raftkv side by side with Redis (appendfsync always) and etcd
// on this one machine. Starts every system, runs the same workloads against
// each in turn — repetitions interleaved across systems, so a slow minute of
// a shared machine hurts all of them alike — prints medians, writes
// bench/results/latest.{json,md}, and stops everything it started.
//
//   node dist/bench/suite.js [--quick] [--reps 3] [--seconds 5] [--only raftkv,redis,etcd,node-floor,replication-floor]
//     [--skip-5node] [--skip-restart] [--restart-entries 1000000]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeBenchChart } from './chart.js'
import { runDriver } from './driver.js'
import { measureRestart, type RestartResult } from './restart.js'
import { fmtMs, fmtOps, fmtRatio, medianRun, type RunResult } from './lib/result.js'
import { commandExists } from './lib/procs.js'
import { startEtcd, startNodeFloor, startRaftkv, startRedis, startReplicationFloor, type EtcdTarget, type RespTarget } from './lib/targets.js'
import { redisBenchmark, wrk } from './lib/tools.js'

const valueBytes = 100
const keys = 100_000

interface Workload {
  readonly id: string
  readonly title: string
  readonly command: 'set' | 'get'
  readonly clients: number
  readonly pipeline: number
  /** Reads on a follower (raftkv: ReadIndex through the leader; etcd: its follower). */
  readonly follower: boolean
}

const workloads: readonly Workload[] = [
  { id: 'set-c50', title: 'SET, 50 clients', command: 'set', clients: 50, pipeline: 1, follower: false },
  { id: 'set-c50-p16', title: 'SET, 50 clients, -P 16', command: 'set', clients: 50, pipeline: 16, follower: false },
  { id: 'get-c50-leader', title: 'GET, 50 clients, leader', command: 'get', clients: 50, pipeline: 1, follower: false },
  { id: 'get-c50-follower', title: 'GET, 50 clients, follower', command: 'get', clients: 50, pipeline: 1, follower: true },
  { id: 'set-c1', title: 'SET, 1 client (sequential)', command: 'set', clients: 1, pipeline: 1, follower: false },
]

interface Settings {
  readonly reps: number
  readonly seconds: number
  readonly quick: boolean
  readonly only: ReadonlySet<string>
  readonly fiveNode: boolean
  readonly restart: boolean
  readonly restartEntries: number
  /** Another checkout whose raftkv runs as a further target (before/after comparisons). */
  readonly compareWith: string | null
}

/** Requests per redis-benchmark run, sized from a warm-up so that each run lasts about `seconds`. */
class RunSizer {
  private readonly rates = new Map<string, number>()
  requests(key: string, w: Workload, seconds: number): number {
    const rate = this.rates.get(key)
    const floor = w.clients * w.pipeline * 20
    if (rate === undefined) return floor
    return Math.max(floor, Math.min(5_000_000, Math.round(rate * seconds)))
  }
  record(key: string, rate: number): void {
    this.rates.set(key, rate)
  }
}

async function respRun(t: RespTarget, w: Workload, sizer: RunSizer, seconds: number): Promise<RunResult> {
  const port = w.follower && t.followerPort !== null ? t.followerPort : t.writePort
  const key = `${t.name}/${w.id}`
  const r = await redisBenchmark({
    port, command: w.command, clients: w.clients, pipeline: w.pipeline, valueBytes, keys,
    requests: sizer.requests(key, w, seconds), target: t.name, workload: w.id,
  })
  sizer.record(key, r.opsPerSec)
  return r
}

async function etcdRun(e: EtcdTarget, w: Workload, seconds: number, scratchDir: string): Promise<RunResult | null> {
  // The gateway has no pipelining; a -P 16 row has no etcd counterpart.
  if (w.pipeline > 1) return null
  return wrk({
    url: w.follower ? e.followerUrl : e.leaderUrl, op: w.command === 'set' ? 'put' : 'range',
    connections: w.clients, threads: Math.min(w.clients, 2), seconds, valueBytes, keys,
    target: e.name, workload: w.id, scratchDir,
  })
}

function log(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`)
}

function line(r: RunResult): string {
  return `${r.target.padEnd(13)} ${r.workload.padEnd(17)} ${fmtOps(r.opsPerSec).padStart(9)} ops/s  p50 ${fmtMs(r.p50Ms)}  p99 ${fmtMs(r.p99Ms)}  p99.9 ${fmtMs(r.p999Ms)} ms${r.errors > 0 ? `  errors ${r.errors}` : ''}`
}

async function mainTable(s: Settings, scratchDir: string): Promise<Map<string, RunResult[]>> {
  const runs = new Map<string, RunResult[]>()
  const add = (r: RunResult | null): void => {
    if (r === null) return
    log(line(r))
    const k = `${r.target}/${r.workload}`
    runs.set(k, [...(runs.get(k) ?? []), r])
  }
  const resp: RespTarget[] = []
  let etcd: EtcdTarget | null = null
  try {
    if (s.only.has('raftkv')) {
      log('starting a 3-node raftkv cluster (FSYNC=always, linearizable reads)')
      resp.push(await startRaftkv(3))
    }
    if (s.compareWith !== null) {
      log(`starting a 3-node raftkv cluster from ${s.compareWith}`)
      resp.push(await startRaftkv(3, {}, s.compareWith))
    }
    if (s.only.has('redis')) {
      log('starting redis-server --appendonly yes --appendfsync always')
      resp.push(await startRedis())
    }
    if (s.only.has('node-floor')) {
      log('starting node-floor-server (one Node.js process answering from memory: the runtime\'s ceiling)')
      resp.push(await startNodeFloor())
    }
    if (s.only.has('replication-floor')) {
      log('starting replication-floor-server ×3 (a majority-fsynced SET with none of raftkv\'s machinery: the replication floor)')
      resp.push(await startReplicationFloor())
    }
    if (s.only.has('etcd')) {
      log('starting a 3-member etcd cluster')
      etcd = await startEtcd(3)
    }
    const sizer = new RunSizer()
    // Warm-up: JIT, connection pools, and the run sizes for the measured reps.
    for (const w of workloads) {
      for (const t of resp) await respRun(t, w, sizer, 1)
    }
    for (let rep = 1; rep <= s.reps; rep++) {
      log(`repetition ${rep} of ${s.reps}`)
      for (const w of workloads) {
        for (const t of resp) add(await respRun(t, w, sizer, s.seconds))
        if (etcd !== null) add(await etcdRun(etcd, w, s.seconds, scratchDir))
      }
    }
    // The driver's own mixed workload, once per RESP target (not a ratio row).
    for (const t of resp) {
      add(await runDriver({ host: '127.0.0.1', port: t.writePort, clients: 50, pipeline: 1, mix: { set: 50, get: 50 }, keys, valueBytes, seconds: s.seconds, target: t.name, workload: 'mix-set50-get50-c50' }))
    }
  } finally {
    for (const t of resp) await t.stop()
    await etcd?.stop()
  }
  return runs
}

async function fiveNode(s: Settings): Promise<RunResult[]> {
  log('starting a 5-node raftkv cluster')
  const t = await startRaftkv(5)
  const out: RunResult[] = []
  try {
    const sizer = new RunSizer()
    for (const w of workloads.filter((x) => x.id === 'set-c50' || x.id === 'set-c50-p16')) {
      await respRun(t, w, sizer, 1)
      const reps: RunResult[] = []
      for (let rep = 0; rep < s.reps; rep++) {
        const r = await respRun(t, w, sizer, s.seconds)
        log(line(r))
        reps.push(r)
      }
      out.push(medianRun(reps))
    }
  } finally {
    await t.stop()
  }
  return out
}

function ratioRow(w: Workload, m: (target: string) => RunResult | undefined): string {
  const k = m('raftkv-3')
  const r = m('redis-always')
  const e = m('etcd-3')
  const f = m('node-floor')
  const rf = m('replication-floor')
  const cell = (x: RunResult | undefined): string => (x === undefined ? '–' : `${fmtOps(x.opsPerSec)} (${fmtMs(x.p50Ms)} / ${fmtMs(x.p99Ms)} / ${fmtMs(x.p999Ms)})`)
  const ratio = (x: RunResult | undefined): string => fmtRatio(k?.opsPerSec ?? NaN, x?.opsPerSec ?? NaN)
  return `| ${w.title} | ${cell(k)} | ${cell(r)} | ${cell(e)} | ${cell(f)} | ${cell(rf)} | ${ratio(r)} | ${ratio(e)} | ${ratio(f)} | ${ratio(rf)} |`
}

function report(s: Settings, medians: Map<string, RunResult>, five: RunResult[], restart: RestartResult | null, command: string): string {
  const m = (target: string, workload: string): RunResult | undefined => medians.get(`${target}/${workload}`)
  const rows: string[] = [
    `Command: \`${command}\` — ${new Date().toISOString()}, ${cpus().length} CPUs, load average at the end: ${loadavg()[0]?.toFixed(1)}.`,
    `Medians of ${s.reps} repetitions of ${s.seconds} s; 100-byte values, 100,000 keys. Cells: ops/s (p50 / p99 / p99.9 ms).`,
    'Follower GETs on Redis, node-floor and replication-floor are their only node (the last one\'s leader); on etcd, a follower member.',
    'node-floor: one Node.js process answering SET/GET from a Map (bench/node-floor-server.ts) — no log, no fsync, no replication: the runtime\'s ceiling.',
    'replication-floor: three Node.js processes, a SET acknowledged once fsynced on 2 of 3 (bench/replication-floor-server.ts) — no Raft core, codec, checksums, sessions or linearizable reads: the floor of a replicated write here.',
    '',
    '| workload | raftkv 3 nodes | Redis (appendfsync always) | etcd 3 members | node-floor | replication-floor | raftkv/Redis | raftkv/etcd | raftkv/node-floor | raftkv/replication-floor |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const w of workloads) {
    rows.push(ratioRow(w, (target) => {
      // Redis has no follower: compare follower reads with its one node.
      const id = (target === 'redis-always' || target === 'node-floor' || target === 'replication-floor') && w.follower ? 'get-c50-leader' : w.id
      return m(target, id)
    }))
  }
  if (s.compareWith !== null) {
    const other = `raftkv-3-${basename(s.compareWith)}`
    rows.push('', `Before/after: this checkout (raftkv-3) against ${s.compareWith} (${other}), interleaved in the same run:`, '')
    rows.push('| workload | this checkout | other checkout | this/other |', '| --- | --- | --- | --- |')
    for (const w of workloads) {
      const a = m('raftkv-3', w.id)
      const b = m(other, w.id)
      const cell = (x: RunResult | undefined): string => (x === undefined ? '–' : `${fmtOps(x.opsPerSec)} (${fmtMs(x.p50Ms)} / ${fmtMs(x.p99Ms)} / ${fmtMs(x.p999Ms)})`)
      rows.push(`| ${w.title} | ${cell(a)} | ${cell(b)} | ${fmtRatio(a?.opsPerSec ?? NaN, b?.opsPerSec ?? NaN)} |`)
    }
  }
  const mixK = m('raftkv-3', 'mix-set50-get50-c50')
  const mixR = m('redis-always', 'mix-set50-get50-c50')
  if (mixK !== undefined || mixR !== undefined) {
    rows.push('', 'ioredis driver, 50 % SET / 50 % GET, 50 clients (one run each, Node client):', '')
    for (const x of [mixK, mixR]) if (x !== undefined) rows.push(`- ${x.target}: ${fmtOps(x.opsPerSec)} ops/s, p50 ${fmtMs(x.p50Ms)} ms, p99 ${fmtMs(x.p99Ms)} ms, p99.9 ${fmtMs(x.p999Ms)} ms`)
  }
  if (five.length > 0) {
    rows.push('', 'raftkv, 5 nodes (leader):', '')
    for (const x of five) rows.push(`- ${x.workload}: ${fmtOps(x.opsPerSec)} ops/s, p50 ${fmtMs(x.p50Ms)} ms, p99 ${fmtMs(x.p99Ms)} ms, p99.9 ${fmtMs(x.p999Ms)} ms`)
  }
  if (restart !== null) {
    rows.push('', `Restart with ${fmtOps(restart.entries)} log entries (${(restart.logBytes / 1e6).toFixed(0)} MB of log, SNAPSHOT_ENTRIES above it; written at ${fmtOps(restart.writeOpsPerSec)} SET/s pipelined):`, '')
    rows.push(`- one node killed with SIGKILL and restarted: serving a linearizable GET after ${restart.nodeServingMs} ms, its peak RSS ${(restart.nodePeakRssBytes / 1048576).toFixed(0)} MiB`)
    rows.push(`- whole cluster killed with SIGKILL and restarted: serving after ${restart.clusterServingMs} ms`)
  }
  return rows.join('\n') + '\n'
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: process.env.QUICK === '1' },
      reps: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string', default: 'raftkv,redis,etcd,node-floor,replication-floor' },
      'skip-5node': { type: 'boolean', default: false },
      'skip-restart': { type: 'boolean', default: false },
      'restart-entries': { type: 'string' },
      'compare-with': { type: 'string' },
    },
  })
  const quick = values.quick
  const s: Settings = {
    quick,
    reps: Number(values.reps ?? 3),
    seconds: Number(values.seconds ?? (quick ? 2 : 5)),
    only: new Set(values.only.split(',')),
    fiveNode: !values['skip-5node'],
    restart: !values['skip-restart'],
    restartEntries: Number(values['restart-entries'] ?? (quick ? 200_000 : 1_000_000)),
    compareWith: values['compare-with'] ?? null,
  }
  for (const [tool, needed] of [['redis-benchmark', s.only.has('raftkv') || s.only.has('redis')], ['redis-server', s.only.has('redis')], ['etcd', s.only.has('etcd')], ['wrk', s.only.has('etcd')]] as const) {
    if (needed && !commandExists(tool)) throw new Error(`${tool} is not installed: run \`make bench\` (it installs it) or apt-get install it`)
  }
  const command = `${process.env.QUICK === '1' ? 'QUICK=1 ' : ''}node dist/bench/suite.js ${process.argv.slice(2).join(' ')}`.trim()
  const scratch = mkdtempSync(join(tmpdir(), 'raftkv-bench-'))
  const started = Date.now()
  try {
    const runs = await mainTable(s, scratch)
    const medians = new Map<string, RunResult>()
    for (const [k, v] of runs) medians.set(k, medianRun(v))
    const five = s.fiveNode && s.only.has('raftkv') ? await fiveNode(s) : []
    const restart = s.restart && s.only.has('raftkv') ? await measureRestart(s.restartEntries, log) : null
    const md = report(s, medians, five, restart, command)
    const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results')
    mkdirSync(resultsDir, { recursive: true })
    const json = { command, settings: { ...s, only: [...s.only] }, medians: [...medians.values()], runs: [...runs.values()].flat(), fiveNode: five, restart }
    writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(json, null, 2) + '\n')
    writeFileSync(join(resultsDir, 'latest.md'), md)
    await writeBenchChart(join(resultsDir, 'latest.json'))
    process.stdout.write('\n' + md)
    log(`done in ${Math.round((Date.now() - started) / 1000)} s; results in bench/results/latest.{json,md,svg}`)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
    process.exit(1)
  },
)
