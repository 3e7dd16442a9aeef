// What the high-water record (lib/storage/high-water-file.ts) costs a
// persist: alternating slices of sequential one-entry persists with fsync
// 'always', with and without `highWaterFile`, in one run, so both sides see
// the same disk and load. Prints persists/s per side (median of slices) and
// the ratio.
//   npx tsc -p tsconfig.json && node dist/bench/high-water-cost.js [--persists 2000] [--slices 6] [--fsync always|never]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { NodeStorage } from '../lib/storage/index.js'

const { values } = parseArgs({ options: { persists: { type: 'string', default: '2000' }, slices: { type: 'string', default: '6' }, fsync: { type: 'string', default: 'always' } } })
// 'never' leaves the CPU and system-call cost alone, without the disk's flush to hide it.
const fsync = values.fsync === 'never' ? 'never' : 'always'
const persists = Number(values.persists)
const slices = Number(values.slices)
const root = mkdtempSync(join(tmpdir(), 'raftkv-high-water-bench-'))

async function slice(withRecord: boolean, n: number): Promise<number> {
  const dir = join(root, `${withRecord ? 'on' : 'off'}-${n}`)
  const { storage, state } = await NodeStorage.open({ dir, fsync, preallocateSegments: false, highWaterFile: withRecord ? `${dir}.high-water` : null })
  await storage.adoptHighWater('bench', state.fresh)
  const data = Buffer.alloc(100, 7)
  const started = performance.now()
  for (let i = 1; i <= persists; i++) await storage.persist({ term: 1, vote: '', commit: i - 1 }, [{ index: i, term: 1, kind: 'normal', data }])
  const perSec = persists / ((performance.now() - started) / 1000)
  await storage.close()
  return perSec
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const on: number[] = []
const off: number[] = []
for (let n = 0; n < slices; n++) {
  off.push(await slice(false, n))
  on.push(await slice(true, n))
}
rmSync(root, { recursive: true, force: true })
console.log(`persists/s without the record: ${median(off).toFixed(0)} (slices ${off.map((x) => x.toFixed(0)).join(', ')})`)
console.log(`persists/s with the record:    ${median(on).toFixed(0)} (slices ${on.map((x) => x.toFixed(0)).join(', ')})`)
console.log(`ratio with/without: ${(median(on) / median(off)).toFixed(3)}`)
