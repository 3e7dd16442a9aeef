// The heap headroom's rule: a small old generation gets room for
// `headroomBytes` of growth (at most V8's largest factor), a large one is
// left to V8; the flag is set only when the percent changes, after a real
// major GC, and a refusal to set it is reported once and not retried.
import t from 'tap'
import { HeapHeadroom, growingPercentFor, oldGenerationBytes, type HeapHeadroomOptions } from '../../lib/app/heap-headroom.js'
import { collectGarbage } from '../../lib/app/idle-collector.js'

const MiB = 1024 * 1024
const options: HeapHeadroomOptions = { headroomBytes: 64 * MiB, percentMax: 300, percentMin: 50 }

t.test('a small old generation gets the largest factor', async (t) => {
  t.equal(growingPercentFor(10 * MiB, options), 300)
  t.equal(growingPercentFor(21 * MiB, options), 300, '64 MiB is more than three times 21 MiB')
})

t.test('a mid-sized old generation gets room for headroomBytes, in steps of 10 %', async (t) => {
  t.equal(growingPercentFor(64 * MiB, options), 100)
  t.equal(growingPercentFor(100 * MiB, options), 70, '64 % rounded up')
})

t.test('a large old generation is left to V8 (percent 0)', async (t) => {
  t.equal(growingPercentFor(140 * MiB, options), 0, '46 % is under percentMin')
  t.equal(growingPercentFor(1024 * MiB, options), 0)
})

t.test('an unreadable size counts as small', async (t) => {
  t.equal(growingPercentFor(0, options), 300)
  t.equal(growingPercentFor(Number.NaN, options), 300)
})

t.test('the flag is set only when the percent changes', async (t) => {
  const set: string[] = []
  let live = 20 * MiB
  const headroom = new HeapHeadroom((flags) => set.push(flags), () => live, () => t.fail('no error expected'), options)
  t.equal(headroom.percent, -1, 'nothing set before the first major GC')
  headroom.afterMajorGc()
  headroom.afterMajorGc()
  live = 22 * MiB
  headroom.afterMajorGc()
  t.same(set, ['--heap-growing-percent=300'])
  live = 500 * MiB
  headroom.afterMajorGc()
  t.same(set, ['--heap-growing-percent=300', '--heap-growing-percent=0'])
  t.equal(headroom.percent, 0)
  t.equal(headroom.changes, 2)
})

t.test('a refused flag is reported once and never retried', async (t) => {
  let attempts = 0
  const errors: unknown[] = []
  let live = 20 * MiB
  const headroom = new HeapHeadroom(
    () => {
      attempts++
      throw new Error('flags are frozen')
    },
    () => live,
    (err) => errors.push(err),
    options,
  )
  headroom.afterMajorGc()
  live = 500 * MiB
  headroom.afterMajorGc()
  t.equal(attempts, 1)
  t.equal(errors.length, 1)
  t.equal(headroom.percent, -1, 'nothing in force')
})

t.test('a real major GC sets the percent for the old generation as it is', async (t) => {
  const set: string[] = []
  // The size read at the GC, not one read later: the heap may have moved a percent step meanwhile.
  const read: number[] = []
  const liveNow = (): number => {
    const bytes = oldGenerationBytes()
    read.push(bytes)
    return bytes
  }
  const headroom = new HeapHeadroom((flags) => set.push(flags), liveNow, () => t.fail('no error expected'), options)
  headroom.start()
  t.teardown(() => headroom.stop())
  // The observer reports after the GC; wait for it (bounded) rather than for a fixed time.
  for (let attempt = 0; attempt < 50 && set.length === 0; attempt++) {
    await collectGarbage()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(set.length, 1, 'set once')
  t.equal(set[0], `--heap-growing-percent=${growingPercentFor(read[0] as number, options)}`)
})

t.test("V8 accepts the flag at run time (the product's default setter)", async (t) => {
  const headroom = new HeapHeadroom(undefined, () => 20 * MiB, (err) => t.fail(`refused: ${String(err)}`), options)
  headroom.afterMajorGc()
  t.equal(headroom.percent, 300)
  // Hand the choice back to V8 for the rest of this process.
  const back = new HeapHeadroom(undefined, () => 1024 * MiB, (err) => t.fail(`refused: ${String(err)}`), options)
  back.afterMajorGc()
  t.equal(back.percent, 0)
})

t.test('oldGenerationBytes counts the old generation, not the young one', async (t) => {
  // Measured after a full GC, so the next one frees little besides what this test drops.
  await collectGarbage()
  const old = oldGenerationBytes()
  t.ok(old > 0)
  // A new 16 MiB array starts in the young large-object space; a full GC it survives moves it to the old one.
  const held = new Array<number>(2 * MiB).fill(0)
  t.ok(oldGenerationBytes() - old < 4 * MiB, 'young: not counted yet')
  await collectGarbage()
  t.ok(oldGenerationBytes() - old >= 15 * MiB, 'promoted: counted')
  t.equal(held.length, 2 * MiB)
})
