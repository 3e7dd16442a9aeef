// Named scenarios: which faults the nemesis draws from.
import type { FaultKind } from './nemesis.js'

export const scenarios = {
  kill: ['kill-random', 'kill-leader'],
  pause: ['pause-random', 'pause-leader'],
  partition: ['isolate-one', 'isolate-leader', 'majority-minority', 'bridge', 'one-way'],
  'network-faults': ['delay', 'drop'],
  membership: ['replace-node', 'transfer-leader'],
  'wipe-readd': ['wipe-readd'],
  'torn-tail': ['torn-tail'],
  'power-loss': ['power-loss'],
  // Nodes and leaders killed while a /watch client follows the changes and resumes on another node (watch-feed.ts checks it).
  watch: ['kill-random', 'kill-leader'],
  // Everything above, one fault at a time, in a random order.
  mixed: ['kill-random', 'kill-leader', 'pause-random', 'pause-leader', 'isolate-one', 'isolate-leader', 'majority-minority', 'bridge', 'one-way', 'delay', 'drop', 'replace-node', 'transfer-leader', 'wipe-readd', 'torn-tail', 'power-loss'],
} as const satisfies Record<string, readonly FaultKind[]>

export type ScenarioName = keyof typeof scenarios
export const scenarioNames = Object.keys(scenarios) as ScenarioName[]

/** Scenarios that need a prepared spare node (one that joins later). */
export function sparesFor(name: ScenarioName): number {
  return name === 'membership' || name === 'mixed' ? 1 : 0
}

export function isScenarioName(s: string): s is ScenarioName {
  return Object.hasOwn(scenarios, s)
}

/** Node settings a scenario needs: power loss needs the storage to record synced lengths. */
export function scenarioEnv(name: ScenarioName): Record<string, string> {
  return name === 'power-loss' || name === 'mixed' ? { RAFTKV_TEST_MODE: 'yes', RAFTKV_TRACK_SYNCED_LENGTHS: 'yes' } : {}
}
