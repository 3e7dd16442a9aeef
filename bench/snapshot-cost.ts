// The cost of a node's own snapshot per key, in this process: the keyspace
// redis-benchmark leaves (`-t set -d 100 -r KEYS`: string keys of 16 bytes,
// 100-byte values, no deadlines) encoded in chunks of SNAPSHOT_CHUNK_BYTES,
// each chunk checksummed as the snapshot taker does, nothing written to disk.
// Under -P 16 with 100,000 keys every node encodes such a snapshot every
// 100,000 entries, about one key per SET (bench/README section 41).
//
//   node dist/bench/snapshot-cost.js [--keys 100000] [--rounds 15] [--compare-with <checkout>]
//
// With --compare-with, that checkout's build encodes a keyspace of its own
// in this same process and the rounds alternate between the two builds, so
// both share whatever the machine is doing.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { SNAPSHOT_CHUNK_BYTES } from '../lib/config/node-config.js'
import { repoRoot } from '../test/util/repo-root.js'
import { median } from './lib/result.js'

interface Encoder {
  step(keysMax: number): boolean
  readonly full: boolean
  takeChunk(): Buffer
  finishChunks(): Buffer[]
}

interface Build {
  readonly label: string
  readonly encode: (chunk: Buffer) => Encoder
  readonly wallNsPerKey: number[]
  readonly cpuNsPerKey: number[]
}

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '15' },
    'compare-with': { type: 'string' },
  },
})
const keyCount = Number(values.keys)
const rounds = Number(values.rounds)
if (!(Number.isInteger(keyCount) && keyCount > 0 && Number.isInteger(rounds) && rounds > 0)) throw new Error('--keys and --rounds must be positive integers')
const value = Buffer.alloc(100)
for (let i = 0; i < value.length; i++) value[i] = 48 + ((i * 7) % 75)

interface KeyspaceLike {
  liveForWrite(key: string, nowMs: number): unknown
  putBytes(key: string, existing: unknown, bytes: Buffer, start: number, end: number, expireAtMs: number): void
}

async function load(label: string, checkout: string): Promise<Build> {
  const at = (path: string): string => pathToFileURL(resolve(checkout, 'dist', path)).href
  const { Keyspace } = (await import(at('lib/kv/keyspace.js'))) as { Keyspace: new () => KeyspaceLike }
  const { SessionTable } = (await import(at('lib/kv/session-table.js'))) as { SessionTable: new () => unknown }
  const { SnapshotEncoder } = (await import(at('lib/kv/snapshot-codec.js'))) as { SnapshotEncoder: new (state: unknown, chunk: Buffer) => Encoder }
  const keyspace = new Keyspace()
  for (let i = 0; i < keyCount; i++) {
    // redis-benchmark's key shape: "key:" and 12 digits.
    const key = `key:${String(i).padStart(12, '0')}`
    keyspace.putBytes(key, keyspace.liveForWrite(key, 0), value, 0, value.length, Infinity)
  }
  const state = { appliedIndex: keyCount, keyspace, sessions: new SessionTable() }
  return { label, encode: (chunk) => new SnapshotEncoder(state, chunk), wallNsPerKey: [], cpuNsPerKey: [] }
}

/** Steps as the snapshot taker does: a chunk out whenever it is full, then what finish leaves. */
function encodeOnce(build: Build, chunk: Buffer): number {
  const encoder = build.encode(chunk)
  let bytes = 0
  for (;;) {
    const done = encoder.step(1000)
    if (encoder.full) bytes += encoder.takeChunk().length
    if (done) break
  }
  for (const part of encoder.finishChunks()) bytes += part.length
  return bytes
}

const chunk = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES)
const builds = [await load('this build', repoRoot)]
const other = values['compare-with']
if (other !== undefined) builds.push(await load(other, other))
let snapshotBytes = 0
// One untimed round each, so both builds' code is optimized before the first timed round.
for (const build of builds) snapshotBytes = encodeOnce(build, chunk)
for (let round = 0; round < rounds; round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    const cpu0 = process.cpuUsage()
    const wall0 = process.hrtime.bigint()
    encodeOnce(build, chunk)
    const wallNs = Number(process.hrtime.bigint() - wall0)
    const cpu = process.cpuUsage(cpu0)
    build.wallNsPerKey.push(wallNs / keyCount)
    build.cpuNsPerKey.push(((cpu.user + cpu.system) * 1000) / keyCount)
  }
}
console.log(`Command: \`node dist/bench/snapshot-cost.js ${process.argv.slice(2).join(' ')}\` — ${new Date().toISOString()}; ${keyCount} keys, a ${(snapshotBytes / 1024 / 1024).toFixed(1)} MiB snapshot, medians of ${rounds} rounds`)
for (const build of builds) {
  console.log(`${build.label}: ${median(build.wallNsPerKey).toFixed(1)} ns a key wall, ${median(build.cpuNsPerKey).toFixed(1)} ns CPU (wall min ${Math.min(...build.wallNsPerKey).toFixed(1)})`)
}
if (builds.length === 2) {
  const [a, b] = builds as [Build, Build]
  console.log(`this build / ${b.label}: ${(median(a.wallNsPerKey) / median(b.wallNsPerKey)).toFixed(3)} (wall), ${(median(a.cpuNsPerKey) / median(b.cpuNsPerKey)).toFixed(3)} (CPU)`)
}
