// Named scenarios: which faults the nemesis draws from.
import type { FaultKind } from './nemesis.js'

export const scenarios = {
  kill: ['kill-random', 'kill-leader'],
  pause: ['pause-random', 'pause-leader'],
  partition: ['isolate-one', 'isolate-leader', 'majority-minority', 'bridge', 'one-way'],
  'network-faults': ['delay', 'drop'],
  membership: ['replace-node', 'transfer-leader'],
  'wipe-readd': ['wipe-readd'],
  // Members lose their disks one after another and rejoin in place, some then
  // lead, while nodes are also killed, paused and cut off (issue 21).
  'replace-chain': ['replace-in-place', 'replace-in-place', 'replace-in-place', 'kill-random', 'pause-random', 'isolate-one'],
  // The same with no snapshot taken during the run: a rejoining node replays
  // the whole log, through entries naming earlier incarnations of its leader.
  'replace-chain-replay': ['replace-in-place', 'replace-in-place', 'replace-in-place', 'kill-random', 'pause-random', 'isolate-one'],
  'torn-tail': ['torn-tail'],
  'power-loss': ['power-loss'],
  // Nodes and leaders killed while a /watch client follows the changes and resumes on another node (watch-feed.ts checks it).
  watch: ['kill-random', 'kill-leader'],
  // The CI cut's combinations (jepsen-short.test.ts): one cluster start for two kinds of fault.
  'membership-wipe': ['replace-node', 'transfer-leader', 'wipe-readd'],
  'disk-loss': ['torn-tail', 'power-loss'],
  // Everything above, one fault at a time, in a random order.
  mixed: ['kill-random', 'kill-leader', 'pause-random', 'pause-leader', 'isolate-one', 'isolate-leader', 'majority-minority', 'bridge', 'one-way', 'delay', 'drop', 'replace-node', 'transfer-leader', 'wipe-readd', 'replace-in-place', 'torn-tail', 'power-loss'],
} as const satisfies Record<string, readonly FaultKind[]>

export type ScenarioName = keyof typeof scenarios
export const scenarioNames = Object.keys(scenarios) as ScenarioName[]

/** Scenarios that need a prepared spare node (one that joins later). */
export function sparesFor(name: ScenarioName): number {
  return name === 'membership' || name === 'membership-wipe' || name === 'mixed' ? 1 : 0
}

export function isScenarioName(s: string): s is ScenarioName {
  return Object.hasOwn(scenarios, s)
}

/** Node settings a scenario needs: power loss needs the storage to record synced lengths; replace-chain-replay, no snapshots. */
export function scenarioEnv(name: ScenarioName): Record<string, string> {
  if (name === 'replace-chain-replay') return { SNAPSHOT_ENTRIES: '1000000' }
  return name === 'power-loss' || name === 'disk-loss' || name === 'mixed' ? { RAFTKV_TEST_MODE: 'yes', RAFTKV_TRACK_SYNCED_LENGTHS: 'yes' } : {}
}
