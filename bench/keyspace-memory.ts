// Node memory at 1M string keys: the RSS of each raftkv node (and its V8 heap,
// INFO's used_memory) after `redis-benchmark -t set -n 1000000 -r 100000000
// -d 100 -P 32`, next to one redis-server loaded the same way (no
// persistence: `--save '' --appendonly no`, so that no AOF buffer or fork
// is in its RSS; the keyspace is what is measured). Bytes per key is the
// RSS growth over the freshly started process, divided by the keys held.
//
// A raftkv node also holds its Raft log in memory until the next snapshot
// (SNAPSHOT_ENTRIES, 100,000 entries by default), so the numbers depend on
// where the load ends relative to the last snapshot: `--snapshot-entries N`
// runs the cluster with a smaller interval, to see the keyspace with little
// log left in memory.
//
//   node dist/bench/keyspace-memory.js [--requests 1000000] [--value-bytes 100]
//     [--snapshot-entries N] [--compare-with <checkout>] [--skip-redis]
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort } from '../test/cluster/process-cluster.js'
import { WireClient } from '../test/redis-diff/resp-wire.js'
import { startProcess, stopProcess, waitFor } from './lib/procs.js'
import { startRaftkv, type RaftkvTarget } from './lib/targets.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    'value-bytes': { type: 'string', default: '100' },
    'snapshot-entries': { type: 'string' },
    'compare-with': { type: 'string', multiple: true, default: [] },
    'skip-redis': { type: 'boolean', default: false },
    'settle-ms': { type: 'string', default: '5000' },
  },
})
const REQUESTS = Number(values.requests)
const VALUE_BYTES = Number(values['value-bytes'])
const SETTLE_MS = Number(values['settle-ms'])

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`)
  return Number(kb) * 1024
}

async function info(port: number, section: string): Promise<string> {
  const client = await WireClient.open(port)
  try {
    const reply = await client.send(['INFO', section])
    return reply.t === 'bulk' ? reply.v ?? '' : ''
  } finally {
    client.close()
  }
}

async function dbsize(port: number): Promise<number> {
  const client = await WireClient.open(port)
  try {
    const reply = await client.send(['DBSIZE'])
    return reply.t === 'int' ? Number(reply.v) : NaN
  } finally {
    client.close()
  }
}

function field(text: string, name: string): number {
  return Number(new RegExp(`${name}:(\\d+)`).exec(text)?.[1] ?? NaN)
}

// One run of REQUESTS; redis-benchmark stops at the first error reply, and a
// loaded cluster on a shared machine may answer one (a TIMEOUT after a
// leader change): then the rest goes in runs of CHUNK_REQUESTS, a failed run
// repeated. Bytes per key divides by the keys actually held (DBSIZE).
const CHUNK_REQUESTS = 20_000
const LOAD_TRIES_MAX = 50

function runBenchmark(port: number, requests: number): boolean {
  const args = ['-p', String(port), '-t', 'set', '-n', String(requests), '-r', '100000000', '-d', String(VALUE_BYTES), '-P', '32', '-q']
  const run = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 30 * 60_000 })
  if (run.status !== 0) process.stderr.write(`redis-benchmark -n ${requests} failed: ${run.stderr.trim()}\n`)
  return run.status === 0
}

async function load(port: number): Promise<void> {
  if (runBenchmark(port, REQUESTS)) return
  const held = await dbsize(port)
  for (let sent = held; sent < REQUESTS; sent += CHUNK_REQUESTS) {
    for (let tries = 1; !runBenchmark(port, Math.min(CHUNK_REQUESTS, REQUESTS - sent)); tries++) {
      if (tries >= LOAD_TRIES_MAX) throw new Error('redis-benchmark kept failing')
    }
  }
}

/** The newest snapshot file's size in a node's data directory: storage holds that snapshot in memory too. */
function snapshotFileBytes(dir: string): number {
  const names = readdirSync(dir).filter((n) => n.endsWith('.snap')).sort()
  const last = names[names.length - 1]
  return last === undefined ? 0 : statSync(join(dir, last)).size
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const mib = (b: number): string => (b / 1048576).toFixed(1)

interface Row {
  name: string
  keys: number
  rssBefore: number
  rssAfter: number
  heapAfter: number
  /** raftkv: the latest snapshot's bytes, held in memory by storage (null for redis). */
  snapshotBytes: number | null
}

function printRow(r: Row, redisRss: number | null): void {
  const perKey = (r.rssAfter - r.rssBefore) / r.keys
  const ratio = redisRss === null ? '–' : `${(r.rssAfter / redisRss).toFixed(2)}×`
  console.log(`| ${r.name} | ${r.keys} | ${mib(r.rssBefore)} | ${mib(r.rssAfter)} | ${mib(r.heapAfter)} | ${r.snapshotBytes === null ? '–' : mib(r.snapshotBytes)} | ${perKey.toFixed(0)} | ${ratio} |`)
}

async function measureRedis(): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-keyspace-memory-redis-'))
  const port = await freePort()
  const { proc, output } = startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'])
  try {
    await waitFor(async () => (await info(port, 'server').catch(() => '')).includes('redis_version'), `redis-server\n${output()}`)
    const pid = proc.pid ?? 0
    const rssBefore = rssBytes(pid)
    await load(port)
    await sleep(SETTLE_MS)
    const memory = await info(port, 'memory')
    const keys = await dbsize(port)
    return { name: 'redis-server (no persistence)', keys, rssBefore, rssAfter: rssBytes(pid), heapAfter: field(memory, 'used_memory'), snapshotBytes: null }
  } finally {
    await stopProcess(proc)
    rmSync(dir, { recursive: true, force: true })
  }
}

async function measureRaftkv(checkout: string | null): Promise<Row[]> {
  const env: Record<string, string> = {}
  if (values['snapshot-entries'] !== undefined) env['SNAPSHOT_ENTRIES'] = values['snapshot-entries']
  const target: RaftkvTarget = await startRaftkv(3, env, checkout)
  try {
    const nodes = target.cluster.nodes
    await sleep(1000)
    const before = nodes.map((n) => rssBytes(n.proc?.pid ?? 0))
    await load(target.writePort)
    // Every node has applied what the leader committed.
    const commit = (await target.leader.status())?.commitIndex ?? 0
    for (const n of nodes) await waitFor(async () => ((await n.status())?.appliedIndex ?? 0) >= commit, `${n.spec.id} to apply ${commit}`)
    await sleep(SETTLE_MS)
    const keys = await dbsize(target.writePort)
    const rows: Row[] = []
    for (const [i, n] of nodes.entries()) {
      const memory = await info(n.spec.respPort, 'memory')
      const role = n === target.leader ? 'leader' : 'follower'
      rows.push({ name: `${target.name} ${n.spec.id} (${role})`, keys, rssBefore: before[i] ?? 0, rssAfter: rssBytes(n.proc?.pid ?? 0), heapAfter: field(memory, 'used_memory'), snapshotBytes: snapshotFileBytes(n.spec.dataDir) })
    }
    return rows
  } finally {
    await target.stop()
  }
}

console.log(`requests: ${REQUESTS}, value bytes: ${VALUE_BYTES}, SNAPSHOT_ENTRIES: ${values['snapshot-entries'] ?? 'default'}; node ${process.version}`)
console.log('| process | keys | RSS before (MiB) | RSS after (MiB) | heap / used_memory after (MiB) | snapshot held (MiB) | RSS bytes/key | RSS / redis RSS |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
const redis = values['skip-redis'] ? null : await measureRedis()
if (redis !== null) printRow(redis, redis.rssAfter)
for (const checkout of [null, ...(values['compare-with'] ?? [])]) {
  for (const row of await measureRaftkv(checkout)) printRow(row, redis?.rssAfter ?? null)
}
