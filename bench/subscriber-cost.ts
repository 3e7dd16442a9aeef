// What Pub/Sub subscribers cost a writer: SET throughput (redis-benchmark,
// 50 clients) on a 3-node raftkv cluster with no subscriber, with 100
// subscribers on a channel nothing publishes to, and with 100 subscribers
// each receiving every SET as a keyspace notification (`__keyevent@0__:set`,
// NOTIFY_KEYSPACE_EVENTS=E$), spread over the three nodes. The same three
// setups run against redis-server (appendfsync always) as the reference.
// Setups are interleaved within each repetition; medians are reported as a
// ratio to the no-subscriber run of the same system.
//   node dist/bench/subscriber-cost.js [--reps 3] [--requests 100000] [--only raftkv,redis]
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { commandExists } from './lib/procs.js'
import { fmtMs, fmtOps, fmtRatio, medianRun, type RunResult } from './lib/result.js'
import { startRaftkv, startRedis, type RespTarget } from './lib/targets.js'
import { redisBenchmark } from './lib/tools.js'

const subscriberCount = 100
type Setup = 'none' | 'idle' | 'receiving'
const setups: readonly Setup[] = ['none', 'idle', 'receiving']

interface System {
  readonly target: RespTarget
  /** RESP ports to spread subscribers over (every node of a cluster). */
  readonly subscriberPorts: readonly number[]
}

async function subscribe(ports: readonly number[], setup: Setup): Promise<{ received: () => number; close: () => void }> {
  const clients: Redis[] = []
  let received = 0
  if (setup !== 'none') {
    for (let i = 0; i < subscriberCount; i++) {
      const c = new Redis({ port: ports[i % ports.length] as number, host: '127.0.0.1', maxRetriesPerRequest: 1 })
      c.on('error', () => {})
      c.on('message', () => received++)
      clients.push(c)
    }
    await Promise.all(clients.map((c) => c.subscribe(setup === 'receiving' ? '__keyevent@0__:set' : 'nobody-publishes-here')))
  }
  return { received: () => received, close: () => clients.forEach((c) => c.disconnect()) }
}

async function runOnce(system: System, setup: Setup, requests: number): Promise<RunResult> {
  const subs = await subscribe(system.subscriberPorts, setup)
  try {
    const r = await redisBenchmark({ port: system.target.writePort, command: 'set', clients: 50, pipeline: 1, requests, valueBytes: 16, keys: 100_000, target: system.target.name, workload: setup })
    if (setup === 'receiving' && subs.received() === 0) throw new Error(`${system.target.name}: the subscribers received nothing`)
    return r
  } finally {
    subs.close()
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, requests: { type: 'string', default: '100000' }, only: { type: 'string', default: 'raftkv,redis' } } })
  const reps = Number(values.reps)
  const requests = Number(values.requests)
  const only = new Set(values.only.split(','))
  if (!commandExists('redis-benchmark')) throw new Error('redis-benchmark is needed: apt-get install redis-tools')
  const systems: System[] = []
  if (only.has('raftkv')) {
    const t = await startRaftkv(3, { NOTIFY_KEYSPACE_EVENTS: 'E$' })
    systems.push({ target: t, subscriberPorts: t.cluster.nodes.map((n) => n.spec.respPort) })
  }
  if (only.has('redis') && commandExists('redis-server')) {
    const t = await startRedis()
    const admin = new Redis({ port: t.writePort, host: '127.0.0.1' })
    await admin.config('SET', 'notify-keyspace-events', 'E$')
    admin.disconnect()
    systems.push({ target: t, subscriberPorts: [t.writePort] })
  }
  const runs = new Map<string, RunResult[]>()
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const system of systems) {
        for (const setup of setups) {
          const r = await runOnce(system, setup, requests)
          process.stderr.write(`rep ${rep + 1} ${system.target.name} ${setup}: ${fmtOps(r.opsPerSec)} SET/s\n`)
          const key = `${system.target.name}\u0000${setup}`
          runs.set(key, [...(runs.get(key) ?? []), r])
        }
      }
    }
  } finally {
    await Promise.all(systems.map((s) => s.target.stop()))
  }
  process.stdout.write(`\nSET, 50 clients, ${requests} requests per run, median of ${reps}; subscribers: ${subscriberCount}\n\n`)
  process.stdout.write('| system | subscribers | SET/s | ratio to none | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- | --- |\n')
  for (const system of systems) {
    const base = medianRun(runs.get(`${system.target.name}\u0000none`) ?? [])
    for (const setup of setups) {
      const m = medianRun(runs.get(`${system.target.name}\u0000${setup}`) ?? [])
      const label = setup === 'none' ? 'none' : setup === 'idle' ? `${subscriberCount} on an idle channel` : `${subscriberCount} receiving every SET`
      process.stdout.write(`| ${system.target.name} | ${label} | ${fmtOps(m.opsPerSec)} | ${fmtRatio(m.opsPerSec, base.opsPerSec)} | ${fmtMs(m.p50Ms)} | ${fmtMs(m.p99Ms)} |\n`)
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})
