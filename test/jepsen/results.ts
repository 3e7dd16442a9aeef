// What a failed run leaves behind in test/jepsen/results/<timestamp>-…/: the
// seed and fault schedule, the smallest window of history per failing key,
// the whole history, the nodes' log tails, and the command that reruns the
// same schedule.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../util/repo-root.js'
import type { AnomalyWindow } from './anomaly-window.js'
import { formatOp, type Op } from './history.js'
import type { FaultRecord } from './nemesis.js'

/** test/jepsen/results in the source tree, from the .ts file or its compiled copy in dist/. */
export function resultsRoot(): string {
  return join(repoRoot, 'test', 'jepsen', 'results')
}

export function rerunCommand(scenario: string, nodes: number, seed: number, durationMs: number, extra = ''): string {
  return `node dist/test/jepsen/run.js --scenario ${scenario} --nodes ${nodes} --seed ${seed} --duration-ms ${durationMs}${extra}`
}

export interface FailureRecord {
  scenario: string
  nodes: number
  seed: number
  durationMs: number
  verdict: string
  detail: string
  rerun: string
  schedule: readonly FaultRecord[]
  windows: readonly AnomalyWindow[]
  history: readonly Op[]
  originMs: number
  nodeOutputs: string
}

export function formatWindow(w: AnomalyWindow, originMs: number): string {
  const head = `key ${w.key}: window ${fmt(w.fromMs - originMs)} .. ${fmt(w.toMs - originMs)} ms, initial value ${w.initial}; no order of these ops fits the model`
  return [head, ...w.ops.map((op) => `  ${formatOp(op, originMs)}`)].join('\n')
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : String(ms)
}

/** Writes the record; returns the folder. */
export function writeFailure(r: FailureRecord): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const dir = join(resultsRoot(), `${stamp}-${r.scenario}-n${r.nodes}-seed${r.seed}`)
  mkdirSync(dir, { recursive: true })
  const summary = { scenario: r.scenario, nodes: r.nodes, seed: r.seed, durationMs: r.durationMs, verdict: r.verdict, detail: r.detail, rerun: r.rerun, schedule: r.schedule }
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  writeFileSync(join(dir, 'rerun.sh'), `#!/bin/sh\n# Same seed, same fault schedule (timing on a busy machine may still differ).\nnpx tsc -p tsconfig.json && ${r.rerun}\n`)
  writeFileSync(join(dir, 'anomaly.txt'), r.windows.map((w) => formatWindow(w, r.originMs)).join('\n\n') + '\n')
  writeFileSync(join(dir, 'history.txt'), r.history.map((op) => formatOp(op, r.originMs)).join('\n') + '\n')
  writeFileSync(join(dir, 'history.jsonl'), r.history.map((op) => JSON.stringify({ ...op, invokeMs: op.invokeMs - r.originMs, completeMs: Number.isFinite(op.completeMs) ? op.completeMs - r.originMs : null })).join('\n') + '\n')
  writeFileSync(join(dir, 'node-logs.txt'), r.nodeOutputs)
  return dir
}
