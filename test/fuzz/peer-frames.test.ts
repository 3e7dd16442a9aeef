// Seeded fuzzing of the peer wire: frame decoder, Avro message decoder and
// the listener handshake (FUZZ_CASES, FUZZ_SEED).
import t from 'tap'
import { fuzzPeerFrames } from './frame-target.js'
import { fuzzCases, fuzzSeed } from './mutate.js'

t.test('malformed frames only ever give a message, a FrameError or a WireDecodeError, and never authenticate', async (t) => {
  const result = fuzzPeerFrames(fuzzSeed(5), fuzzCases(30_000))
  t.same(result.failures, [], `${result.cases} cases`)
  t.ok(result.heapGrowthBytesMax < 256 * 1024 * 1024, `heap grew at most ${result.heapGrowthBytesMax} bytes`)
})
