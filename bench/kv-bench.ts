// Micro-benchmark of the kv layer alone: envelope encode/decode cost and apply
// throughput, to see what the state machine costs per client write next to
// raft and the network. Run: npx tsc -p tsconfig.json && node dist/bench/kv-bench.js
import { decodeEnvelope, encodeEnvelope, stampTime } from '../lib/kv/command-codec.js'
import type { KvEnvelope, KvOp } from '../lib/kv/command.js'
import { KvStateMachine } from '../lib/kv/state-machine.js'

const COUNT = 300_000
const T0 = 1_700_000_000_000

/** CPU time (all threads, so GC helpers count) is printed next to wall time: on a loaded, shared machine it swings less. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

function timeIt(label: string, count: number, fn: () => void): number {
  const start = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  fn()
  const cpuUs = (cpuMs(cpu0) * 1000) / count
  const ns = Number(process.hrtime.bigint() - start)
  const perOpUs = ns / 1000 / count
  console.log(`${label.padEnd(44)} ${(count / (ns / 1e9)).toFixed(0).padStart(10)} ops/s  ${perOpUs.toFixed(3)} µs/op (cpu ${cpuUs.toFixed(3)} µs/op)`)
  return perOpUs
}

function setEnvelope(i: number, valueBytes: number): KvEnvelope {
  const op: KvOp = {
    t: 'set', key: Buffer.from(`key:${i % 100_000}`), value: Buffer.alloc(valueBytes, 120),
    condition: 'always', expiry: { t: 'none' }, get: false,
  }
  return { nowMs: T0 + i, clientId: `client-${i % 50}`, seq: i + 1, write: { ops: [op], watches: [] } }
}

function main(): void {
  const envelopes = Array.from({ length: COUNT }, (_, i) => setEnvelope(i, 3))
  // Steady state: encode and decode without keeping results, as the server and replica do.
  const one = envelopes[0] as KvEnvelope
  timeIt('encodeEnvelope SET (3-byte value), steady', COUNT, () => { for (let i = 0; i < COUNT; i++) encodeEnvelope(one) })
  // The shape a node really sends: its own client id (node id + 12 hex digits), a 100-byte value.
  const real: KvEnvelope = { ...setEnvelope(7, 100), clientId: 'n1/0123456789ab' }
  timeIt('encodeEnvelope SET (100-byte value, node id)', COUNT, () => { for (let i = 0; i < COUNT; i++) encodeEnvelope(real) })
  const oneEncoded = encodeEnvelope(one)
  timeIt('decodeEnvelope SET, steady', COUNT, () => { for (let i = 0; i < COUNT; i++) decodeEnvelope(oneEncoded) })
  let encoded: Buffer[] = []
  timeIt('encodeEnvelope SET, 300k distinct, all kept', COUNT, () => { encoded = envelopes.map(encodeEnvelope) })
  console.log(`  envelope size: ${encoded[0]?.length} bytes`)
  timeIt('stampTime', COUNT, () => { for (let i = 0; i < COUNT; i++) stampTime(encoded[i] as Buffer, T0 + i) })
  timeIt('decodeEnvelope SET, 300k distinct', COUNT, () => { for (const e of encoded) decodeEnvelope(e) })
  const json = envelopes.slice(0, 50_000).map((e) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
  timeIt('  (for scale: JSON.parse of the same)', json.length, () => { for (const j of json) JSON.parse(j) })

  const sm = new KvStateMachine()
  timeIt('apply SET (decode + dedupe + write), 100k keys', COUNT, () => {
    for (let i = 0; i < COUNT; i++) sm.apply(i + 1, encoded[i] as Buffer)
  })
  const incr = Array.from({ length: COUNT }, (_, i) => encodeEnvelope({
    nowMs: T0, clientId: `c${i % 50}`, seq: COUNT + i, write: { ops: [{ t: 'incrby', key: Buffer.from(`n${i % 1000}`), delta: 1n }], watches: [] },
  }))
  timeIt('apply INCR', COUNT, () => { for (let i = 0; i < COUNT; i++) sm.apply(COUNT + i + 1, incr[i] as Buffer) })
  const keys = Array.from({ length: 1000 }, (_, i) => Buffer.from(`key:${i}`))
  timeIt('read GET (local)', COUNT, () => {
    for (let i = 0; i < COUNT; i++) sm.read({ t: 'get', key: keys[i % 1000] as Buffer }, T0)
  })

  const big = new KvStateMachine()
  const valueBytes = 100
  let index = 0
  for (let i = 0; i < 1_000_000; i += 1000) {
    const pairs = Array.from({ length: 1000 }, (_, j) => ({ key: Buffer.from(`key:${i + j}`), value: Buffer.alloc(valueBytes, 97) }))
    big.apply(++index, encodeEnvelope({ nowMs: T0, clientId: '', seq: 0, write: { ops: [{ t: 'mset', pairs }], watches: [] } }))
  }
  const start = process.hrtime.bigint()
  const snapCpu0 = process.cpuUsage()
  const snap: Buffer = big.snapshot()
  const snapCpuMs = cpuMs(snapCpu0)
  const snapMs = Number(process.hrtime.bigint() - start) / 1e6
  const restoreStart = process.hrtime.bigint()
  const restoreCpu0 = process.cpuUsage()
  KvStateMachine.restore(snap)
  const restoreCpuMs = cpuMs(restoreCpu0)
  const restoreMs = Number(process.hrtime.bigint() - restoreStart) / 1e6
  console.log(`snapshot 1M keys x ${valueBytes} B: ${(snap.length / 1e6).toFixed(1)} MB in ${snapMs.toFixed(0)} ms (cpu ${snapCpuMs.toFixed(0)}); restore ${restoreMs.toFixed(0)} ms (cpu ${restoreCpuMs.toFixed(0)}); memoryBytes≈${(big.memoryBytes() / 1e6).toFixed(0)} MB, heapUsed ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`)
}

main()
