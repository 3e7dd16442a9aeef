// CPU per SET at a large keyspace, where snapshots cost the most: a 3-node
// cluster is loaded with `--keys` SETs over as many random keys (about 63 %
// distinct), then, once every node applied them, `--requests` more SETs at
// -c 50 -P 16 over the same range. Each node's utime + stime over that
// second load, per SET, and the snapshots each node saved meanwhile (from
// /status), are printed per run; runs of the configurations alternate.
//
//   node dist/bench/keyspace-cpu.js [--keys 1000000] [--requests 600000] [--reps 2]
//     [--env NAME=VALUE ...] [--compare-env NAME=VALUE ...]
//
// --env sets a variable on every node of every run; --compare-env adds a
// configuration with those variables too (e.g. the snapshot policy against
// the defaults).
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import type { ProcessNode } from '../test/cluster/process-cluster.js'
import { envPairs } from './lib/env-pairs.js'
import { cpuTicks, ticksPerSecond } from './lib/proc-stat.js'
import { sleep } from './lib/procs.js'
import { median } from './lib/result.js'
import { startRaftkv } from './lib/targets.js'

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '600000' },
    reps: { type: 'string', default: '2' },
    env: { type: 'string', multiple: true, default: [] },
    'compare-env': { type: 'string', multiple: true, default: [] },
  },
})
const KEYS = Number(values.keys)
const REQUESTS = Number(values.requests)
const REPS = Number(values.reps)

interface Run {
  readonly setsPerSec: number
  /** Leader first. */
  readonly cpuUsPerSet: number[]
  readonly snapshotsSaved: number[]
}

function redisBenchmark(port: number, requests: number, pipeline: number, clients: number): string {
  return execFileSync('redis-benchmark', ['-p', String(port), '-t', 'set', '-n', String(requests), '-r', String(KEYS), '-d', '100', '-P', String(pipeline), '-c', String(clients), '-q'], { encoding: 'utf8', timeout: 900_000 })
}

async function savedSnapshots(node: ProcessNode): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}/status`)
  const body = (await res.json()) as { snapshots: { saved: { count: number } } }
  return body.snapshots.saved.count
}

async function oneRun(env: Record<string, string>): Promise<Run> {
  const t = await startRaftkv(3, env)
  try {
    const nodes = [t.leader, ...t.cluster.nodes.filter((n) => n !== t.leader)]
    const allApplied = async (what: string): Promise<void> => {
      const commit = (await t.leader.status())?.commitIndex ?? 0
      await t.cluster.waitFor(async () => (await Promise.all(nodes.map((n) => n.status()))).every((st) => st !== null && st.appliedIndex >= commit), what, 600_000)
    }
    redisBenchmark(t.writePort, KEYS, 32, 50)
    await allApplied('every node to apply the load')
    await sleep(5000)
    const pids = t.pids()
    const saved0 = await Promise.all(nodes.map(savedSnapshots))
    const ticks0 = pids.map(cpuTicks)
    const started = performance.now()
    redisBenchmark(t.writePort, REQUESTS, 16, 50)
    await allApplied('every node to apply the measured SETs')
    const seconds = (performance.now() - started) / 1000
    const ticks1 = pids.map(cpuTicks)
    const saved1 = await Promise.all(nodes.map(savedSnapshots))
    return {
      setsPerSec: REQUESTS / seconds,
      cpuUsPerSet: pids.map((_, i) => (((ticks1[i] ?? 0) - (ticks0[i] ?? 0)) * 1e6) / ticksPerSecond / REQUESTS),
      snapshotsSaved: saved1.map((n, i) => n - (saved0[i] ?? 0)),
    }
  } finally {
    await t.stop()
  }
}

async function main(): Promise<void> {
  const base = envPairs(values.env)
  const configs = [{ label: 'defaults', env: base }]
  if (values['compare-env'].length > 0) configs.push({ label: values['compare-env'].join(' '), env: { ...base, ...envPairs(values['compare-env']) } })
  const runs = new Map<string, Run[]>(configs.map((c) => [c.label, []]))
  console.log(`keys ${KEYS}, measured SETs ${REQUESTS} at -c 50 -P 16; ${new Date().toISOString()}`)
  console.log('| configuration | run | SET/s (load and apply) | CPU µs per SET: leader, followers | all three | snapshots saved (each node) |')
  console.log('| --- | ---: | ---: | --- | ---: | --- |')
  for (let rep = 1; rep <= REPS; rep++) {
    for (const c of configs) {
      const r = await oneRun(c.env)
      runs.get(c.label)?.push(r)
      const sum = r.cpuUsPerSet.reduce((a, b) => a + b, 0)
      console.log(`| ${c.label} | ${rep} | ${Math.round(r.setsPerSec)} | ${r.cpuUsPerSet.map((x) => x.toFixed(1)).join(', ')} | ${sum.toFixed(1)} | ${r.snapshotsSaved.join(', ')} |`)
    }
  }
  for (const c of configs) {
    const rs = runs.get(c.label) ?? []
    console.log(`median ${c.label}: CPU µs per SET over the three ${median(rs.map((r) => r.cpuUsPerSet.reduce((a, b) => a + b, 0))).toFixed(1)}, ${Math.round(median(rs.map((r) => r.setsPerSec)))} SET/s`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
