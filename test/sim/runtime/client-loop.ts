// One simulated client's life during the fault phase: think, pick a running
// node, issue one request there. Shared by the workloads so each keeps only
// what it issues; the draws happen in one fixed order, so seeds replay.
import type { Prng } from '../../../lib/util/prng.js'
import type { RuntimeCluster, SimHost } from './runtime-cluster.js'

/** How long a client waits when no node is running, before it looks again. */
const noHostRetryMs = 20

export async function runClientLoop(cluster: RuntimeCluster, prng: Prng, issue: (host: SimHost) => Promise<void>): Promise<void> {
  const thinkMsMax = cluster.weather.thinkMsMax
  // Clients act during the fault phase; the calm lets their last requests settle.
  while (cluster.inFaults()) {
    await cluster.sleep(prng.next() * thinkMsMax)
    if (!cluster.inFaults()) return
    const host = cluster.pickRunning()
    if (host === null) {
      await cluster.sleep(noHostRetryMs)
      continue
    }
    try {
      await issue(host)
    } catch (err) {
      cluster.fail(err instanceof Error ? err : new Error(String(err)))
      return
    }
  }
}
