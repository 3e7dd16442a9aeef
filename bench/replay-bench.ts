// Start-up replay without the cluster around it: what a restarting node spends
// reading its log back (storage recovery) and applying every entry to a fresh
// state machine, in one process, so `node --cpu-prof` sees only that. The log
// is written once (fsync off) with the restart benchmark's shape: SETs of
// 100-byte values on 1,000,000 random keys, one log entry each, from one
// client id per node with increasing seqs, in batches of 256 entries.
//
//   node dist/bench/replay-bench.js --entries 1000000 [--dir DIR (default: the system temp dir)] [--reps 1]
//   node --cpu-prof dist/bench/replay-bench.js --entries 1000000 --reps 1
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeEnvelope, stampTime } from '../lib/kv/command-codec.js'
import { KvStateMachine } from '../lib/kv/state-machine.js'
import type { Entry } from '../lib/raft/types.js'
import { NodeStorage } from '../lib/storage/node-storage.js'

const BATCH_ENTRIES = 256
const KEY_COUNT = 1_000_000
const VALUE_BYTES = 100

async function writeLog(dir: string, entries: number): Promise<void> {
  const { storage } = await NodeStorage.open({ dir, fsync: 'never' })
  const value = Buffer.alloc(VALUE_BYTES, 120)
  let index = 0
  // A seeded LCG, so every run writes the same keys.
  let x = 12345
  while (index < entries) {
    const batch: Entry[] = []
    const nowMs = 1_700_000_000_000 + index
    for (let i = 0; i < BATCH_ENTRIES && index < entries; i++) {
      index++
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      const key = Buffer.from(`key:${x % KEY_COUNT}`)
      const data = encodeEnvelope({
        nowMs: 0, clientId: 'n2/0123456789ab', seq: index,
        write: { ops: [{ t: 'set', key, value, condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] },
      })
      stampTime(data, nowMs)
      batch.push({ index, term: 1, kind: 'normal', data })
    }
    await storage.persist({ term: 1, vote: 'n1', commit: index }, batch)
  }
  await storage.close()
}

interface ReplayTimes {
  recoverMs: number
  applyMs: number
  /** CPU time of the apply phase (all threads, so GC helpers count): less swayed by a loaded machine than wall time. */
  applyCpuMs: number
  keys: number
}

async function replayOnce(dir: string): Promise<ReplayTimes> {
  const t0 = performance.now()
  const { storage, state } = await NodeStorage.open({ dir, fsync: 'never' })
  const t1 = performance.now()
  const cpu0 = process.cpuUsage()
  const kv = new KvStateMachine()
  for (const e of state.entries) {
    if (e.kind === 'normal') kv.apply(e.index, e.data)
    else kv.skip(e.index)
  }
  const cpu = process.cpuUsage(cpu0)
  const t2 = performance.now()
  await storage.close()
  return { recoverMs: t1 - t0, applyMs: t2 - t1, applyCpuMs: (cpu.user + cpu.system) / 1000, keys: kv.size() }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '1000000' },
      dir: { type: 'string' },
      reps: { type: 'string', default: '1' },
    },
  })
  const entries = Number(values.entries)
  const dir = values.dir ?? join(tmpdir(), `raftkv-replay-${entries}`)
  if (!existsSync(dir)) {
    const t = performance.now()
    await writeLog(dir, entries)
    console.log(`wrote ${entries} entries to ${dir} in ${Math.round(performance.now() - t)} ms`)
  }
  const recover: number[] = []
  const apply: number[] = []
  const applyCpu: number[] = []
  for (let i = 0; i < Number(values.reps); i++) {
    const r = await replayOnce(dir)
    recover.push(r.recoverMs)
    apply.push(r.applyMs)
    applyCpu.push(r.applyCpuMs)
    console.log(`rep ${i + 1}: recover ${r.recoverMs.toFixed(0)} ms, apply ${r.applyMs.toFixed(0)} ms (cpu ${r.applyCpuMs.toFixed(0)} ms), ${r.keys} keys, heapUsed ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`)
  }
  const perEntryUs = (ms: number): string => ((ms * 1000) / entries).toFixed(2)
  console.log(`median: recover ${median(recover).toFixed(0)} ms, apply ${median(apply).toFixed(0)} ms = ${perEntryUs(median(apply))} µs/entry (cpu ${median(applyCpu).toFixed(0)} ms = ${perEntryUs(median(applyCpu))} µs/entry)`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
