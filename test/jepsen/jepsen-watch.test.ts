// The watch scenario of the fault suite, cut short for CI: nodes and leaders
// of 3 real nodes are killed and restarted while a /watch client follows the
// changes, resuming on another node with Last-Event-ID each time its node
// dies; every acknowledged write must be seen exactly once, in order, and
// the usual linearizability and convergence checks still apply.
// JEPSEN_SEED fixes the seed; JEPSEN_WATCH_MS the length.
import t from 'tap'
import { stopAllClusters } from './jepsen-cluster.js'
import { runScenario } from './run-scenario.js'

const durationMs = Number(process.env.JEPSEN_WATCH_MS ?? 15_000)
const seed = Number(process.env.JEPSEN_SEED ?? Math.floor(Math.random() * 1_000_000))

t.teardown(stopAllClusters)
t.setTimeout(durationMs * 3 + 180_000)

t.test('a watcher that resumes on another node after each kill sees every acknowledged write exactly once, in order', async (t) => {
  t.comment(`watch: seed ${seed}, ${durationMs} ms`)
  const r = await runScenario({ scenario: 'watch', nodes: 3, seed, durationMs, timing: { holdMsMin: 1500, holdMsMax: 4000, quietMsMin: 1000, quietMsMax: 2000 } })
  t.comment(`watch: ops ok/failed/unknown ${r.ops.ok}/${r.ops.failed}/${r.ops.unknown}, ${r.faults} faults, ${Math.round(r.elapsedMs / 1000)} s; ${r.detail}`)
  t.equal(r.verdict, 'ok', `${r.detail}\nschedule: ${JSON.stringify(r.schedule)}\nresults: ${String(r.resultsDir)}\nrerun: ${r.rerun}`)
  t.ok(r.faults >= 2, `${r.faults} faults injected`)
  t.match(r.detail, /watch: [1-9][0-9]* events checked .*; 0 gaps; [1-9][0-9]* streams resumed/, 'the watcher saw changes and resumed at least once')
})
