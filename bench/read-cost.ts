// CPU per request of reads whose replies are long: a list range, a whole
// hash, set or sorted set, MGET. What a request costs past GET is the reply:
// each element found, turned into bytes and written. Each target holds the
// same data (a 600-element list, 100-field hash, 100-member set and sorted
// set with integer scores, 10 strings of 100 bytes), and redis-benchmark
// sends each command with 50 clients to the node that takes writes (raftkv's
// leader: a read there makes no Raft round of its own under load, so its CPU
// is the read's); the CPU is that process's utime+stime over the run.
// Repetitions alternate the targets' order; medians.
//
//   node dist/bench/read-cost.js [--requests 20000] [--reps 3] [--compare-with <checkout>] [--skip-redis]
//     [--commands 'lrange mylist 0 599|hgetall myhash']
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { cpuTicks, ticksPerSecond } from './lib/proc-stat.js'
import { runCommand } from './lib/procs.js'
import { startRaftkv, startRedis, type RespTarget } from './lib/targets.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '3' },
    'compare-with': { type: 'string' },
    'skip-redis': { type: 'boolean', default: false },
    commands: { type: 'string', default: 'lrange mylist 0 599|lrange mylist 0 99|hgetall myhash|smembers myset|zrange myzset 0 -1 withscores|mget k0 k1 k2 k3 k4 k5 k6 k7 k8 k9|get k0' },
  },
})
const requests = Number(values.requests)
const reps = Number(values.reps)
const commands = values.commands.split('|')

const element = (i: number): string => `element:${String(i).padStart(6, '0')}`

async function fill(port: number): Promise<void> {
  const c = new Redis({ port, maxRetriesPerRequest: 3 })
  try {
    await c.del('mylist', 'myhash', 'myset', 'myzset')
    await c.rpush('mylist', ...Array.from({ length: 600 }, (_, i) => element(i)))
    await c.hset('myhash', ...Array.from({ length: 100 }, (_, i) => [element(i), `value:${i}`]).flat())
    await c.sadd('myset', ...Array.from({ length: 100 }, (_, i) => element(i)))
    await c.zadd('myzset', ...Array.from({ length: 100 }, (_, i) => [String(i), element(i)]).flat())
    await c.mset(...Array.from({ length: 10 }, (_, i) => [`k${i}`, 'x'.repeat(100)]).flat())
  } finally {
    c.disconnect()
  }
}

/** CPU µs per request of the target's write node for one run of `command`. */
async function measure(t: RespTarget, command: string): Promise<number> {
  const pid = t.pids()[0] as number
  const before = cpuTicks(pid)
  const out = await runCommand('redis-benchmark', ['-p', String(t.writePort), '-n', String(requests), '-c', '50', '-q', ...command.split(' ')], 10 * 60_000)
  if (/error/i.test(out)) throw new Error(`${t.name}: ${command}: ${out.slice(-500)}`)
  return ((cpuTicks(pid) - before) * (1e6 / ticksPerSecond)) / requests
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

async function main(): Promise<void> {
  const targets: RespTarget[] = []
  const costs = new Map<string, number[]>()
  try {
    targets.push(await startRaftkv(3))
    if (values['compare-with'] !== undefined) targets.push(await startRaftkv(3, {}, values['compare-with']))
    if (!values['skip-redis']) targets.push(await startRedis())
    for (const t of targets) await fill(t.writePort)
    for (const command of commands) {
      for (const t of targets) await measure(t, command) // warm-up
      for (let rep = 0; rep < reps; rep++) {
        for (const t of rep % 2 === 0 ? targets : [...targets].reverse()) {
          const us = await measure(t, command)
          const k = `${t.name}\t${command}`
          costs.set(k, [...(costs.get(k) ?? []), us])
          process.stderr.write(`${t.name} / ${command}: ${us.toFixed(1)} µs\n`)
        }
      }
    }
  } finally {
    for (const t of targets) await t.stop()
  }
  const rows = [
    `Command: \`node dist/bench/read-cost.js ${process.argv.slice(2).join(' ')}\` — ${new Date().toISOString()}; ${requests} requests a run, 50 clients, medians of ${reps} (each run's value in brackets).`,
    'CPU µs per request of the process that takes writes (raftkv: the leader).',
    '',
    `| command | ${targets.map((t) => t.name).join(' | ')} |`,
    `| --- | ${targets.map(() => '---:').join(' | ')} |`,
  ]
  for (const command of commands) {
    const cells = targets.map((t) => {
      const xs = costs.get(`${t.name}\t${command}`) ?? []
      return `${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(0)).join(', ')})`
    })
    rows.push(`| ${command} | ${cells.join(' | ')} |`)
  }
  process.stdout.write(rows.join('\n') + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
