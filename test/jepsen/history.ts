// The operations a fault-injection run records: what a client asked, of
// which node, when it was invoked and completed (performance.now(), ms), and
// how it ended. The outcome decides what the checker may assume:
//   ok      — the reply was seen; the op took effect once, between invoke and complete;
//   failed  — certainly not applied (-CLUSTERDOWN, never sent, or a read that failed);
//   unknown — timed out, lost connection, -TIMEOUT: it may take effect at any
//             time after its invocation, or never.

export type OpKind = 'set' | 'get' | 'getset' | 'incr' | 'del'
export type Outcome = 'ok' | 'failed' | 'unknown'

export interface Op {
  /** Position in the whole history, in invocation order. */
  readonly index: number
  /** Logical client; a client whose op ended unknown continues under a new id, as in Jepsen. */
  readonly process: number
  readonly node: string
  readonly kind: OpKind
  readonly key: string
  /** The value written by set / getset; null for the others. */
  readonly value: string | null
  /**
   * What the reply said: get/getset → the (previous) value or null;
   * incr → the new counter; del → number of keys removed; set → null.
   */
  result: string | number | null
  outcome: Outcome
  readonly invokeMs: number
  /** When the reply (or the give-up) came; for unknown ops the effect may still come later. */
  completeMs: number
  error: string | null
}

/** Collects ops from concurrent clients; the index is taken at invocation. */
export class History {
  readonly ops: Op[] = []

  invoke(process: number, node: string, kind: OpKind, key: string, value: string | null): Op {
    const op: Op = {
      index: this.ops.length,
      process,
      node,
      kind,
      key,
      value,
      result: null,
      outcome: 'unknown',
      invokeMs: performance.now(),
      completeMs: Number.POSITIVE_INFINITY,
      error: null,
    }
    this.ops.push(op)
    return op
  }

  complete(op: Op, outcome: Outcome, result: string | number | null, error: string | null = null): void {
    op.completeMs = performance.now()
    op.outcome = outcome
    op.result = result
    op.error = error
  }

  counts(): { ok: number; failed: number; unknown: number } {
    const c = { ok: 0, failed: 0, unknown: 0 }
    for (const op of this.ops) c[op.outcome]++
    return c
  }
}

/** One line per op, for result files and failure messages. */
export function formatOp(op: Op, originMs: number): string {
  const t0 = (op.invokeMs - originMs).toFixed(1).padStart(9)
  const t1 = Number.isFinite(op.completeMs) ? (op.completeMs - originMs).toFixed(1).padStart(9) : '      inf'
  const arg = op.value === null ? '' : ` ${op.value}`
  const res = op.outcome === 'ok' ? ` -> ${JSON.stringify(op.result)}` : op.error === null ? '' : ` (${op.error})`
  return `[${t0} .. ${t1}] p${op.process}@${op.node} ${op.kind} ${op.key}${arg} ${op.outcome}${res}`
}
