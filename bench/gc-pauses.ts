// Garbage-collection pauses of every raftkv node under a sustained write
// load: the issue-16 must "no GC pause over 10 ms on any node during a
// 60-second -P 16 run". Starts a 3-node cluster whose nodes preload
// bench/gc-hook.ts (perf_hooks 'gc' entries), runs `redis-benchmark -t set
// -P 16` against the leader for the given time, and reports each node's
// pauses inside that window: count, time in GC, median, p99 and max, by kind.
//
//   node dist/bench/gc-pauses.js [--seconds 60] [--clients 50] [--pipeline 16] [--compare-with <checkout>]
//
// --compare-with runs another checkout's build (built with `npx tsc`) after
// this one's, under the same load, for a before/after pair.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { startRaftkv } from './lib/targets.js'

interface Pause {
  readonly startMs: number
  readonly ms: number
  readonly kind: string
}

interface NodePauses {
  readonly role: string
  readonly pid: number
  readonly pauses: Pause[]
  readonly dropped: number
}

const hookUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'gc-hook.js')).href

function readPauses(dir: string, pid: number): { pauses: Pause[]; dropped: number } {
  const pauses: Pause[] = []
  let dropped = 0
  const file = join(dir, `${pid}.jsonl`)
  if (!existsSync(file)) return { pauses, dropped }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue
    const rec = JSON.parse(line) as { pauses: [number, number, string][]; dropped: number }
    dropped += rec.dropped
    for (const [startMs, ms, kind] of rec.pauses) pauses.push({ startMs, ms, kind })
  }
  return { pauses, dropped }
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

/** Runs redis-benchmark SETs for `seconds`, then stops it (it is given more requests than it can finish). */
function loadFor(port: number, seconds: number, clients: number, pipeline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-c', String(clients), '-P', String(pipeline),
      '-d', '100', '-r', '100000', '-n', '1000000000', '-q'], { stdio: 'ignore' })
    const timer = setTimeout(() => p.kill('SIGINT'), seconds * 1000)
    p.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    p.on('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

async function runTarget(checkout: string | null, seconds: number, clients: number, pipeline: number): Promise<{ name: string; opsPerSec: number; nodes: NodePauses[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-gc-'))
  const t = await startRaftkv(3, { NODE_OPTIONS: `--import ${hookUrl}`, GC_PAUSES_DIR: dir }, checkout)
  try {
    const before = await commandsProcessed(t.writePort)
    const startMs = Date.now()
    await loadFor(t.writePort, seconds, clients, pipeline)
    const endMs = Date.now()
    const after = await commandsProcessed(t.writePort)
    // Let every node's hook flush the last second.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const pids = t.pids()
    const nodes = pids.map((pid, i) => {
      const { pauses, dropped } = readPauses(dir, pid)
      return { role: i === 0 ? 'leader' : `follower ${i}`, pid, pauses: pauses.filter((p) => p.startMs >= startMs && p.startMs <= endMs), dropped }
    })
    return { name: t.name, opsPerSec: (after - before - 1) / ((endMs - startMs) / 1000), nodes }
  } finally {
    await t.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function report(r: { name: string; opsPerSec: number; nodes: NodePauses[] }): string[] {
  const lines = [`${r.name}: ${Math.round(r.opsPerSec)} SET/s`, '| node | kind | pauses | ms in GC | p50 ms | p99 ms | max ms | over 10 ms |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
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
    },
  })
  const seconds = Number(values.seconds)
  const clients = Number(values.clients)
  const pipeline = Number(values.pipeline)
  const checkouts: (string | null)[] = [null]
  if (values['compare-with'] !== undefined) checkouts.push(values['compare-with'])
  const out = [`Command: \`node dist/bench/gc-pauses.js ${process.argv.slice(2).join(' ')}\` — ${new Date().toISOString()}; redis-benchmark -t set -c ${clients} -P ${pipeline} -d 100 -r 100000 for ${seconds} s against the leader.`, '']
  for (const c of checkouts) {
    const r = await runTarget(c, seconds, clients, pipeline)
    out.push(...report(c === null ? r : { ...r, name: `${r.name} (${basename(c)})` }), '')
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
