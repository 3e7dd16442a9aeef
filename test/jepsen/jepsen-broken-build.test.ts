// The proof that the suite can fail: nodes started with
// RAFTKV_UNSAFE_STALE_READS=yes serve linearizable reads from local state
// without ReadIndex, and under partitions the checker must see stale reads.
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { cliPath } from '../cluster/process-cluster.js'
import { stopAllClusters } from './jepsen-cluster.js'
import { runScenario } from './run-scenario.js'

const durationMs = Number(process.env.JEPSEN_BROKEN_MS ?? 20_000)
const seed = Number(process.env.JEPSEN_SEED ?? Math.floor(Math.random() * 1_000_000))
const configJs = cliPath.replace(/bin[\\/]raftkv-cli\.js$/, 'lib/config/node-config.js')
const hookPresent = existsSync(configJs) && readFileSync(configJs, 'utf8').includes('RAFTKV_UNSAFE_STALE_READS')

t.teardown(stopAllClusters)
t.setTimeout(durationMs + 120_000)

t.test(
  'a build serving reads without ReadIndex is caught serving stale reads under partitions',
  { skip: hookPresent ? false : 'the node has no RAFTKV_UNSAFE_STALE_READS hook (lib/config, lib/replica)' },
  async (t) => {
    t.comment(`partition with unsafe stale reads: seed ${seed}`)
    const r = await runScenario({
      scenario: 'partition',
      nodes: 3,
      seed,
      durationMs,
      unsafeStaleReads: true,
      recordFailures: false,
      timing: { holdMsMin: 3000, holdMsMax: 5000, quietMsMin: 500, quietMsMax: 1500 },
    })
    t.equal(r.verdict, 'anomaly', `expected the checker to fail; got ${r.verdict}: ${r.detail}\nrerun: ${r.rerun}`)
  },
)
