// Memory per type at 1M elements: the V8 heap a raftkv state machine holds
// for one key of each type with 1,000,000 elements (and for 1,000,000 string
// keys), next to redis-server's used_memory for the same data set. Both are
// measured as the growth over an empty store, after a full GC here.
//
//   node --expose-gc dist/bench/memory-per-type.js [--elements 1000000] [--only string,hash,list,set,zset]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeEnvelope } from '../lib/kv/command-codec.js'
import type { KvOp } from '../lib/kv/command.js'
import { KvStateMachine } from '../lib/kv/state-machine.js'
import { freePort } from '../test/cluster/process-cluster.js'
import { WireClient } from '../test/redis-diff/resp-wire.js'

const { values } = parseArgs({ options: { elements: { type: 'string', default: '1000000' }, only: { type: 'string', default: 'string,hash,list,set,zset' } } })
const ONLY = new Set(values.only.split(','))
const N = Number(values.elements)
const BATCH = 1000

type Shape = { name: string; command: (from: number, to: number) => string[] }
const range = (from: number, to: number, f: (i: number) => string[]): string[] => {
  const out: string[] = []
  for (let i = from; i < to; i++) out.push(...f(i))
  return out
}
const shapes: Shape[] = [
  { name: 'string (1M keys)', command: (a, b) => ['MSET', ...range(a, b, (i) => [`k:${i}`, `v:${i}`])] },
  { name: 'hash (1M fields)', command: (a, b) => ['HSET', 'h', ...range(a, b, (i) => [`f:${i}`, `v:${i}`])] },
  { name: 'list (1M elements)', command: (a, b) => ['RPUSH', 'l', ...range(a, b, (i) => [`e:${i}`])] },
  { name: 'set (1M members)', command: (a, b) => ['SADD', 's', ...range(a, b, (i) => [`m:${i}`])] },
  { name: 'zset (1M members)', command: (a, b) => ['ZADD', 'z', ...range(a, b, (i) => [String(i), `m:${i}`])] },
]

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  gc(); gc()
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
}

function toOp(words: string[]): KvOp {
  const [name, ...rest] = words as [string, ...string[]]
  if (name === 'MSET') {
    const pairs = []
    for (let i = 0; i < rest.length; i += 2) pairs.push({ key: Buffer.from(rest[i] as string), value: Buffer.from(rest[i + 1] as string) })
    return { t: 'mset', pairs }
  }
  return { t: 'call', name: name.toLowerCase(), args: rest.map((a) => Buffer.from(a)), seed: 0 }
}

function raftkvBytes(shape: Shape): number {
  let sm: KvStateMachine | null = new KvStateMachine()
  const before = heapBytes()
  let index = 0
  for (let from = 0; from < N; from += BATCH) {
    sm.apply(++index, encodeEnvelope({ nowMs: Date.now(), clientId: '', seq: 0, write: { ops: [toOp(shape.command(from, Math.min(N, from + BATCH)))], watches: [] } }))
  }
  const after = heapBytes()
  if (sm.size() === 0) throw new Error('nothing stored')
  sm = null
  return after - before
}

async function redisUsedMemory(client: WireClient): Promise<number> {
  const info = await client.send(['INFO', 'memory'])
  const text = info.t === 'bulk' ? info.v ?? '' : ''
  return Number(/used_memory:(\d+)/.exec(text)?.[1])
}

async function redisBytes(client: WireClient, shape: Shape): Promise<number> {
  await client.send(['FLUSHALL'])
  const before = await redisUsedMemory(client)
  for (let from = 0; from < N; from += BATCH) await client.send(shape.command(from, Math.min(N, from + BATCH)))
  return (await redisUsedMemory(client)) - before
}

const port = await freePort()
const dir = mkdtempSync(join(tmpdir(), 'raftkv-memory-'))
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
try {
  let client: WireClient | null = null
  for (let i = 0; i < 100 && client === null; i++) {
    client = await WireClient.open(port).catch(async () => { await new Promise((r) => setTimeout(r, 50)); return null })
  }
  if (client === null) throw new Error('redis-server did not start')
  const version = await client.send(['INFO', 'server'])
  console.log(`elements: ${N}; redis ${/redis_version:(\S+)/.exec(version.t === 'bulk' ? version.v ?? '' : '')?.[1]}; node ${process.version}`)
  console.log('| data set | raftkv heap | bytes/element | redis used_memory | bytes/element | raftkv / redis |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const shape of shapes.filter((s) => ONLY.has(s.name.split(' ')[0] ?? ''))) {
    const ours = raftkvBytes(shape)
    const theirs = await redisBytes(client, shape)
    const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`
    console.log(`| ${shape.name} | ${mb(ours)} | ${(ours / N).toFixed(1)} | ${mb(theirs)} | ${(theirs / N).toFixed(1)} | ${(ours / theirs).toFixed(2)} |`)
  }
  client.close()
} finally {
  redis.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
