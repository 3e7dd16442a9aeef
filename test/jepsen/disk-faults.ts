// Damage a stopped node's data directory the way a crash or a power cut would.
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeHighWater, encodeHighWater } from '../../lib/storage/high-water-file.js'
import { scanRecords } from '../../lib/storage/record-codec.js'
import type { Prng } from '../../lib/util/prng.js'

/**
 * A torn or bit-flipped last record in the newest segment: either the file is
 * cut inside its last record (a write the crash interrupted), or one byte of
 * that record is flipped. Earlier records stay intact, so the node must cut
 * the tail and rejoin. Returns what was done.
 *
 * A real torn write is never acknowledged, so the node never recorded its
 * end in its high-water file (lib/storage/high-water-file.ts); damaging a
 * record that was acknowledged, as here, also puts the record back to the
 * start of the damaged one, or the node would rightly refuse to start.
 */
export async function damageTail(dataDir: string, rng: Prng): Promise<string> {
  const segments = (await readdir(dataDir)).filter((n) => /^segment-\d+\.log$/.test(n)).sort()
  const name = segments[segments.length - 1]
  if (name === undefined) return 'no segment'
  const path = join(dataDir, name)
  const buf = await readFile(path)
  const offsets: number[] = []
  const scan = scanRecords(buf, (_payload, offset) => offsets.push(offset))
  const last = offsets[offsets.length - 1]
  // The first record of a segment carries the hard state; damaging it is disk corruption, not a torn write.
  if (offsets.length < 2 || last === undefined) return `${name}: only ${offsets.length} record(s), left intact`
  const length = scan.validBytes - last
  await rollBackHighWater(dataDir, Number(/\d+/.exec(name)?.[0]), last)
  if (rng.chance(0.5)) {
    const keep = last + 1 + rng.int(length - 1)
    await truncate(path, keep)
    return `${name}: cut inside the last record (${keep} of ${scan.validBytes} bytes kept)`
  }
  const at = last + rng.int(length)
  buf[at] = (buf[at] as number) ^ (1 << rng.int(8))
  await writeFile(path, buf)
  return `${name}: flipped a bit at byte ${at} of the last record [${last}, ${scan.validBytes})`
}

/** The node's high-water record (beside DATA_DIR, the default), as if its last write never completed. */
async function rollBackHighWater(dataDir: string, segmentSeq: number, segmentBytes: number): Promise<void> {
  const file = `${dataDir.replace(/\/+$/, '')}.high-water`
  let text: Buffer
  try {
    text = await readFile(file)
  } catch {
    return
  }
  const recorded = decodeHighWater(text)
  if (typeof recorded === 'string' || recorded.segmentSeq !== segmentSeq || recorded.segmentBytes < segmentBytes) return
  await writeFile(file, encodeHighWater({ incarnation: recorded.incarnation, segmentSeq, segmentBytes }))
}

/**
 * Power loss: every file goes back to its length at its last fsync, and files
 * never fsynced vanish. Needs a node started with RAFTKV_TRACK_SYNCED_LENGTHS=yes.
 */
export async function losePower(dataDir: string): Promise<string> {
  let lengths: Record<string, number>
  try {
    lengths = JSON.parse(await readFile(join(dataDir, 'synced-lengths.json'), 'utf8')) as Record<string, number>
  } catch {
    return 'no synced-lengths.json: node does not track synced lengths, nothing lost'
  }
  let cut = 0
  let removed = 0
  for (const name of await readdir(dataDir)) {
    if (name.startsWith('synced-lengths.json')) continue
    const length = lengths[name]
    if (length === undefined) {
      await rm(join(dataDir, name), { recursive: true, force: true })
      removed++
    } else {
      await truncate(join(dataDir, name), length)
      cut++
    }
  }
  return `${cut} file(s) cut to their synced length, ${removed} never-synced file(s) removed`
}
