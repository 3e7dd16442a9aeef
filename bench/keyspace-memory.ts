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
// Every raftkv node preloads bench/memory-hook.ts: after the load the script
// asks each node for its V8 heap by space, what is outside V8 (RSS minus the
// heap's committed pages) and the same after a full GC, and prints a second
// table with them ("where a node's RSS is").
//
// With --scan, after the first reading every node serves one full SCAN
// iteration (COUNT 1000, as `redis-cli --scan` would walk it): the first SCAN
// builds a node's SCAN index (lib/kv/key-buckets.ts), which it keeps from
// then on, so a third table gives each node's RSS after it.
//
// With --restart, after the load one follower is stopped (SIGTERM) and
// started again, and the other is killed, emptied and started again: each
// row gives the time until it applied the leader's commit index, and its RSS
// and peak RSS then (a restart restores from its snapshot file; an empty node
// installs the leader's snapshot).
//
//   node dist/bench/keyspace-memory.js [--requests 1000000] [--value-bytes 100]
//     [--snapshot-entries N] [--compare-with <checkout>] [--skip-redis] [--scan] [--restart]
//     [--env NAME=VALUE ...] [--compare-env NAME=VALUE ...]
//
// --env sets a variable on every node of every cluster (e.g. NODE_OPTIONS or
// LOG_CACHE_BYTES); --compare-env runs this checkout's build a second time
// with those variables too, for a before/after pair of a setting.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort } from '../test/cluster/process-cluster.js'
import { WireClient } from '../test/redis-diff/resp-wire.js'
import { startProcess, stopProcess, waitFor } from './lib/procs.js'
import { envPairs } from './lib/env-pairs.js'
import { statusBytes as rssBytes } from './lib/proc-stat.js'
import { startRaftkv, type RaftkvTarget } from './lib/targets.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    'value-bytes': { type: 'string', default: '100' },
    'snapshot-entries': { type: 'string' },
    'compare-with': { type: 'string', multiple: true, default: [] },
    'skip-redis': { type: 'boolean', default: false },
    'settle-ms': { type: 'string', default: '5000' },
    'rest-ms': { type: 'string', default: '0' },
    restart: { type: 'boolean', default: false },
    scan: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    'compare-env': { type: 'string', multiple: true, default: [] },
  },
})
const REQUESTS = Number(values.requests)
const VALUE_BYTES = Number(values['value-bytes'])
const SETTLE_MS = Number(values['settle-ms'])
/** With --rest-ms N, each node's RSS is read again N ms after the first reading (no GC forced): what V8 gives back by itself at rest. */
const REST_MS = Number(values['rest-ms'])

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

/** Walks one full SCAN iteration on a node: the keys it returned (with repeats) and the calls it took. */
async function scanAll(port: number): Promise<{ keys: number; calls: number }> {
  const client = await WireClient.open(port)
  try {
    let cursor = '0'
    let keys = 0
    let calls = 0
    do {
      const reply = await client.send(['SCAN', cursor, 'COUNT', '1000'])
      const [next, page] = reply.t === 'array' && reply.v !== null ? reply.v : []
      if (next?.t !== 'bulk' || page?.t !== 'array') throw new Error(`SCAN answered ${JSON.stringify(reply).slice(0, 200)}`)
      cursor = next.v ?? '0'
      keys += page.v?.length ?? 0
      calls++
    } while (cursor !== '0')
    return { keys, calls }
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

const hookUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'memory-hook.js')).href

interface HookSnapshot {
  usage: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }
  heap: { total_physical_size: number; malloced_memory: number; peak_malloced_memory: number; external_memory: number }
  spaces: { name: string; sizeBytes: number; usedBytes: number; physicalBytes: number }[]
  rollup: Record<string, number>
}

/** Asks a node's memory hook for its numbers (and a full GC's, with `gc`). */
async function askHook(dir: string, pid: number, what: 'gc' | 'stats'): Promise<{ before: HookSnapshot; afterGc: HookSnapshot | null }> {
  const answer = join(dir, `${pid}.json`)
  rmSync(answer, { force: true })
  writeFileSync(join(dir, `${pid}.ask`), what)
  await waitFor(async () => existsSync(answer), `memory hook of ${pid}`)
  await sleep(200)
  return JSON.parse(readFileSync(answer, 'utf8')) as { before: HookSnapshot; afterGc: HookSnapshot | null }
}

interface Breakdown {
  name: string
  before: HookSnapshot
  afterGc: HookSnapshot | null
}

function spaceLine(s: HookSnapshot): string {
  const short: Record<string, string> = { new_space: 'new', old_space: 'old', code_space: 'code', map_space: 'map', large_object_space: 'lo', new_large_object_space: 'new lo', code_large_object_space: 'code lo', read_only_space: 'ro', shared_space: 'shared', shared_large_object_space: 'shared lo' }
  return s.spaces
    .filter((sp) => sp.physicalBytes >= 1048576)
    .map((sp) => `${short[sp.name] ?? sp.name} ${mib(sp.usedBytes)}/${mib(sp.physicalBytes)}`)
    .join(', ')
}

function printBreakdown(b: Breakdown): void {
  for (const [when, s] of [['loaded', b.before], ['after full GC', b.afterGc]] as const) {
    if (s === null) continue
    const v8Physical = s.heap.total_physical_size
    const outside = s.usage.rss - v8Physical
    console.log(`| ${b.name} | ${when} | ${mib(s.usage.rss)} | ${mib(s.usage.heapUsed)} / ${mib(v8Physical)} | ${spaceLine(s)} | ${mib(s.usage.external)} (${mib(s.usage.arrayBuffers)}) | ${mib(s.heap.malloced_memory)} | ${mib(outside)} | ${mib(s.rollup['Anonymous'] ?? NaN)} / ${mib((s.rollup['Rss'] ?? NaN) - (s.rollup['Anonymous'] ?? NaN))} |`)
  }
}

const breakdowns: Breakdown[] = []
const rests: string[] = []

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const mib = (b: number): string => (b / 1048576).toFixed(1)

interface Row {
  name: string
  keys: number
  rssBefore: number
  rssAfter: number
  /** The highest RSS the process reached (VmHWM): the load's peak, snapshots included. */
  rssPeak: number
  heapAfter: number
  /** raftkv: the latest snapshot's bytes, held in memory by storage (null for redis). */
  snapshotBytes: number | null
}

function printRow(r: Row, redisRss: number | null): void {
  const perKey = (r.rssAfter - r.rssBefore) / r.keys
  const ratio = redisRss === null ? '–' : `${(r.rssAfter / redisRss).toFixed(2)}×`
  console.log(`| ${r.name} | ${r.keys} | ${mib(r.rssBefore)} | ${mib(r.rssAfter)} | ${mib(r.rssPeak)} | ${mib(r.heapAfter)} | ${r.snapshotBytes === null ? '–' : mib(r.snapshotBytes)} | ${perKey.toFixed(0)} | ${ratio} |`)
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
    return { name: 'redis-server (no persistence)', keys, rssBefore, rssAfter: rssBytes(pid), rssPeak: rssBytes(pid, 'VmHWM'), heapAfter: field(memory, 'used_memory'), snapshotBytes: null }
  } finally {
    await stopProcess(proc)
    rmSync(dir, { recursive: true, force: true })
  }
}

async function measureRaftkv(checkout: string | null, extraEnv: Record<string, string>, label: string): Promise<Row[]> {
  const statsDir = mkdtempSync(join(tmpdir(), 'raftkv-keyspace-memory-stats-'))
  const env: Record<string, string> = { ...envPairs(values.env ?? []), ...extraEnv, MEMORY_STATS_DIR: statsDir }
  if (values['snapshot-entries'] !== undefined) env['SNAPSHOT_ENTRIES'] = values['snapshot-entries']
  env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --import ${hookUrl}`.trim()
  const target: RaftkvTarget = await startRaftkv(3, env, checkout)
  try {
    const nodes = target.cluster.nodes
    await sleep(1000)
    const before = nodes.map((n) => rssBytes(n.proc?.pid ?? 0))
    await load(target.writePort)
    // Every node has applied what the leader committed.
    // The leader may be too busy to answer its first status request in time (a snapshot of 1M keys).
    let commit = 0
    await waitFor(async () => (commit = (await target.leader.status())?.commitIndex ?? 0) > 0, "the leader's commit index")
    for (const n of nodes) await waitFor(async () => ((await n.status())?.appliedIndex ?? 0) >= commit, `${n.spec.id} to apply ${commit}`)
    await sleep(SETTLE_MS)
    const keys = await dbsize(target.writePort)
    const rows: Row[] = []
    for (const [i, n] of nodes.entries()) {
      const memory = await info(n.spec.respPort, 'memory')
      const role = n === target.leader ? 'leader' : 'follower'
      rows.push({ name: `${target.name}${label} ${n.spec.id} (${role})`, keys, rssBefore: before[i] ?? 0, rssAfter: rssBytes(n.proc?.pid ?? 0), rssPeak: rssBytes(n.proc?.pid ?? 0, 'VmHWM'), heapAfter: field(memory, 'used_memory'), snapshotBytes: snapshotFileBytes(n.spec.dataDir) })
    }
    if (values.scan) {
      for (const [i, n] of nodes.entries()) {
        const started = Date.now()
        const walked = await scanAll(n.spec.respPort)
        const ms = Date.now() - started
        await sleep(SETTLE_MS)
        scans.push(`| ${rows[i]?.name ?? n.spec.id} | ${walked.keys} | ${walked.calls} | ${ms} | ${mib(rows[i]?.rssAfter ?? NaN)} | ${mib(rssBytes(n.proc?.pid ?? 0))} |`)
      }
    }
    if (values.restart) await comeBack(target, commit, label)
    if (REST_MS > 0) {
      await sleep(REST_MS)
      for (const [i, n] of nodes.entries()) rests.push(`| ${rows[i]?.name ?? n.spec.id} | ${mib(rows[i]?.rssAfter ?? NaN)} | ${mib(rssBytes(n.proc?.pid ?? 0))} |`)
    }
    // The hook's numbers, and then a full GC's: what of the RSS is garbage.
    for (const n of nodes) {
      const role = n === target.leader ? 'leader' : 'follower'
      const { before: b, afterGc } = await askHook(statsDir, n.proc?.pid ?? 0, 'gc')
      breakdowns.push({ name: `${target.name}${label} ${n.spec.id} (${role})`, before: b, afterGc })
    }
    return rows
  } finally {
    await target.stop()
    rmSync(statsDir, { recursive: true, force: true })
  }
}

const comebacks: string[] = []
const scans: string[] = []

/** Brings one follower back from its own files and the other from nothing (see the header). */
async function comeBack(target: RaftkvTarget, commit: number, label: string): Promise<void> {
  const followers = target.cluster.nodes.filter((n) => n !== target.leader)
  for (const [i, node] of followers.entries()) {
    const empty = i === 1
    await node.kill(empty ? 'SIGKILL' : 'SIGTERM')
    if (empty) for (const name of readdirSync(node.spec.dataDir)) rmSync(join(node.spec.dataDir, name), { recursive: true, force: true })
    const started = Date.now()
    node.start()
    await waitFor(async () => ((await node.status())?.appliedIndex ?? 0) >= commit, `${node.spec.id} to apply ${commit} again`, 10 * 60_000)
    const ms = Date.now() - started
    const pid = node.proc?.pid ?? 0
    const how = empty ? 'emptied: installs the leader\'s snapshot' : 'restarted: restores its own snapshot'
    comebacks.push(`| ${target.name}${label} ${node.spec.id} | ${how} | ${ms} | ${mib(rssBytes(pid))} | ${mib(rssBytes(pid, 'VmHWM'))} |`)
  }
}

console.log(`requests: ${REQUESTS}, value bytes: ${VALUE_BYTES}, SNAPSHOT_ENTRIES: ${values['snapshot-entries'] ?? 'default'}; node ${process.version}`)
console.log('| process | keys | RSS before (MiB) | RSS after (MiB) | peak RSS (MiB) | heap / used_memory after (MiB) | snapshot held (MiB) | RSS bytes/key | RSS / redis RSS |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
const redis = values['skip-redis'] ? null : await measureRedis()
if (redis !== null) printRow(redis, redis.rssAfter)
const runs: { checkout: string | null; env: Record<string, string>; label: string }[] = [{ checkout: null, env: {}, label: '' }]
if ((values['compare-env'] ?? []).length > 0) runs.push({ checkout: null, env: envPairs(values['compare-env'] ?? []), label: ` [${(values['compare-env'] ?? []).join(' ')}]` })
for (const checkout of values['compare-with'] ?? []) runs.push({ checkout, env: {}, label: '' })
for (const run of runs) {
  for (const row of await measureRaftkv(run.checkout, run.env, run.label)) printRow(row, redis?.rssAfter ?? null)
}
if (scans.length > 0) {
  console.log('')
  console.log(`| process | keys a full SCAN returned | SCAN calls | ms | RSS before it (MiB) | RSS ${SETTLE_MS / 1000} s after it (MiB) |`)
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const line of scans) console.log(line)
}
if (comebacks.length > 0) {
  console.log('')
  console.log('| follower | how it came back | ms until it applied the commit index | RSS then (MiB) | peak RSS (MiB) |')
  console.log('| --- | --- | ---: | ---: | ---: |')
  for (const line of comebacks) console.log(line)
}
if (rests.length > 0) {
  console.log('')
  console.log(`| process | RSS after (MiB) | RSS ${REST_MS / 1000} s later (MiB) |`)
  console.log('| --- | ---: | ---: |')
  for (const line of rests) console.log(line)
}
console.log('')
console.log('Where a node\'s RSS is (MiB): V8 heap used / committed (physical), per space used/committed (spaces of 1 MiB or more), external (of it array buffers), malloc inside V8, RSS outside the V8 heap, and smaps anonymous / file-backed RSS; loaded, then after a full GC.')
console.log('')
console.log('| process | when | RSS | heap used / committed | spaces used/committed | external (array buffers) | V8 malloced | RSS outside V8 heap | anon / file RSS |')
console.log('| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |')
for (const b of breakdowns) printBreakdown(b)
