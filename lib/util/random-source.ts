// Randomness as the runtime sees it: identifiers (cluster id, incarnation,
// request ids) and the raft core's seed. Production draws from the operating
// system; the simulator passes a source seeded from the run's seed, so a
// failing seed replays exactly.
import { randomBytes } from 'node:crypto'
import type { Prng } from './prng.js'

export interface RandomSource {
  /** A uniformly distributed 32-bit unsigned integer. */
  uint32(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** `bytes` random bytes as lower-case hex: for identifiers. */
  hex(bytes: number): string
}

export const systemRandom: RandomSource = Object.freeze({
  uint32: () => randomBytes(4).readUInt32LE(0),
  int: (n: number) => Math.floor((randomBytes(4).readUInt32LE(0) / 4294967296) * n),
  hex: (bytes: number) => randomBytes(bytes).toString('hex'),
})

/** A RandomSource drawing from a seeded generator. */
export function seededRandom(prng: Prng): RandomSource {
  return {
    uint32: () => prng.nextUint32(),
    int: (n) => prng.int(n),
    hex: (bytes) => {
      let out = ''
      for (let i = 0; i < bytes; i++) out += (prng.nextUint32() & 0xff).toString(16).padStart(2, '0')
      return out
    },
  }
}
