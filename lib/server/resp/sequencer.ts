// Orders the key-value work of one connection so that a pipeline behaves as
// if its commands ran one after another, while still letting the runtime
// batch them:
// - consecutive writes are issued at once, without waiting for each other
//   (the backend applies one caller's writes in call order), so one read of
//   the socket becomes one batch of proposals;
// - consecutive reads of one socket chunk are merged into one backend read
//   (one ReadIndex), started when the chunk has been read (flush);
// - a read waits until every earlier write has settled, and a write until
//   every earlier read has settled, so `SET k 1; GET k` sees 1 and
//   `GET k; SET k 2` does not see 2.
// The common cases (a write or a read batch with nothing before it still
// pending) go to the backend's callback forms at once: no promise and no
// closure per command. Only work that must wait for a previous group, and
// the general `run`, use promises.
import type { KvOp, KvOpResult, KvWrite } from '../../kv/command.js'
import type { ClientBackend, ReadConsistency, ReadTarget, WriteTarget } from '../../replica/client-api.js'

export type WorkKind = 'read' | 'write'

/** Reads merged into one backend read at most. */
const readBatchOpsMax = 512

/** What a write or read batch reports to when it settles. */
export interface WorkGroup {
  settleOne(): void
}

/** A write issued through `write`: it calls group.settleOne() once when it settles. */
export interface SequencedWrite extends WriteTarget {
  group: WorkGroup | null
}

/** A read issued through `read`: told its own result, or the batch's error. */
export interface SequencedRead {
  readResult(result: KvOpResult): void
  readFailed(error: unknown): void
}

class Group implements WorkGroup {
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
    if (waiters.length === 0) return
    this.idleWaiters = []
    for (const wake of waiters) wake()
  }
}

/** The reads of one chunk merged into one backend read; the backend's ReadTarget for them all. */
class ReadBatch implements ReadTarget {
  readonly ops: KvOp[] = []
  readonly readers: SequencedRead[] = []
  started = false

  constructor(
    readonly group: Group,
    readonly consistency: ReadConsistency,
  ) {}

  readDone(results: KvOpResult[]): void {
    const readers = this.readers
    for (let i = 0; i < readers.length; i++) {
      const result = results[i]
      const reader = readers[i] as SequencedRead
      if (result === undefined) reader.readFailed(new Error(`backend read returned ${results.length} results for ${this.ops.length} ops`))
      else reader.readResult(result)
    }
    this.group.settleOne()
  }

  readFailed(error: unknown): void {
    for (const reader of this.readers) reader.readFailed(error)
    this.group.settleOne()
  }
}

export class Sequencer {
  private group = new Group('read', null)
  /** Read batches made since the last flush, not yet started. */
  private unstarted: ReadBatch[] = []

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

  /** One write (backend.writeTo) when its turn comes; `target` settles the group. */
  write(write: KvWrite, target: SequencedWrite): void {
    const group = this.enter('write')
    group.pending++
    target.group = group
    if (group.gate === null) this.startWrite(write, target)
    else group.gate.then(() => this.startWrite(write, target))
  }

  private startWrite(write: KvWrite, target: SequencedWrite): void {
    try {
      this.backend.writeTo(write, target)
    } catch (error) {
      target.writeFailed(error)
    }
  }

  /** A read op, merged with the other reads of this chunk; starts at the next flush. */
  read(op: KvOp, consistency: ReadConsistency, reader: SequencedRead): void {
    const group = this.enter('read')
    let batch = group.batch
    if (batch === null || batch.started || batch.consistency !== consistency || batch.ops.length >= readBatchOpsMax) {
      batch = new ReadBatch(group, consistency)
      group.batch = batch
      group.pending++
      this.unstarted.push(batch)
    }
    batch.ops.push(op)
    batch.readers.push(reader)
  }

  /** Starts the read batches of the chunk just read (the connection calls it after each chunk). */
  flush(): void {
    const batches = this.unstarted
    if (batches.length === 0) return
    this.unstarted = []
    for (const batch of batches) {
      batch.started = true
      const group = batch.group
      if (group.batch === batch) group.batch = null
      if (group.gate === null) this.startRead(batch)
      else group.gate.then(() => this.startRead(batch))
    }
  }

  private startRead(batch: ReadBatch): void {
    try {
      this.backend.readTo(batch.ops, batch.consistency, batch)
    } catch (error) {
      batch.readFailed(error)
    }
  }

  private enter(kind: WorkKind): Group {
    if (this.group.kind !== kind) {
      const previous = this.group
      this.group = new Group(kind, previous.pending === 0 ? null : previous.idle())
    }
    return this.group
  }
}
