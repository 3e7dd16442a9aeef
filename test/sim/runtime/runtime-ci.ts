// The CI configuration of the runtime simulator, shared by the
// sim-runtime-seeds-*.test.ts files (tap runs files in parallel, so the
// seeds are split eight ways, about 20 s of CPU each, far inside tap's per-file timeout on a loaded machine). Each share also checks that every kind of
// fault and operation actually happened in it.
import type { Test } from 'tap'
import { formatRuntimeFailure, formatRuntimeSummary, runRuntimeBatch } from './run-runtime-seeds.js'

export const runtimeCiSeedCount = 2000
export const runtimeCiFileCount = 8

export async function runRuntimeCiShare(t: Test, share: number): Promise<void> {
  const count = runtimeCiSeedCount / runtimeCiFileCount
  const start = 1 + share * count
  const b = await runRuntimeBatch(start, count)
  t.comment(formatRuntimeSummary(b))
  for (const f of b.failures.slice(0, 2)) t.comment(formatRuntimeFailure(f, {}))
  t.equal(b.failures.length, 0, `runtime seeds ${start}..${start + count - 1} keep every safety, linearizability and liveness property`, {
    failingSeeds: b.failures.map((f) => f.seed),
  })
  t.ok(b.bySize[1] > 0 && b.bySize[3] > 0 && b.bySize[5] > 0, 'clusters of 1, 3 and 5 nodes ran')
  const s = b.totals
  const exercised: Record<string, number> = {
    'nodes joining through JOIN': s.joins,
    'processes killed': s.kills,
    'power losses': s.powerLosses,
    'SIGTERM with leadership hand-over': s.sigterms,
    'nodes stopped by an injected EIO/ENOSPC': s.diskFaultStops,
    'members removed': s.removes,
    'removed nodes wiped and rejoined': s.wipes,
    'members wiped in place and replaced under a new incarnation': s.memberReplacements,
    "new leaders' logs checked for completeness": s.leaderLogsChecked,
    'ReadIndex answers checked against the read floor': s.readFloorsChecked,
    'leadership transfers': s.transfers,
    'partitions': s.partitions,
    'snapshots saved': s.snapshotsSaved,
    'snapshots installed from a leader': s.snapshotsInstalled,
    'dropped messages': s.net.dropped,
    'duplicated messages': s.net.duplicated,
    'fsync stalls': s.disk.stalls,
    'unsynced writes lost at a crash': s.disk.lostWrites + s.disk.tornWrites,
    'acknowledged writes': s.clients.writesAcked,
    'linearizable reads': s.clients.readsOk,
    'stale reads': s.clients.staleReads,
    'MULTI/EXEC': s.clients.multiExecs,
    'WATCH + MULTI/EXEC applied': s.clients.watchedApplied,
    'WATCH + MULTI/EXEC aborted by a concurrent write': s.clients.watchAborted,
    'SCAN': s.clients.scans,
    'operations through a follower': s.clients.forwardedOps,
    'unknown outcomes (TIMEOUT or lost connection)': s.clients.unknown,
    'CLUSTERDOWN answers': s.clients.failed,
    'TTL keys read as expired (clocks skewed by seconds)': s.ttl.readsGone,
  }
  for (const [what, n] of Object.entries(exercised)) t.ok(n > 0, `exercised: ${what} (${n})`)
}
