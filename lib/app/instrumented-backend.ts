// Counts and times every client request on its way to the runtime, for
// /metrics: requests by state-machine operation and outcome, and latency
// histograms for writes and reads. A thin decorator, so neither the servers
// nor the runtime carry metrics code.
import type { KvOp, KvWrite } from '../kv/command.js'
import type { ClientBackend, NodeInfo, ReadConsistency } from '../replica/client-api.js'
import type { NodeMetrics } from './node-metrics.js'

export function instrumentBackend(inner: ClientBackend, metrics: NodeMetrics): ClientBackend {
  // Runs for every request: no timer closure, no label hashing (countRequest caches).
  const timed = <T>(command: string, histogram: NodeMetrics['writeLatency'], run: () => Promise<T>): Promise<T> => {
    const startedMs = performance.now()
    return run().then(
      (value) => {
        histogram.observe((performance.now() - startedMs) / 1000)
        metrics.countRequest(command, 'ok')
        return value
      },
      (err: unknown) => {
        histogram.observe((performance.now() - startedMs) / 1000)
        const code = (err as { code?: unknown }).code
        metrics.countRequest(command, typeof code === 'string' ? code.toLowerCase() : 'error')
        throw err
      },
    )
  }
  return {
    write: (write: KvWrite) => timed(commandName(write.ops, write.watches.length > 0), metrics.writeLatency, () => inner.write(write)),
    read: (ops: readonly KvOp[], consistency: ReadConsistency) => timed(commandName(ops, false), metrics.readLatency, () => inner.read(ops, consistency)),
    watchVersions: (keys: readonly Buffer[], consistency: ReadConsistency) => timed('watch', metrics.readLatency, () => inner.watchVersions(keys, consistency)),
    scan: (cursor: string, match: Buffer | null, count: number, consistency: ReadConsistency) => timed('scan', metrics.readLatency, () => inner.scan(cursor, match, count, consistency)),
    info: (): NodeInfo => inner.info(),
    admin: (op: string, args: readonly string[]) => inner.admin(op, args),
  }
}

/** One label value per request: the operation, or "multi" for a transaction. */
function commandName(ops: readonly KvOp[], watched: boolean): string {
  if (ops.length === 1 && !watched) return (ops[0] as KvOp).t
  return 'multi'
}
