// The harness loop every fuzz target shares. Each case draws from its own
// Prng, seeded from (run seed, case number), so one failing case replays alone
// whatever ran before it. In-process targets run their cases one after another;
// socket targets send a batch of mutated inputs at once, each on its own
// connection, then check that a sentinel request is still served.
import net from 'node:net'
import { Prng } from '../../lib/util/prng.js'
import { type FuzzResult, caseSeed, fail, sampleHeap } from './fuzz-result.js'
import { Mutator } from './mutate.js'

/** What one case draws its choices from. */
export interface FuzzCase {
  readonly index: number
  readonly rng: Prng
  readonly mutator: Mutator
}

function fuzzCase(seed: number, index: number): FuzzCase {
  const rng = new Prng(caseSeed(seed, index))
  return { index, rng, mutator: new Mutator(rng) }
}

/** Runs `cases` cases in order, sampling heap growth every thousand and after the last. */
export function runCases(result: FuzzResult, seed: number, cases: number, runCase: (c: FuzzCase) => void): void {
  const baseline = process.memoryUsage().heapUsed
  for (let i = 0; i < cases; i++) {
    runCase(fuzzCase(seed, i))
    if (i % 1000 === 0) sampleHeap(result, baseline)
  }
  sampleHeap(result, baseline)
}

/** Splits `input` into 1 to `chunksMax` chunks at random points, as a socket may deliver it. */
export function chunks(rng: Prng, input: Buffer, chunksMax: number): Buffer[] {
  const out: Buffer[] = []
  let rest = input
  for (let n = rng.int(chunksMax); n > 0 && rest.length > 1; n--) {
    const at = 1 + rng.int(rest.length - 1)
    out.push(rest.subarray(0, at))
    rest = rest.subarray(at)
  }
  out.push(rest)
  return out
}

/** One connection's fate: the bytes the server sent, and whether it closed the connection. */
export interface Exchange {
  readonly bytes: Buffer
  readonly closed: boolean
}

/** Sends `input` on a new connection and collects the answer until the server closes or `timeoutMs` passes. */
export function exchange(port: number, input: Buffer, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const received: Buffer[] = []
    let settled = false
    const settle = (closed: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ bytes: Buffer.concat(received), closed })
    }
    const timer = setTimeout(() => settle(false), timeoutMs)
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    socket.on('error', () => settle(true))
    socket.on('close', () => settle(true))
    // Half-close after the input: the server answers what it can, then closes.
    socket.on('connect', () => socket.end(input))
  })
}

export interface SocketFuzz {
  readonly result: FuzzResult
  readonly seed: number
  readonly cases: number
  readonly concurrency: number
  readonly port: number
  /** A well-formed input; most cases mutate it, some send it as is, a few send noise instead. */
  readonly seedInput: (rng: Prng) => Buffer
  /** Checks one case's exchange, calling fail() for each rule it breaks. */
  readonly check: (answer: Exchange, index: number, input: Buffer) => void
  /** After every batch: whether the server still serves a well-formed request. */
  readonly sentinel: () => Promise<boolean>
  /** The rule reported when the sentinel is not served. */
  readonly sentinelRule: string
}

/** Sends the cases `concurrency` connections at a time, checking each answer and the sentinel after each batch. */
export async function runSocketCases(fuzz: SocketFuzz): Promise<void> {
  const { result, seed, cases, concurrency, port } = fuzz
  const baseline = process.memoryUsage().heapUsed
  for (let start = 0; start < cases; start += concurrency) {
    const batch: Promise<void>[] = []
    for (let i = start; i < Math.min(cases, start + concurrency); i++) {
      const { rng, mutator } = fuzzCase(seed, i)
      const input = rng.chance(0.05) ? mutator.noise(2048) : rng.chance(0.8) ? mutator.mutate(fuzz.seedInput(rng)) : fuzz.seedInput(rng)
      batch.push(exchange(port, input, 10_000).then((answer) => fuzz.check(answer, i, input)))
    }
    await Promise.all(batch)
    if (!(await fuzz.sentinel())) fail(result, seed, start, fuzz.sentinelRule, Buffer.alloc(0))
    sampleHeap(result, baseline)
  }
}
