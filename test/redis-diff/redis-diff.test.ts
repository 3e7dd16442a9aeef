// Differential test: seeded random sequences over every type, option and
// error case, sent to redis-server and to a 3-node raftkv cluster, every
// reply compared. A mismatch prints the seed and the shortest sequence
// found that reproduces it. `make fuzz-redis N=…` runs many more.
import t from 'tap'
import { runDifferential } from './diff-run.js'
import { haveRedisServer } from './redis-process.js'
import { skipWhenMissing } from '../util/missing-tool.js'

const SEQUENCES = Number(process.env['REDIS_DIFF_SEQUENCES'] ?? 12)
const SEED = Number(process.env['REDIS_DIFF_SEED'] ?? 20_261_202)

t.test('raftkv answers every command as redis-server does', { skip: skipWhenMissing(haveRedisServer() ? false : 'redis-server is not installed (apt-get install redis-server)') }, async (t) => {
  const report = await runDifferential({ sequences: SEQUENCES, length: 150, seed: SEED, failuresMax: 3 })
  t.equal(report.sequences, SEQUENCES)
  t.ok(report.commands > SEQUENCES * 100, `${report.commands} commands compared`)
  t.same(report.failures, [], report.failures.join('\n\n'))
})
