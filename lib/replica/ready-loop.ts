// The Ready loop: send what may go now → persist with one fsync → send what
// waited for it → apply → advance. It runs once at the end of every
// event-loop turn in which something happened; while a batch is being
// persisted, new proposals gather for the next one (group commit), and what
// needs no fsync goes ahead at once (runInterim).
import type { Entry, Message, Ready, SnapshotMeta } from '../raft/types.js'
import type { AppliedWaiters } from './applied-waiters.js'
import type { HeldHardState } from './held-hard-state.js'
import type { ReadWaiters } from './read-waiters.js'
import type { ReplicaContext } from './replica-context.js'

/** What the loop hands to the other duties of the runtime. */
export interface ReadyLoopDuties {
  /** Proposals gathered in this turn enter the log. */
  flushProposals(): void
  /** Raft messages out (snapshots go through the snapshot sender). */
  sendAll(messages: readonly Message[]): void
  /** Installs the staged snapshot the core accepted. */
  installSnapshot(meta: SnapshotMeta): Promise<void>
  /** After each batch is advanced: configuration and leader changes, the snapshot trigger. */
  afterAdvance(): void
}

/** The write now in flight: when it started (monotonic), and a number telling it from the next one. */
export interface WriteInFlight {
  readonly startedMonotonicMs: number
  readonly seq: number
}

/** Sees each batch of entries once it is durable, with the term of the entry before the first (undefined if compacted). */
export type StoredObserver = (entries: readonly Entry[], prevTerm: number | undefined) => void

type LoopContext = Pick<ReplicaContext, 'raft' | 'clock' | 'storage' | 'state' | 'proposals' | 'events' | 'isStopped' | 'fail'>

export class ReadyLoop {
  private looping = false
  private turnScheduled = false
  private loopDone: Promise<void> = Promise.resolve()
  private write: WriteInFlight | null = null
  private writeSeq = 0
  /** The simulator's log-matching check; null in production. */
  storedObserver: StoredObserver | null = null

  constructor(
    private readonly ctx: LoopContext,
    private readonly duties: ReadyLoopDuties,
    private readonly hardState: HeldHardState,
    private readonly reads: ReadWaiters,
    private readonly appliedWaiters: AppliedWaiters,
  ) {}

  /** Schedules the loop if it is not running; cheap to call often. */
  kick(): void {
    if (this.ctx.isStopped() || this.turnScheduled) return
    this.turnScheduled = true
    this.ctx.clock.soon(() => this.endOfTurn())
  }

  /** Resolves when the loop's current round is over (the node stops). */
  done(): Promise<void> {
    return this.loopDone
  }

  /** The batch being written now (the disk-stall watchdog), or null. */
  writeInFlight(): WriteInFlight | null {
    return this.write
  }

  /**
   * Runs once at the end of every event-loop turn in which something
   * happened, after all the socket reads of that turn: proposals enter the
   * log as one batch, then the loop starts — or, if it is waiting for an
   * fsync, what needs no fsync goes ahead now (runInterim).
   */
  private endOfTurn(): void {
    this.turnScheduled = false
    if (this.ctx.isStopped()) return
    this.duties.flushProposals()
    if (this.looping) {
      this.runInterim()
      return
    }
    if (!this.ctx.raft.hasReady()) return
    this.looping = true
    this.loopDone = this.runLoop().catch((err: unknown) => this.ctx.fail(err))
  }

  /**
   * While the loop waits for an fsync, what arrived meanwhile need not wait
   * for it: new appends go to followers (the leader's write runs in parallel
   * with replication), commits are applied and answered, reads are released
   * (RaftNode.interim).
   */
  private runInterim(): void {
    const raft = this.ctx.raft
    if (!raft.hasInterim()) return
    const it = raft.interim()
    this.duties.sendAll(it.messages)
    for (const e of it.committed) this.applyEntry(e)
    this.reads.release(it.readStates)
    this.appliedWaiters.release(this.ctx.state.applied)
  }

  private async runLoop(): Promise<void> {
    const raft = this.ctx.raft
    try {
      // Bounded by the work available: every round consumes one Ready.
      while (!this.ctx.isStopped() && raft.hasReady()) {
        await this.handleReady(raft.ready())
      }
    } finally {
      this.looping = false
    }
    if (!this.ctx.isStopped() && raft.hasReady()) this.kick()
  }

  private async handleReady(rd: Ready): Promise<void> {
    const { state, clock } = this.ctx
    state.batchWriting(rd.entries)
    // Read before the write: while it is in flight, a new leader's append may replace what precedes it.
    const prevTerm = this.storedObserver === null || rd.entries.length === 0 ? undefined : this.ctx.raft.termAt((rd.entries[0] as Entry).index - 1)
    this.duties.sendAll(rd.messagesNow)
    if (rd.snapshot !== null) await this.duties.installSnapshot(rd.snapshot)
    // Committed entries are durable on a quorum already, and a read state's
    // index was confirmed by a quorum round: neither depends on this batch's
    // fsync, so clients get their answers now instead of one fsync later
    // (the batch usually holds only new proposals and the commit index).
    if (rd.snapshot === null) this.applyReady(rd)
    const hardState = this.hardState.toWrite(rd)
    if (hardState !== null || rd.entries.length > 0) {
      const started = clock.monotonicMs()
      this.write = { startedMonotonicMs: started, seq: ++this.writeSeq }
      try {
        await this.ctx.storage.persist(hardState, rd.entries)
      } finally {
        this.write = null
      }
      this.ctx.events.emit('persisted', clock.monotonicMs() - started, rd.entries.length)
    }
    state.batchStored(rd.entries)
    if (rd.entries.length > 0) this.storedObserver?.(rd.entries, prevTerm)
    if (this.ctx.isStopped()) return
    this.duties.sendAll(rd.messagesAfterPersist)
    if (rd.snapshot !== null) this.applyReady(rd)
    this.ctx.raft.advance(rd)
    this.appliedWaiters.release(state.applied)
    this.duties.afterAdvance()
  }

  private applyReady(rd: Ready): void {
    for (const e of rd.committed) this.applyEntry(e)
    this.reads.release(rd.readStates)
    this.appliedWaiters.release(this.ctx.state.applied)
  }

  private applyEntry(e: Ready['committed'][number]): void {
    const result = this.ctx.state.apply(e)
    this.ctx.proposals.applied(e.index, e.term, result)
  }
}
