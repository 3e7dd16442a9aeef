// Seeded fuzzing of the HTTP shim over raw sockets (FUZZ_CASES, FUZZ_SEED).
import t from 'tap'
import { fuzzHttpServer } from './http-target.js'
import { fuzzCases, fuzzSeed } from './mutate.js'

t.test('malformed HTTP requests are each answered or closed, never a 500, and /health stays served', async (t) => {
  const result = await fuzzHttpServer(fuzzSeed(4), fuzzCases(3000))
  t.same(result.failures, [], `${result.cases} cases`)
  t.ok(result.heapGrowthBytesMax < 256 * 1024 * 1024, `heap grew at most ${result.heapGrowthBytesMax} bytes`)
})
