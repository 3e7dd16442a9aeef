// A small seeded mutator: takes well-formed input and breaks it the ways
// that find bugs in parsers — flipped bits, bytes swapped for ones the
// grammar cares about, cut short, spliced, lengths and counts replaced by
// extreme numbers, or pure noise. Every choice comes from one Prng, so a
// failing case replays from its seed.
import { Prng } from '../../lib/util/prng.js'

/** Bytes that mean something to RESP, HTTP or Avro's varints. */
const INTERESTING_BYTES = [0, 0x0a, 0x0d, 0x20, 0x22, 0x24, 0x2a, 0x2d, 0x3a, 0x7f, 0x80, 0xff, 0x30, 0x39, 0x5c, 0x27]
const INTERESTING_NUMBERS = ['0', '-1', '-2147483649', '2147483648', '4294967296', '9007199254740993', '99999999999999999999', '1e3', '0x10', ' 1', '+1', '']

export class Mutator {
  constructor(readonly rng: Prng) {}

  /** Random bytes, biased toward the interesting ones. */
  noise(bytesMax: number): Buffer {
    const out = Buffer.alloc(this.rng.int(bytesMax) + 1)
    for (let i = 0; i < out.length; i++) out[i] = this.rng.chance(0.3) ? this.rng.pick(INTERESTING_BYTES) : this.rng.int(256)
    return out
  }

  /** One to four mutations of `input`. */
  mutate(input: Buffer): Buffer {
    let out = input
    for (let n = 1 + this.rng.int(4); n > 0; n--) out = this.once(out)
    return out
  }

  private once(input: Buffer): Buffer {
    const rng = this.rng
    if (input.length === 0) return this.noise(16)
    const at = rng.int(input.length)
    switch (rng.int(8)) {
      case 0: {
        const out = Buffer.from(input)
        out[at] = (out[at] as number) ^ (1 << rng.int(8))
        return out
      }
      case 1: {
        const out = Buffer.from(input)
        out[at] = rng.pick(INTERESTING_BYTES)
        return out
      }
      case 2:
        return input.subarray(0, at)
      case 3:
        return Buffer.concat([input.subarray(0, at), input.subarray(rng.int(input.length))])
      case 4:
        return Buffer.concat([input.subarray(0, at), this.noise(32), input.subarray(at)])
      case 5:
        return this.replaceNumber(input)
      case 6: {
        // Repeat a slice: long runs of the same structure (nesting, many headers).
        const end = Math.min(input.length, at + 1 + rng.int(16))
        const slice = input.subarray(at, end)
        const parts = [input.subarray(0, end)]
        for (let i = rng.int(64); i > 0; i--) parts.push(slice)
        parts.push(input.subarray(end))
        return Buffer.concat(parts)
      }
      default:
        return Buffer.concat([input.subarray(0, at), input.subarray(at + 1)])
    }
  }

  /** Replaces the first run of digits after a random point with an extreme number. */
  private replaceNumber(input: Buffer): Buffer {
    const text = input.toString('latin1')
    const from = this.rng.int(text.length)
    const match = /\d+/.exec(text.slice(from))
    if (match === null) return input
    const start = from + match.index
    const replaced = text.slice(0, start) + this.rng.pick(INTERESTING_NUMBERS) + text.slice(start + match[0].length)
    return Buffer.from(replaced, 'latin1')
  }
}

/** How many cases a fuzz test runs: FUZZ_CASES overrides the CI default. */
export function fuzzCases(ciDefault: number): number {
  const text = process.env['FUZZ_CASES']
  const n = text === undefined ? NaN : Number(text)
  return Number.isInteger(n) && n > 0 ? n : ciDefault
}

/** FUZZ_SEED replays a run; otherwise a fixed seed keeps CI deterministic. */
export function fuzzSeed(fallback: number): number {
  const n = Number(process.env['FUZZ_SEED'])
  return Number.isInteger(n) ? n : fallback
}
