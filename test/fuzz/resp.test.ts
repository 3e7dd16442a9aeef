// Seeded fuzzing of the RESP request reader and the listener's command
// layer (FUZZ_CASES and FUZZ_SEED override the CI defaults; make fuzz runs
// millions). A failure prints its seed and case number.
import t from 'tap'
import { fuzzRequestReader, fuzzRespServer } from './resp-target.js'
import { fuzzCases, fuzzSeed } from './mutate.js'

const HEAP_GROWTH_BYTES_MAX = 256 * 1024 * 1024

t.test('malformed requests never throw out of the reader nor exceed its limits', async (t) => {
  const result = fuzzRequestReader(fuzzSeed(1), fuzzCases(50_000))
  t.same(result.failures, [], `${result.cases} cases`)
  t.ok(result.heapGrowthBytesMax < HEAP_GROWTH_BYTES_MAX, `heap grew at most ${result.heapGrowthBytesMax} bytes`)
})

t.test('malformed pipelines are each answered or closed, and a sentinel client is always served', async (t) => {
  const result = await fuzzRespServer(fuzzSeed(2), fuzzCases(4000))
  t.same(result.failures, [], `${result.cases} cases`)
  t.ok(result.heapGrowthBytesMax < HEAP_GROWTH_BYTES_MAX, `heap grew at most ${result.heapGrowthBytesMax} bytes`)
})

t.test('before AUTH, malformed pipelines get NOAUTH, an error or a close, and nothing else leaks through', async (t) => {
  const result = await fuzzRespServer(fuzzSeed(3), fuzzCases(3000), { requirePass: 'fuzz-password' })
  t.same(result.failures, [], `${result.cases} cases`)
})
