// The load driver: N ioredis connections, each a closed loop (send, wait for
// the answer, send again), optionally pipelining P commands per round trip,
// over a SET/GET/INCR mix on a fixed key space, for a duration or a request
// count. Latencies go into an HDR histogram in microseconds; with pipelining
// every command of a batch is recorded with the batch's round-trip time (what
// redis-benchmark does too).
//
//   node dist/bench/driver.js --port 6379 --clients 50 --pipeline 16 \
//     --mix set=80,get=20 --keys 100000 --value-bytes 100 --seconds 10 \
//     [--requests N] [--label name] [--json out.json]
//
// It works against anything that speaks RESP: raftkv, redis-server.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import cliProgress from 'cli-progress'
import * as hdr from 'hdr-histogram-js'
import { Redis } from 'ioredis'
import type { RunResult } from './lib/result.js'

export type OpKind = 'set' | 'get' | 'incr'

export interface DriverOptions {
  readonly host: string
  readonly port: number
  readonly clients: number
  readonly pipeline: number
  /** Relative weights; e.g. {set: 80, get: 20}. */
  readonly mix: Readonly<Partial<Record<OpKind, number>>>
  readonly keys: number
  readonly valueBytes: number
  /** Stop after this long (unless `requests` is set). */
  readonly seconds: number
  /** Stop after this many commands in total, when set. */
  readonly requests?: number
  readonly target: string
  readonly workload: string
  /** Show a progress bar on stderr (only when it is a terminal). */
  readonly progress?: boolean
}

/** Microseconds; one hour is more than any request may take. */
const latencyUsMax = 3_600_000_000

export function parseMix(text: string): Partial<Record<OpKind, number>> {
  const mix: Partial<Record<OpKind, number>> = {}
  for (const part of text.split(',')) {
    const [name, weightText] = part.split('=')
    if (name !== 'set' && name !== 'get' && name !== 'incr') throw new Error(`--mix: unknown command '${name ?? ''}' (set, get, incr)`)
    const weight = Number(weightText ?? '1')
    if (!(weight >= 0)) throw new Error(`--mix: bad weight for ${name}`)
    mix[name] = weight
  }
  return mix
}

/** Picks commands by weight from a cumulative table (no allocation per pick). */
class MixPicker {
  private readonly kinds: OpKind[] = []
  private readonly cumulative: number[] = []
  private readonly total: number

  constructor(mix: Readonly<Partial<Record<OpKind, number>>>) {
    let sum = 0
    for (const kind of ['set', 'get', 'incr'] as const) {
      const w = mix[kind] ?? 0
      if (w <= 0) continue
      sum += w
      this.kinds.push(kind)
      this.cumulative.push(sum)
    }
    if (sum === 0) throw new Error('the mix has no command with a positive weight')
    this.total = sum
  }

  pick(): OpKind {
    const x = Math.random() * this.total
    for (let i = 0; i < this.cumulative.length; i++) if (x < (this.cumulative[i] as number)) return this.kinds[i] as OpKind
    return this.kinds[this.kinds.length - 1] as OpKind
  }
}

export async function runDriver(opts: DriverOptions): Promise<RunResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: latencyUsMax, numberOfSignificantValueDigits: 3 })
  const picker = new MixPicker(opts.mix)
  const value = Buffer.alloc(opts.valueBytes, 0x78)
  const clients = await connectAll(opts)
  let sent = 0
  let done = 0
  let errors = 0
  const limit = opts.requests ?? Number.POSITIVE_INFINITY
  const startMs = performance.now()
  const endMs = opts.requests === undefined ? startMs + opts.seconds * 1000 : Number.POSITIVE_INFINITY
  const bar = startProgress(opts, () => done, startMs)

  const key = (): string => `key:${Math.floor(Math.random() * opts.keys)}`
  const worker = async (redis: Redis): Promise<void> => {
    while (performance.now() < endMs && sent < limit) {
      const batch = Math.min(opts.pipeline, limit - sent)
      sent += batch
      const t0 = performance.now()
      try {
        if (opts.pipeline === 1) {
          const kind = picker.pick()
          if (kind === 'set') await redis.set(key(), value)
          else if (kind === 'get') await redis.get(key())
          else await redis.incr(`counter:${Math.floor(Math.random() * opts.keys)}`)
        } else {
          const p = redis.pipeline()
          for (let i = 0; i < batch; i++) {
            const kind = picker.pick()
            if (kind === 'set') p.set(key(), value)
            else if (kind === 'get') p.get(key())
            else p.incr(`counter:${Math.floor(Math.random() * opts.keys)}`)
          }
          const replies = await p.exec()
          for (const [err] of replies ?? []) if (err !== null) errors++
        }
      } catch {
        errors += batch
      }
      const us = Math.max(1, Math.round((performance.now() - t0) * 1000))
      histogram.recordValueWithCount(us, batch)
      done += batch
    }
  }
  await Promise.all(clients.map(worker))
  const seconds = (performance.now() - startMs) / 1000
  bar?.stop()
  for (const c of clients) c.disconnect()
  const result: RunResult = {
    target: opts.target,
    workload: opts.workload,
    tool: 'driver',
    requests: done,
    errors,
    seconds,
    opsPerSec: done / seconds,
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    p999Ms: histogram.getValueAtPercentile(99.9) / 1000,
    maxMs: histogram.maxValue / 1000,
  }
  histogram.destroy()
  return result
}

async function connectAll(opts: DriverOptions): Promise<Redis[]> {
  const clients: Redis[] = []
  for (let i = 0; i < opts.clients; i++) {
    // Fail fast instead of ioredis' default minute of retries: a benchmark wants errors counted, not hidden.
    const redis = new Redis({ host: opts.host, port: opts.port, maxRetriesPerRequest: 1, retryStrategy: () => null, enableAutoPipelining: false, lazyConnect: true })
    redis.on('error', () => {})
    clients.push(redis)
  }
  await Promise.all(clients.map((c) => c.connect()))
  return clients
}

function startProgress(opts: DriverOptions, done: () => number, startMs: number): { stop(): void } | null {
  if (opts.progress !== true || !process.stderr.isTTY) return null
  const total = opts.requests ?? opts.seconds
  const bar = new cliProgress.SingleBar({
    format: `${opts.target} ${opts.workload} [{bar}] {percentage}% | {ops} ops/s`,
    stream: process.stderr,
    hideCursor: true,
  }, cliProgress.Presets.shades_classic)
  bar.start(total, 0, { ops: 0 })
  const timer = setInterval(() => {
    const elapsedS = (performance.now() - startMs) / 1000
    bar.update(opts.requests === undefined ? Math.min(elapsedS, total) : done(), { ops: Math.round(done() / elapsedS) })
  }, 250)
  return {
    stop(): void {
      clearInterval(timer)
      bar.update(opts.requests === undefined ? total : done())
      bar.stop()
    },
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6379' },
      clients: { type: 'string', default: '50' },
      pipeline: { type: 'string', default: '1' },
      mix: { type: 'string', default: 'set=1' },
      keys: { type: 'string', default: '100000' },
      'value-bytes': { type: 'string', default: '100' },
      seconds: { type: 'string', default: '10' },
      requests: { type: 'string' },
      label: { type: 'string', default: 'target' },
      json: { type: 'string' },
    },
  })
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`)
    return n
  }
  const opts: DriverOptions = {
    host: values.host,
    port: int('port', values.port, 1),
    clients: int('clients', values.clients, 1),
    pipeline: int('pipeline', values.pipeline, 1),
    mix: parseMix(values.mix),
    keys: int('keys', values.keys, 1),
    valueBytes: int('value-bytes', values['value-bytes'], 0),
    seconds: Number(values.seconds),
    ...(values.requests === undefined ? {} : { requests: int('requests', values.requests, 1) }),
    target: values.label,
    workload: `${values.mix} c${values.clients}${values.pipeline === '1' ? '' : ` P${values.pipeline}`}`,
    progress: true,
  }
  const r = await runDriver(opts)
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(r, null, 2) + '\n')
  console.log(`${r.target} ${r.workload}: ${Math.round(r.opsPerSec)} ops/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  p99.9 ${r.p999Ms.toFixed(2)} ms  errors ${r.errors}`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err))
    process.exit(1)
  })
}
