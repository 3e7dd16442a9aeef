// Counts and times every client request on its way to the runtime, for
// /metrics: requests by state-machine operation and outcome, and latency
// histograms for writes and reads. A thin decorator, so neither the servers
// nor the runtime carry metrics code.
import type { KvApplyResult, KvOp, KvOpResult, KvWrite } from '../kv/command.js'
import type { ClientBackend, NodeInfo, ReadConsistency, ReadTarget, WriteTarget } from '../replica/client-api.js'
import type { NodeMetrics } from './node-metrics.js'
import { turnMonotonicMs } from '../util/turn-time.js'

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
    writeTo: (write: KvWrite, target: WriteTarget) => inner.writeTo(write, new TimedRequest(metrics, commandName(write.ops, write.watches.length > 0), metrics.writeLatency, target, null)),
    readTo: (ops: readonly KvOp[], consistency: ReadConsistency, target: ReadTarget) => inner.readTo(ops, consistency, new TimedRequest(metrics, commandName(ops, false), metrics.readLatency, null, target)),
    watchVersions: (keys: readonly Buffer[], consistency: ReadConsistency) => timed('watch', metrics.readLatency, () => inner.watchVersions(keys, consistency)),
    scan: (cursor: string, match: Buffer | null, count: number, consistency: ReadConsistency) => timed('scan', metrics.readLatency, () => inner.scan(cursor, match, count, consistency)),
    info: (): NodeInfo => inner.info(),
    admin: (op: string, args: readonly string[]) => inner.admin(op, args),
  }
}

/** `timed` for the callback forms (the hot path): one record per request, no promise, no closure. */
class TimedRequest implements WriteTarget, ReadTarget {
  private readonly startedMs = turnMonotonicMs()

  constructor(
    private readonly metrics: NodeMetrics,
    private readonly command: string,
    private readonly histogram: NodeMetrics['writeLatency'],
    private readonly writeTarget: WriteTarget | null,
    private readonly readTarget: ReadTarget | null,
  ) {}

  writeDone(result: KvApplyResult): void {
    this.count('ok')
    this.writeTarget?.writeDone(result)
  }

  writeFailed(error: unknown): void {
    this.count(errorCode(error))
    this.writeTarget?.writeFailed(error)
  }

  readDone(results: KvOpResult[]): void {
    this.count('ok')
    this.readTarget?.readDone(results)
  }

  readFailed(error: unknown): void {
    this.count(errorCode(error))
    this.readTarget?.readFailed(error)
  }

  private count(outcome: string): void {
    this.histogram.observe((turnMonotonicMs() - this.startedMs) / 1000)
    this.metrics.countRequest(this.command, outcome)
  }
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code.toLowerCase() : 'error'
}

/** One label value per request: the operation, or "multi" for a transaction. */
function commandName(ops: readonly KvOp[], watched: boolean): string {
  if (ops.length === 1 && !watched) return (ops[0] as KvOp).t
  return 'multi'
}
