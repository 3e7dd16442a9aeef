// Wrappers around the C load generators: redis-benchmark for RESP targets
// (raftkv and Redis get the identical client, so their numbers compare) and
// wrk for etcd's HTTP JSON gateway. Both reduce to a RunResult.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunResult } from './result.js'
import { runCommand } from './procs.js'

export interface RedisBenchmarkOptions {
  readonly port: number
  readonly command: 'set' | 'get' | 'incr'
  readonly clients: number
  readonly pipeline: number
  readonly requests: number
  readonly valueBytes: number
  readonly keys: number
  readonly target: string
  readonly workload: string
}

export async function redisBenchmark(o: RedisBenchmarkOptions): Promise<RunResult> {
  const args = ['-h', '127.0.0.1', '-p', String(o.port), '-t', o.command, '-c', String(o.clients), '-n', String(o.requests),
    '-d', String(o.valueBytes), '-r', String(o.keys), '-P', String(o.pipeline)]
  const out = await runCommand('redis-benchmark', args, 300_000)
  return parseRedisBenchmark(out, o)
}

/**
 * Reads redis-benchmark 7's report: "throughput summary: N requests per
 * second", the summary line (avg min p50 p95 p99 max, in ms) and, for
 * p99.9, the first line of the percentile distribution at or above 99.9 %
 * (its steps halve towards 100 %, so that is an upper bound within one step).
 */
export function parseRedisBenchmark(out: string, o: { target: string; workload: string; requests: number }): RunResult {
  // A run shorter than its clock's millisecond reports "inf" (a 20-request
  // sizing run against a fast server): it lasted under 1 ms, so it is
  // counted as 1 ms, a rate that errs low.
  const thr = /throughput summary: ([\d.]+|inf) requests per second/.exec(out)
  const summary = /avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(out)
  const completed = /(\d+) requests completed in ([\d.]+) seconds/.exec(out)
  if (thr === null || summary === null || completed === null) throw new Error(`cannot parse redis-benchmark output:\n${out.slice(-2000)}`)
  let p999 = Number(summary[6])
  for (const m of out.matchAll(/^\s*([\d.]+)% <= ([\d.]+) milliseconds/gm)) {
    if (Number(m[1]) >= 99.9) {
      p999 = Number(m[2])
      break
    }
  }
  const requests = Number(completed[1])
  return {
    target: o.target,
    workload: o.workload,
    tool: 'redis-benchmark',
    requests,
    errors: Math.max(0, o.requests - requests),
    seconds: Number(completed[2]),
    opsPerSec: thr[1] === 'inf' ? requests / 0.001 : Number(thr[1]),
    p50Ms: Number(summary[3]),
    p99Ms: Number(summary[5]),
    p999Ms: p999,
    maxMs: Number(summary[6]),
  }
}

export interface WrkOptions {
  readonly url: string
  readonly op: 'put' | 'range'
  readonly connections: number
  readonly threads: number
  readonly seconds: number
  readonly valueBytes: number
  readonly keys: number
  readonly target: string
  readonly workload: string
  /** Where the generated Lua script goes. */
  readonly scratchDir: string
}

/**
 * etcd's gateway wants base64 keys. Keys are "key" + 6 digits, so every
 * 3-byte group encodes on its own: the script glues precomputed encodings of
 * "key" and of two 3-digit groups instead of doing base64 in Lua.
 */
function wrkScript(o: WrkOptions): string {
  const triples: string[] = []
  for (let i = 0; i < 1000; i++) triples.push(`"${Buffer.from(String(i).padStart(3, '0')).toString('base64')}"`)
  const value = Buffer.alloc(o.valueBytes, 0x78).toString('base64')
  const body = o.op === 'put'
    ? `'{"key":"' .. k .. '","value":"${value}"}'`
    : `'{"key":"' .. k .. '"}'`
  return `
local lut = {${triples.join(',')}}
local prefix = "${Buffer.from('key').toString('base64')}"
local keys = ${o.keys}
local headers = { ["Content-Type"] = "application/json" }
local non2xx = 0
request = function()
  local r = math.random(0, keys - 1) % 1000000
  local k = prefix .. lut[math.floor(r / 1000) + 1] .. lut[(r % 1000) + 1]
  return wrk.format("POST", "/v3/kv/${o.op}", headers, ${body})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, 0))
end
`
}

export async function wrk(o: WrkOptions): Promise<RunResult> {
  const script = join(o.scratchDir, `wrk-${o.op}.lua`)
  writeFileSync(script, wrkScript(o))
  const out = await runCommand('wrk', ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.seconds}s`,
    '--timeout', '10s', '-s', script, o.url], (o.seconds + 30) * 1000)
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out)
  if (m === null) throw new Error(`cannot parse wrk output:\n${out.slice(-2000)}`)
  const [requests, durationUs, sockErrors, statusErrors, p50, p99, p999, max] = m.slice(1, 9).map(Number) as [number, number, number, number, number, number, number, number]
  const seconds = durationUs / 1e6
  const good = requests - statusErrors
  return {
    target: o.target,
    workload: o.workload,
    tool: 'wrk',
    requests,
    errors: sockErrors + statusErrors,
    seconds,
    opsPerSec: good / seconds,
    p50Ms: p50 / 1000,
    p99Ms: p99 / 1000,
    p999Ms: p999 / 1000,
    maxMs: max / 1000,
  }
}
