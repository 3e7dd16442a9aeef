// The state machine's cost per applied SET, in this process, on entries
// shaped as a leader writes them under `redis-benchmark -t set -d 100 -r
// KEYS`: a random key of KEYS, a 100-byte value, one client id, every entry
// a new sequence number. The last point matters: an entry whose (client,
// seq) was applied before is answered from the session table and costs a
// tenth of a real apply, so a loop over the same entries twice measures
// deduplication, not SETs (bench/README section 39).
//
//   node dist/bench/apply-cost.js [--keys 100000] [--rounds 12] [--entries 50000] [--no-history]
//                                 [--compare-with <checkout>]
//
// The keyspace is filled first (every key once, then the watch history to
// its bound), so the rounds measure overwrites with a full history, the
// nodes' steady state. Each round encodes fresh entries (not timed), then
// applies them (timed, wall and this process's CPU). With --compare-with,
// that checkout's build (its dist/) gets a state machine of its own in this
// same process and the rounds alternate between the two: the steadiest
// A/B this machine allows, since both share whatever the machine is doing.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { median } from './lib/result.js'

interface Build {
  readonly label: string
  readonly encodeEnvelope: (envelope: unknown) => Buffer
  readonly machine: { apply(index: number, data: Buffer): unknown }
  nextIndex: number
  /** The entries applied last (the log as far as this process keeps one), for the watch history's read-back. */
  lastBatch: { first: number; entries: readonly Buffer[] }
  readonly wallNs: number[]
  readonly cpuNs: number[]
}

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '12' },
    entries: { type: 'string', default: '50000' },
    'no-history': { type: 'boolean', default: false },
    'compare-with': { type: 'string' },
  },
})
const keys = Number(values.keys)
const rounds = Number(values.rounds)
const entriesPerRound = Number(values.entries)
const withHistory = values['no-history'] !== true
const value = Buffer.alloc(100)
for (let i = 0; i < value.length; i++) value[i] = 48 + ((i * 7) % 75)
const clientId = 'n1/2166b5963284'
const nowMs0 = 1_700_000_000_000

async function load(label: string, checkout: string): Promise<Build> {
  const at = (path: string): string => pathToFileURL(resolve(checkout, 'dist', path)).href
  const codec = (await import(at('lib/kv/command-codec.js'))) as { encodeEnvelope: Build['encodeEnvelope'] }
  const { KvStateMachine } = (await import(at('lib/kv/state-machine.js'))) as { KvStateMachine: new () => Build['machine'] & { setEventSink(sink: unknown): void } }
  const { FeedHub } = (await import(at('lib/feeds/feed-hub.js'))) as { FeedHub: new (index: number, logger: unknown, options: unknown) => unknown }
  const { silentLogger } = (await import(at('lib/util/logger.js'))) as { silentLogger: () => unknown }
  const machine = new KvStateMachine()
  const build: Build = { label, encodeEnvelope: codec.encodeEnvelope, machine, nextIndex: 1, lastBatch: { first: 1, entries: [] }, wallNs: [], cpuNs: [] }
  // A node's history reads a SET back from the Raft log (builds before session 29 copy it and ignore the option).
  const readEntry = (index: number): Buffer | null => build.lastBatch.entries[index - build.lastBatch.first] ?? null
  if (withHistory) machine.setEventSink(new FeedHub(0, silentLogger(), { readEntry }))
  return build
}

/** A seeded generator, so both builds get the same keys in the same order. */
function keyStream(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return (state >>> 8) % keys
  }
}

function entries(b: Build, count: number, keyAt: (i: number) => number): Buffer[] {
  const out = new Array<Buffer>(count)
  for (let i = 0; i < count; i++) {
    const seq = b.nextIndex + i
    const key = Buffer.from(`key:${String(keyAt(i)).padStart(12, '0')}`, 'latin1')
    out[i] = b.encodeEnvelope({
      nowMs: nowMs0 + seq, clientId, seq,
      write: { ops: [{ t: 'set', key, value, condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] },
    })
  }
  return out
}

function applyAll(b: Build, batch: readonly Buffer[]): void {
  b.lastBatch = { first: b.nextIndex, entries: batch }
  for (const data of batch) b.machine.apply(b.nextIndex++, data)
}

async function main(): Promise<void> {
  const builds = [await load('this build', '.')]
  const other = values['compare-with']
  if (other !== undefined) builds.push(await load(other, other))
  for (const b of builds) {
    // Every key once, then enough to fill the watch history (100,000 events by default) twice over.
    for (let from = 0; from < keys; from += entriesPerRound) applyAll(b, entries(b, Math.min(entriesPerRound, keys - from), (i) => from + i))
    const next = keyStream(7)
    for (let done = 0; done < 200_000; done += entriesPerRound) applyAll(b, entries(b, entriesPerRound, next))
  }
  const streams = builds.map(() => keyStream(11))
  for (let round = 0; round < rounds; round++) {
    for (const [i, b] of builds.entries()) {
      const batch = entries(b, entriesPerRound, streams[i] as () => number)
      const cpu0 = process.cpuUsage()
      const t0 = process.hrtime.bigint()
      applyAll(b, batch)
      const wall = Number(process.hrtime.bigint() - t0)
      const cpu = process.cpuUsage(cpu0)
      b.wallNs.push(wall / batch.length)
      b.cpuNs.push(((cpu.user + cpu.system) * 1000) / batch.length)
    }
  }
  const args = process.argv.slice(2).join(' ')
  console.log(`Command: \`node dist/bench/apply-cost.js${args === '' ? '' : ' ' + args}\` — ${new Date().toISOString()}`)
  console.log(`SETs of 100 bytes over ${keys} keys, ${withHistory ? 'with' : 'without'} the watch history; ${rounds} rounds of ${entriesPerRound} per build${builds.length > 1 ? ', alternating' : ''}.`)
  console.log('')
  console.log('| build | ns per apply, wall (median) | min | CPU ns per apply (median) |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const b of builds) {
    console.log(`| ${b.label} | ${median(b.wallNs).toFixed(0)} | ${Math.min(...b.wallNs).toFixed(0)} | ${median(b.cpuNs).toFixed(0)} |`)
  }
  if (builds.length === 2) {
    const [a, c] = builds as [Build, Build]
    const ratios = a.wallNs.map((x, i) => x / (c.wallNs[i] as number))
    console.log('')
    console.log(`this build / ${c.label}, round by round (median): ${median(ratios).toFixed(3)}`)
  }
}

await main()
