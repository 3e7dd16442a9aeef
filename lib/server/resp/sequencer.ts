// Orders the key-value work of one connection so that a pipeline behaves as
// if its commands ran one after another, while still letting the runtime
// batch them:
// - consecutive writes are issued at once, without waiting for each other
//   (the backend applies one caller's writes in call order), so one read of
//   the socket becomes one batch of proposals;
// - consecutive reads are merged into one backend.read call (one ReadIndex);
// - a read waits until every earlier write has settled, and a write until
//   every earlier read has settled, so `SET k 1; GET k` sees 1 and
//   `GET k; SET k 2` does not see 2.
import type { KvOp, KvOpResult } from '../../kv/command.js'
import type { ClientBackend, ReadConsistency } from '../../replica/client-api.js'

export type WorkKind = 'read' | 'write'

/** Reads merged into one backend.read call at most. */
const readBatchOpsMax = 512

interface ReadBatch {
  readonly consistency: ReadConsistency
  readonly ops: KvOp[]
  readonly waiters: { resolve(result: KvOpResult): void; reject(error: unknown): void }[]
  started: boolean
}

class Group {
  pending = 0
  batch: ReadBatch | null = null
  private idleWaiters: (() => void)[] = []

  constructor(
    readonly kind: WorkKind,
    /** Resolves once the previous group has settled; null when it already had. */
    readonly gate: Promise<void> | null,
  ) {}

  idle(): Promise<void> {
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  settleOne(): void {
    this.pending--
    if (this.pending > 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const wake of waiters) wake()
  }
}

export class Sequencer {
  private group = new Group('read', null)

  constructor(private readonly backend: ClientBackend) {}

  /** Runs `start` when its turn comes; work of the same kind runs together. */
  run<T>(kind: WorkKind, start: () => Promise<T>): Promise<T> {
    const group = this.enter(kind)
    group.pending++
    let promise: Promise<T>
    if (group.gate === null) {
      try {
        promise = start()
      } catch (error) {
        promise = Promise.reject(error)
      }
    } else {
      promise = group.gate.then(start)
    }
    const done = (): void => group.settleOne()
    promise.then(done, done)
    return promise
  }

  /** A read op, merged with the other reads of this turn into one backend.read call. */
  read(op: KvOp, consistency: ReadConsistency): Promise<KvOpResult> {
    const group = this.enter('read')
    let batch = group.batch
    if (batch === null || batch.started || batch.consistency !== consistency || batch.ops.length >= readBatchOpsMax) {
      batch = this.startBatch(group, consistency)
    }
    batch.ops.push(op)
    const waiters = batch.waiters
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
  }

  private startBatch(group: Group, consistency: ReadConsistency): ReadBatch {
    const batch: ReadBatch = { consistency, ops: [], waiters: [], started: false }
    group.batch = batch
    // Start after a microtask at the earliest, so that every read of this
    // socket chunk joins the batch.
    const gate = group.gate ?? Promise.resolve()
    group.pending++
    gate
      .then(() => {
        batch.started = true
        if (group.batch === batch) group.batch = null
        return this.backend.read(batch.ops, consistency)
      })
      .then(
        (results) => {
          batch.waiters.forEach((waiter, index) => {
            const result = results[index]
            if (result === undefined) waiter.reject(new Error(`backend.read returned ${results.length} results for ${batch.ops.length} ops`))
            else waiter.resolve(result)
          })
        },
        (error: unknown) => {
          for (const waiter of batch.waiters) waiter.reject(error)
        },
      )
      .finally(() => group.settleOne())
    return batch
  }

  private enter(kind: WorkKind): Group {
    if (this.group.kind !== kind) {
      const previous = this.group
      this.group = new Group(kind, previous.pending === 0 ? null : previous.idle())
    }
    return this.group
  }
}
