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

/** A durable, empty file; then its process writes 8 × 'A' and is killed before the write completes. */
async function killedWithWriteInFlight(seed: number): Promise<{ scheduler: SimScheduler; d: SimDisk }> {
  const scheduler = new SimScheduler()
  const d = new SimDisk('/sim/n1', scheduler, new Prng(seed), disk, emptyDiskStats())
  const first = booted(d, 'n1#1')
  const f1 = await settle(scheduler, d.open(path, 'createNew', { dsync: true }))
  await settle(scheduler, d.syncDir('/sim/n1'))
  await settle(scheduler, f1.sync())
  void f1.write(Buffer.alloc(8, 0x41), 0, 8, 0)
  first.alive = false
  d.processKilled()
  return { scheduler, d }
}

t.test("a killed process's unfinished write never lands over the next process's durable write at a later power loss", async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const { scheduler, d } = await killedWithWriteInFlight(seed)
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
    const { scheduler, d } = await killedWithWriteInFlight(seed)
    booted(d, 'n1#2')
    const text = (await settle(scheduler, d.readFile(path))).toString()
    t.match(text, /^A{0,8}$/, `seed ${seed}: a prefix of the write`)
    seen.add(text.length === 0 ? 'none' : text.length === 8 ? 'whole' : 'short')
  }
  t.same([...seen].sort(), ['none', 'short', 'whole'], 'each fate occurs among 40 seeds')
})

t.test('a read sees what the process wrote, synced or not, and stops at the end of the file', async (t) => {
  const scheduler = new SimScheduler()
  const d = new SimDisk('/sim/n1', scheduler, new Prng(1), disk, emptyDiskStats())
  booted(d, 'n1#1')
  const f = await settle(scheduler, d.open(path, 'createNew'))
  await settle(scheduler, f.write(Buffer.from('hello world'), 0, 11, 0))
  const into = Buffer.alloc(8, 0x2e)
  t.equal(await settle(scheduler, f.read(into, 1, 5, 6)), 5, 'five bytes read')
  t.equal(into.toString(), '.world..', 'placed at the offset asked for')
  t.equal(await settle(scheduler, f.read(into, 0, 8, 8)), 3, 'short at the end of the file')
  t.equal(await settle(scheduler, f.read(into, 0, 8, 11)), 0, 'nothing past it')
})

t.test('an open file stays readable after its name is unlinked or replaced, until it is closed', async (t) => {
  const scheduler = new SimScheduler()
  const d = new SimDisk('/sim/n1', scheduler, new Prng(1), disk, emptyDiskStats())
  booted(d, 'n1#1')
  const other = '/sim/n1/other.log'
  const w = await settle(scheduler, d.open(path, 'createNew'))
  await settle(scheduler, w.write(Buffer.from('first'), 0, 5, 0))
  await settle(scheduler, w.close())
  const r = await settle(scheduler, d.open(path, 'read'))
  const n = await settle(scheduler, d.open(other, 'createNew'))
  await settle(scheduler, n.write(Buffer.from('newer'), 0, 5, 0))
  await settle(scheduler, d.rename(other, path))
  const into = Buffer.alloc(5)
  await settle(scheduler, r.read(into, 0, 5, 0))
  t.equal(into.toString(), 'first', 'replaced by a rename: the handle still reads the old file')
  await settle(scheduler, d.unlink(path))
  into.fill(0)
  await settle(scheduler, r.read(into, 0, 5, 0))
  t.equal(into.toString(), 'first', 'unlinked: still readable')
  t.equal(d.openFileCount, 2, 'two files held open')
  await settle(scheduler, r.close())
  await settle(scheduler, n.close())
  t.equal(d.openFileCount, 0, 'none after their close')
  await t.rejects(settle(scheduler, r.read(into, 0, 5, 0)), { code: 'EBADF' }, 'a closed handle reads nothing')
})

t.test("a killed process's open files are closed by its death", async (t) => {
  const scheduler = new SimScheduler()
  const d = new SimDisk('/sim/n1', scheduler, new Prng(1), disk, emptyDiskStats())
  const first = booted(d, 'n1#1')
  await settle(scheduler, d.open(path, 'createNew'))
  t.equal(d.openFileCount, 1)
  first.alive = false
  d.processKilled()
  booted(d, 'n1#2')
  t.equal(d.openFileCount, 0)
})

t.test('an O_DSYNC write after a truncate makes the truncate durable too: a power loss keeps the write', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const scheduler = new SimScheduler()
    const d = new SimDisk('/sim/n1', scheduler, new Prng(seed), disk, emptyDiskStats())
    booted(d, 'n1#1')
    const f1 = await settle(scheduler, d.open(path, 'createNew', { dsync: true }))
    await settle(scheduler, d.syncDir('/sim/n1'))
    await settle(scheduler, f1.write(Buffer.from('old-old-old'), 0, 11, 0))
    await settle(scheduler, f1.close())
    const f2 = await settle(scheduler, d.open(path, 'truncate', { dsync: true }))
    await settle(scheduler, f2.write(Buffer.from('new'), 0, 3, 0))
    d.crash()
    booted(d, 'n1#2')
    t.equal((await settle(scheduler, d.readFile(path))).toString(), 'new', `seed ${seed}`)
  }
})
