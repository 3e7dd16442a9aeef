// The runtime simulator's disk is what every power-loss finding rests on, so
// its model is specified here: what a crash keeps, and what a killed
// process's unfinished writes may leave.
import t from 'tap'
import { Prng } from '../../lib/util/prng.js'
import { emptyDiskStats, SimDisk } from './runtime/sim-disk.js'
import { SimProcess, SimScheduler } from './runtime/sim-scheduler.js'

const disk = { metaLatencyMsMax: 0.1, syncLatencyMsMin: 0.5, syncLatencyMsMax: 1, stallProbability: 0, stallMsMax: 0, faultProbability: 0, loseAllUnsyncedProbability: 0 }
const path = '/sim/n1/segment.log'

function booted(d: SimDisk, name: string): SimProcess {
  const process = new SimProcess(name)
  d.attach(process)
  return process
}

async function settle<T>(scheduler: SimScheduler, p: Promise<T>): Promise<T> {
  let done = false
  const out = p.finally(() => {
    done = true
  })
  await scheduler.runUntil(scheduler.elapsedMs + 1_000, () => done)
  return out
}

t.test("a killed process's unfinished write never lands over the next process's durable write at a later power loss", async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const scheduler = new SimScheduler()
    const d = new SimDisk('/sim/n1', scheduler, new Prng(seed), disk, emptyDiskStats())
    const first = booted(d, 'n1#1')
    const f1 = await settle(scheduler, d.open(path, 'createNew', { dsync: true }))
    await settle(scheduler, d.syncDir('/sim/n1'))
    void f1.write(Buffer.alloc(8, 0x41), 0, 8, 0) // still in flight when the process dies
    first.alive = false
    d.processKilled()
    booted(d, 'n1#2')
    const f2 = await settle(scheduler, d.open(path, 'update', { dsync: true }))
    await settle(scheduler, f2.write(Buffer.alloc(8, 0x42), 0, 8, 0))
    d.crash()
    booted(d, 'n1#3')
    const kept = await settle(scheduler, d.readFile(path))
    t.equal(kept.toString(), 'BBBBBBBB', `seed ${seed}`)
  }
})

t.test("a killed process's unfinished write is seen by the next process whole, cut short, or not at all", async (t) => {
  const seen = new Set<string>()
  for (let seed = 1; seed <= 40; seed++) {
    const scheduler = new SimScheduler()
    const d = new SimDisk('/sim/n1', scheduler, new Prng(seed), disk, emptyDiskStats())
    const first = booted(d, 'n1#1')
    const f1 = await settle(scheduler, d.open(path, 'createNew', { dsync: true }))
    await settle(scheduler, d.syncDir('/sim/n1'))
    await settle(scheduler, f1.sync())
    void f1.write(Buffer.alloc(8, 0x41), 0, 8, 0)
    first.alive = false
    d.processKilled()
    booted(d, 'n1#2')
    const text = (await settle(scheduler, d.readFile(path))).toString()
    t.match(text, /^A{0,8}$/, `seed ${seed}: a prefix of the write`)
    seen.add(text.length === 0 ? 'none' : text.length === 8 ? 'whole' : 'short')
  }
  t.same([...seen].sort(), ['none', 'short', 'whole'], 'each fate occurs among 40 seeds')
})
