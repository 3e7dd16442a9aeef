// make fuzz: every fuzz target at scale. FUZZ_CASES (default 1,000,000) is
// the case count of the in-process targets (reader, peer frames); the
// socket targets run a tenth of it. FUZZ_SEED picks the run; a failure
// prints the seed and case that replay it, and the exit code is 1.
import { fuzzRequestReader, fuzzRespServer } from './resp-target.js'
import { fuzzHttpServer } from './http-target.js'
import { fuzzPeerFrames } from './frame-target.js'
import type { FuzzResult } from './fuzz-result.js'

// Not a tap test: when tap runs the whole folder, say so and leave.
if (process.env['TAP'] === '1') {
  console.log('1..0 # SKIP run-fuzz.ts is the make fuzz driver')
  process.exit(0)
}

const cases = Number(process.env['FUZZ_CASES'] ?? 1_000_000)
const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000)
if (!Number.isInteger(cases) || cases <= 0 || !Number.isInteger(seed)) {
  console.error('FUZZ_CASES must be a positive integer and FUZZ_SEED an integer')
  process.exit(2)
}

let unhandled = 0
process.on('unhandledRejection', (reason) => {
  unhandled++
  console.error('unhandled rejection:', reason)
})

function report(result: FuzzResult, ms: number): boolean {
  const heapMiB = (result.heapGrowthBytesMax / 1024 / 1024).toFixed(1)
  console.log(`${result.target}: ${result.cases} cases in ${(ms / 1000).toFixed(1)} s, heap growth max ${heapMiB} MiB, ${result.failures.length} failures`)
  for (const f of result.failures) console.log(`  FAIL seed=${f.seed} case=${f.caseIndex}: ${f.rule}\n    input ${f.inputHex}`)
  return result.failures.length === 0
}

async function timed(run: () => FuzzResult | Promise<FuzzResult>): Promise<boolean> {
  const started = Date.now()
  const result = await run()
  return report(result, Date.now() - started)
}

console.log(`fuzzing with FUZZ_SEED=${seed} FUZZ_CASES=${cases}`)
const socketCases = Math.max(1, Math.floor(cases / 10))
const outcomes = [
  await timed(() => fuzzRequestReader(seed, cases)),
  await timed(() => fuzzPeerFrames(seed, cases)),
  await timed(() => fuzzRespServer(seed, socketCases)),
  await timed(() => fuzzRespServer(seed + 1, socketCases, { requirePass: 'fuzz-password' })),
  await timed(() => fuzzHttpServer(seed, socketCases)),
]
if (unhandled > 0) console.log(`${unhandled} unhandled rejections`)
process.exit(outcomes.every(Boolean) && unhandled === 0 ? 0 : 1)
