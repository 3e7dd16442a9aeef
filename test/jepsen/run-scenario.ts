// One fault-injection run: boot a cluster behind the proxies, run clients
// and the nemesis for the duration, heal, read every key, wait for the nodes
// to converge, check the history, and on failure write the evidence.
import { Prng } from '../../lib/util/prng.js'
import { smallestWindow, type AnomalyWindow } from './anomaly-window.js'
import { awaitConvergence, finalReads } from './convergence.js'
import { History } from './history.js'
import { JepsenCluster } from './jepsen-cluster.js'
import { checkHistory, opsByKey, type HistoryVerdict } from './linearizability.js'
import { Nemesis, nemesisTimingDefaults, type FaultRecord, type NemesisTiming } from './nemesis.js'
import { formatWindow, rerunCommand, writeFailure } from './results.js'
import { scenarioEnv, scenarios, sparesFor, type ScenarioName } from './scenarios.js'
import { WatchFeed } from './watch-feed.js'
import { sleep, Workload, workloadDefaults, workloadKeys } from './workload.js'

export interface RunOptions {
  scenario: ScenarioName
  nodes: number
  seed: number
  durationMs: number
  /** The deliberately broken build: linearizable reads skip ReadIndex. */
  unsafeStaleReads?: boolean
  timing?: NemesisTiming
  workersPerNode?: number
  /** Write test/jepsen/results/… when the verdict is not ok (default true). */
  recordFailures?: boolean
  log?: (line: string) => void
}

export type Verdict = 'ok' | 'anomaly' | 'diverged' | 'unavailable' | 'inconclusive'

export interface RunReport {
  scenario: ScenarioName
  nodes: number
  seed: number
  durationMs: number
  ops: { ok: number; failed: number; unknown: number }
  faults: number
  schedule: FaultRecord[]
  verdict: Verdict
  detail: string
  rerun: string
  resultsDir: string | null
  elapsedMs: number
}

/** The settle period after the last fault, while clients keep going, before the final checks. */
const settleMs = 2000

export async function runScenario(o: RunOptions): Promise<RunReport> {
  const started = Date.now()
  const log = o.log ?? (() => {})
  const seeds = new Prng(o.seed)
  const workloadSeed = seeds.nextUint32()
  const nemesisRng = new Prng(seeds.nextUint32())
  const proxyRng = new Prng(seeds.nextUint32())
  const env = { ...scenarioEnv(o.scenario), ...(o.unsafeStaleReads === true ? { RAFTKV_TEST_MODE: 'yes', RAFTKV_UNSAFE_STALE_READS: 'yes' } : {}) }
  const spares = sparesFor(o.scenario)
  const cluster = await JepsenCluster.create(o.nodes, spares, env, () => proxyRng.next())
  const history = new History()
  const keys = workloadKeys(workloadDefaults)
  const rerun = rerunCommand(o.scenario, o.nodes, o.seed, o.durationMs, o.unsafeStaleReads === true ? ' --unsafe-stale-reads' : '')
  let schedule: FaultRecord[] = []
  try {
    await cluster.boot()
    log(`${o.scenario} n=${o.nodes} seed=${o.seed}: cluster up`)
    const originMs = performance.now()
    const workers = o.nodes * (o.workersPerNode ?? 2)
    const workload = new Workload(history, (w) => targetFor(cluster, w), workers, workloadSeed)
    const nemesis = new Nemesis(cluster, nemesisRng, scenarios[o.scenario], originMs, o.timing ?? nemesisTimingDefaults)
    schedule = nemesis.records
    const feed = o.scenario === 'watch' ? new WatchFeed(cluster) : null
    feed?.start()
    workload.start()
    await nemesis.run(o.durationMs)
    cluster.healAll()
    await sleep(settleMs)
    await workload.stop()
    await feed?.stop(30_000)
    log(`${o.scenario}: ${nemesis.records.length} faults, ${history.ops.length} ops; healing and checking`)
    const base = { scenario: o.scenario, nodes: o.nodes, seed: o.seed, durationMs: o.durationMs, faults: schedule.length, schedule, rerun }
    const finish = (verdict: Verdict, detail: string, windows: AnomalyWindow[] = []): RunReport => {
      const resultsDir =
        verdict !== 'ok' && o.recordFailures !== false
          ? writeFailure({ ...base, verdict, detail, windows, history: history.ops, originMs, nodeOutputs: cluster.processes.outputs() })
          : null
      return { ...base, ops: history.counts(), verdict, detail, resultsDir, elapsedMs: Date.now() - started }
    }
    if (!(await finalReads(cluster, history, keys, 30_000))) return finish('unavailable', 'no leader served the final reads within 30 s after healing')
    const convergence = await awaitConvergence(cluster, keys, 30_000)
    const checked = checkHistory(history.ops)
    if (checked.verdict === 'fail') {
      const windows = failingWindows(history, checked)
      return finish('anomaly', windows.map((w) => formatWindow(w, originMs)).join('\n\n'), windows)
    }
    if (!convergence.converged) return finish('diverged', convergence.detail)
    const watched = feed?.check() ?? null
    if (watched !== null && !watched.ok) return finish('anomaly', watched.detail)
    if (checked.verdict === 'budget') return finish('inconclusive', `checker gave up on ${checked.keys.filter((k) => k.verdict === 'budget').map((k) => k.key).join(', ')}`)
    return finish('ok', `${checked.keys.reduce((s, k) => s + k.opsChecked, 0)} ops checked over ${checked.keys.length} keys; ${convergence.detail}${watched === null ? '' : `; ${watched.detail}`}`)
  } finally {
    await cluster.stop()
  }
}

function failingWindows(history: History, checked: HistoryVerdict): AnomalyWindow[] {
  const byKey = opsByKey(history.ops)
  return checked.keys.filter((k) => k.verdict === 'fail').map((k) => smallestWindow(k.key, byKey.get(k.key) ?? []))
}

/** Worker w talks to the w-th current member, round robin. */
function targetFor(cluster: JepsenCluster, w: number): { id: string; respPort: number } {
  const members = cluster.memberNodes()
  const node = members[w % Math.max(1, members.length)] ?? cluster.nodes[0]
  if (node === undefined) throw new Error('a cluster without nodes')
  return { id: node.spec.id, respPort: node.spec.respPort }
}
