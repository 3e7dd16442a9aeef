// The runtime's side of the client contract (client-api.ts): where a request
// runs and when it is done. Writes are proposed on the leader or forwarded to
// it with a (clientId, seq) the state machine deduplicates, so a retried
// forward applies at most once; reads wait for a ReadIndex barrier, batched so
// that every read queued while a round is out shares the next one.
import { encodeEnvelope } from '../kv/command-codec.js'
import type { KvApplyResult, KvOp, KvOpResult, KvScanResult, KvWrite } from '../kv/command.js'
import type { NodeId } from '../raft/types.js'
import type { ForwardRequest, WireMessage } from '../transport/wire-message.js'
import type { Logger } from '../util/logger.js'
import { sleepOn, type Clock } from '../util/clock.js'
import { decodeApplyResult, encodeApplyResult } from './apply-result-codec.js'
import { ClusterDownError, NotLeaderError, UnknownOutcomeError, type ClientBackend, type NodeInfo, type NodeRole, type ReadConsistency, type ReadTarget, type WriteTarget } from './client-api.js'
import type { ProposalWaiter } from './proposal-waiters.js'
import type { ProposeFailure } from '../raft/raw-node.js'
import type { AdminCommands } from './admin-commands.js'
import type { Replica } from './replica.js'

/** Forwards in flight from this node at most; beyond it writes wait for a slot. */
const forwardsInFlightMax = 100_000
/** How long one forward attempt may wait before it is sent again (same seq). */
const forwardAttemptMs = 2000
const leaderPollMs = 20
/** What a removed node answers: no leader will ever answer it, so it says why and where to go. */
const removedMessage = 'this node was removed from the cluster; send requests to a member (CLUSTER NODES on a member lists them)'

interface PendingForward {
  readonly resolve: (r: { ok: true; result: KvApplyResult } | { ok: false; code: string; error: string }) => void
}

export class ReplicaBackend implements ClientBackend {
  /** Identifies this process's requests in the state machine's session table. */
  private readonly clientId: string
  private seq = 0
  private readonly forwards = new Map<string, PendingForward>()
  private barrierQueue: BarrierWaiter[] = []
  private barrierScheduled = false
  /** The ReadIndex round awaiting its answer; while it is out, new reads wait for the next (see scheduleBarrier). */
  private roundInFlight: { readonly abandon: () => void } | null = null
  private readonly clock: Clock
  admin: (op: string, args: readonly string[]) => Promise<string> = () => Promise.reject(new Error('admin commands are not wired'))

  constructor(
    private readonly replica: Replica,
    private readonly movedMode: boolean,
  ) {
    this.clock = replica.clock
    this.clientId = `${replica.id}/${replica.random.hex(6)}`
    replica.addMessageHandler((msg, from, reply) => this.onMessage(msg, from, reply))
    replica.on('leaderChange', () => this.onLeaderChange())
  }

  useAdmin(admin: AdminCommands): void {
    this.admin = (op, args) => admin.run(op, args)
  }

  // ---- Writes -------------------------------------------------------------------

  write(write: KvWrite): Promise<KvApplyResult> {
    return new Promise((resolve, reject) => this.writeTo(write, { writeDone: resolve, writeFailed: reject }))
  }

  writeTo(write: KvWrite, target: WriteTarget): void {
    const seq = ++this.seq
    let data: Buffer
    try {
      data = encodeEnvelope({ nowMs: 0, clientId: this.clientId, seq, write })
    } catch (error) {
      target.writeFailed(error)
      return
    }
    const deadline = this.clock.nowMs() + this.replica.requestTimeoutMs()
    if (this.replica.leaderId() !== this.replica.id || this.replica.isStopped()) {
      this.writeLoop(seq, data, deadline, false).then(
        (result) => target.writeDone(result),
        (error: unknown) => target.writeFailed(error),
      )
      return
    }
    // The common case, on the leader: one proposal, settled straight from
    // the apply (LocalWrite); anything else goes round the loop.
    this.replica.proposeTo(data, new LocalWrite(this, seq, data, deadline, target))
  }

  /** A leader's own proposal was lost or refused: the loop takes over, with the same seq and deadline. */
  retryWrite(w: LocalWrite, refused: boolean): void {
    ;(refused ? sleepOn(this.clock, leaderPollMs) : Promise.resolve())
      .then(() => this.writeLoop(w.seq, w.data, w.deadline, true))
      .then(
        (result) => w.target.writeDone(result),
        (error: unknown) => w.target.writeFailed(error),
      )
  }

  /** Until the deadline: propose here when leading, forward otherwise, wait out elections. */
  private async writeLoop(seq: number, data: Buffer, deadline: number, attemptedBefore: boolean): Promise<KvApplyResult> {
    let attempted = attemptedBefore
    while (this.clock.nowMs() < deadline && !this.replica.isStopped()) {
      const leader = this.replica.leaderId()
      if (leader === null) {
        if (this.replica.removedFromCluster()) break
        await sleepOn(this.clock, leaderPollMs)
        continue
      }
      if (leader !== this.replica.id && this.movedMode) {
        throw new NotLeaderError(this.replica.memberAddrs(leader)?.resp ?? null)
      }
      // The log keeps the buffer it is given (and the leader stamps it): a retry proposes a copy.
      const outcome = leader === this.replica.id ? await this.proposeHere(attempted ? Buffer.from(data) : data) : await this.forward(leader, `${this.clientId}:${seq}`, data, deadline)
      attempted = true
      if (outcome.t === 'done') return checkDuplicate(outcome.result)
      if (outcome.t === 'retryLater') await sleepOn(this.clock, leaderPollMs)
    }
    if (attempted) throw new UnknownOutcomeError()
    throw this.clusterDown()
  }

  /** The error for "no leader answered" (ClusterDownError's own text unless given): a removed node says so, since no leader ever will. */
  private clusterDown(message?: string): ClusterDownError {
    return new ClusterDownError(this.replica.removedFromCluster() ? removedMessage : message)
  }

  private async proposeHere(data: Buffer): Promise<{ t: 'done'; result: KvApplyResult } | { t: 'retry' } | { t: 'retryLater' }> {
    const o = await this.replica.proposeLocal(data)
    if (o.t === 'applied') return { t: 'done', result: o.result }
    return o.t === 'lost' ? { t: 'retry' } : { t: 'retryLater' }
  }

  private async forward(leader: NodeId, requestId: string, data: Buffer, deadline: number): Promise<{ t: 'done'; result: KvApplyResult } | { t: 'retry' } | { t: 'retryLater' }> {
    if (this.forwards.size >= forwardsInFlightMax) return { t: 'retryLater' }
    const msg: ForwardRequest = { type: 'ForwardRequest', requestId, data }
    const answer = await new Promise<{ ok: true; result: KvApplyResult } | { ok: false; code: string; error: string } | null>((resolve) => {
      const timer = this.clock.after(Math.max(1, Math.min(forwardAttemptMs, deadline - this.clock.nowMs())), () => {
        this.forwards.delete(requestId)
        resolve(null)
      })
      this.forwards.set(requestId, {
        resolve: (r) => {
          timer.cancel()
          this.forwards.delete(requestId)
          resolve(r)
        },
      })
      if (!this.replica.sendTo(leader, msg)) {
        this.forwards.get(requestId)?.resolve({ ok: false, code: 'UNREACHABLE', error: 'leader unreachable' })
      }
    })
    if (answer === null) return { t: 'retry' }
    if (answer.ok) return { t: 'done', result: answer.result }
    return { t: 'retryLater' }
  }

  /** A new leader: forwards waiting on the old one are sent again right away. */
  private onLeaderChange(): void {
    for (const f of [...this.forwards.values()]) f.resolve({ ok: false, code: 'LEADERCHANGE', error: 'leader changed' })
    // The core drops the reads it held for the old leader without an answer:
    // retry now, not after forwardAttemptMs. Not synchronously: the Ready that
    // changed the leader may also have confirmed this round (its answer is a
    // promise reaction still to run), and a confirmed round is served.
    const round = this.roundInFlight
    if (round !== null) this.clock.soon(round.abandon)
  }

  private onMessage(msg: WireMessage, _from: NodeId, reply: (m: WireMessage) => void): boolean {
    if (msg.type === 'ForwardRequest') {
      this.serveForward(msg, reply)
      return true
    }
    if (msg.type === 'ForwardResponse') {
      const f = this.forwards.get(msg.requestId)
      if (f === undefined) return true
      if (msg.ok) {
        let result: KvApplyResult
        try {
          result = decodeApplyResult(msg.result)
        } catch {
          f.resolve({ ok: false, code: 'BADRESPONSE', error: 'undecodable forward response' })
          return true
        }
        f.resolve({ ok: true, result })
      } else {
        f.resolve({ ok: false, code: msg.errorCode, error: msg.error })
      }
      return true
    }
    return false
  }

  /** On the leader: propose a follower's write and answer when it is applied (ForwardedWrite). */
  private serveForward(msg: ForwardRequest, reply: (m: WireMessage) => void): void {
    // A copy: msg.data is a view into the socket chunk, which the log must not keep alive.
    this.replica.proposeTo(Buffer.from(msg.data), new ForwardedWrite(msg.requestId, reply, this.replica.logger))
  }

  // ---- Reads ---------------------------------------------------------------------

  read(ops: readonly KvOp[], consistency: ReadConsistency): Promise<KvOpResult[]> {
    return new Promise((resolve, reject) => this.readTo(ops, consistency, { readDone: resolve, readFailed: reject }))
  }

  readTo(ops: readonly KvOp[], consistency: ReadConsistency, target: ReadTarget): void {
    if (this.skipsBarrier(consistency)) {
      let results: KvOpResult[]
      try {
        results = this.readNow(ops)
      } catch (error) {
        target.readFailed(error)
        return
      }
      target.readDone(results)
      return
    }
    // The hot path of every linearizable read: one record, settled from the
    // ReadIndex round's answer (PendingRead).
    this.barrierQueue.push(new PendingRead(this, ops, target, this.clock.nowMs() + this.replica.requestTimeoutMs()))
    this.scheduleBarrier()
  }

  /** A read whose round came back: served now when this node has applied that far, else waited for. */
  serveRead(r: PendingRead, index: number): void {
    if (index >= 0 && index <= this.replica.appliedIndex()) {
      this.readNowTo(r)
      return
    }
    const wait = index >= 0 ? this.replica.waitApplied(index) : this.barrierRetries(r.deadline)
    wait.then(
      () => this.readNowTo(r),
      (error: unknown) => r.target.readFailed(error),
    )
  }

  private readNowTo(r: PendingRead): void {
    let results: KvOpResult[]
    try {
      results = this.readNow(r.ops)
    } catch (error) {
      r.target.readFailed(error)
      return
    }
    r.target.readDone(results)
  }

  // Expiry on reads follows the cluster clock, the one writes' expiries were
  // computed from, not this node's own (see leader-clock.ts).
  private readNow(ops: readonly KvOp[]): KvOpResult[] {
    const nowMs = this.replica.readClockMs()
    return this.replica.readLocal(ops, nowMs)
  }

  async watchVersions(keys: readonly Buffer[], consistency: ReadConsistency): Promise<number[]> {
    await this.barrier(consistency)
    const nowMs = this.replica.readClockMs()
    return this.replica.keyVersions(keys, nowMs)
  }

  async scan(cursor: string, match: Buffer | null, count: number, consistency: ReadConsistency): Promise<KvScanResult> {
    await this.barrier(consistency)
    return this.replica.scanLocal(cursor, match === null ? null : match.toString('latin1'), count, this.replica.readClockMs())
  }

  /**
   * Linearizable: wait until this node has applied everything committed
   * before the read began (ReadIndex). Reads queued while a round is out
   * share the next round (scheduleBarrier).
   */
  private barrier(consistency: ReadConsistency): Promise<void> {
    if (this.skipsBarrier(consistency)) return Promise.resolve()
    return new Promise<void>((resolve, reject) => this.afterBarrier(resolve, reject))
  }

  /**
   * Calls `serve` once this node has applied everything committed before
   * now, or `fail` when no leader confirms a round before the request timeout.
   */
  private afterBarrier(serve: () => void, fail: (error: unknown) => void): void {
    this.readTo([], 'linearizable', { readDone: serve, readFailed: fail })
  }

  private skipsBarrier(consistency: ReadConsistency): boolean {
    // RAFTKV_UNSAFE_STALE_READS: the deliberately broken build the fault suite must catch.
    return consistency === 'stale' || this.replica.staleReadsForced()
  }

  /** A place in the next ReadIndex round, shared with every read queued for it: the safe index, or -1. */
  private barrierRound(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.barrierQueue.push({ roundDone: resolve })
      this.scheduleBarrier()
    })
  }

  private async barrierRetries(deadline: number): Promise<void> {
    while (!this.replica.isStopped() && this.clock.nowMs() < deadline && !this.replica.removedFromCluster()) {
      await sleepOn(this.clock, leaderPollMs)
      const index = await this.barrierRound()
      if (index >= 0) {
        await this.replica.waitApplied(index)
        return
      }
    }
    throw this.clusterDown('no leader confirmed this read in time; try again later')
  }

  /**
   * One round at a time, as etcd's read loop: reads that arrive while a round
   * is out wait for it to come back and then share the next. A round started
   * per event-loop turn instead answered a handful of reads each, and every
   * round costs the leader and a follower a message each way.
   */
  private scheduleBarrier(): void {
    if (this.barrierScheduled || this.roundInFlight !== null) return
    this.barrierScheduled = true
    this.clock.soon(() => {
      this.barrierScheduled = false
      const waiting = this.barrierQueue
      this.barrierQueue = []
      if (waiting.length === 0) return
      const read = this.replica.readIndex()
      let settled = false
      const settle = (index: number): void => {
        if (settled) return
        settled = true
        timer.cancel()
        this.roundInFlight = null
        for (const w of waiting) w.roundDone(index)
        if (this.barrierQueue.length > 0) this.scheduleBarrier()
      }
      const abandon = (): void => {
        if (settled) return
        this.replica.cancelRead(read.ctx)
        settle(-1)
      }
      // A lost ReadIndex message must not hang reads: bound each round.
      const timer = this.clock.after(forwardAttemptMs, abandon)
      this.roundInFlight = { abandon }
      void read.index.then(settle)
    })
  }

  // ---- Info ------------------------------------------------------------------------

  info(): NodeInfo {
    const st = this.replica.status()
    const self = st.config.members.find((m) => m.id === st.id)
    let role: NodeRole = st.role
    if (self === undefined && st.config.members.length > 0) role = this.replica.isJoining() ? 'joining' : 'removed'
    else if (self?.role === 'learner') role = 'learner'
    const leaderAddrs = st.leader === null ? null : this.replica.memberAddrs(st.leader)
    return {
      id: st.id,
      role,
      term: st.term,
      leaderId: st.leader,
      leaderRespAddr: leaderAddrs?.resp ?? null,
      commitIndex: st.commit,
      appliedIndex: this.replica.appliedIndex(),
      snapshotIndex: this.replica.snapshotIndexNow(),
      members: st.config.members.map((m) => {
        const a = this.replica.memberAddrs(m.id)
        return { id: m.id, role: m.role, raftAddr: a?.raft ?? m.addr, respAddr: a?.resp ?? null, httpAddr: a?.http ?? null, incarnation: m.incarnation ?? '' }
      }),
      unsafeSwitches: this.replica.unsafeSwitches(),
    }
  }
}

/** A duplicate whose result is no longer known cannot be reported as done or not done. */
function checkDuplicate(r: KvApplyResult): KvApplyResult {
  if (r.t === 'duplicate' && r.outcome === null) throw new UnknownOutcomeError('the write was retried and an earlier attempt was applied; its result is unknown')
  if (r.t === 'duplicate' && r.outcome !== null) return r.outcome
  return r
}

/** Waits for one shared ReadIndex round: `index` is the safe read index, or -1. */
interface BarrierWaiter {
  roundDone(index: number): void
}

/** One linearizable read batch waiting for its round (no closure per read). */
class PendingRead implements BarrierWaiter {
  constructor(
    private readonly backend: ReplicaBackend,
    readonly ops: readonly KvOp[],
    readonly target: ReadTarget,
    readonly deadline: number,
  ) {}

  roundDone(index: number): void {
    this.backend.serveRead(this, index)
  }
}

/** A leader's own write in the log: settles its target straight from the apply (no promise, no closure). */
class LocalWrite implements ProposalWaiter {
  constructor(
    private readonly backend: ReplicaBackend,
    readonly seq: number,
    readonly data: Buffer,
    readonly deadline: number,
    readonly target: WriteTarget,
  ) {}

  proposalApplied(result: KvApplyResult): void {
    if (result.t !== 'duplicate') this.target.writeDone(result)
    else if (result.outcome !== null) this.target.writeDone(result.outcome)
    else this.target.writeFailed(new UnknownOutcomeError('the write was retried and an earlier attempt was applied; its result is unknown'))
  }

  proposalLost(): void {
    this.backend.retryWrite(this, false)
  }

  proposalRefused(_reason: ProposeFailure): void {
    this.backend.retryWrite(this, true)
  }
}

/** A follower's write proposed on the leader: answers the follower once applied, lost or refused. */
class ForwardedWrite implements ProposalWaiter {
  constructor(
    private readonly requestId: string,
    private readonly reply: (m: WireMessage) => void,
    private readonly logger: Logger,
  ) {}

  proposalApplied(result: KvApplyResult): void {
    let encoded: Buffer
    try {
      encoded = encodeApplyResult(result)
    } catch (error) {
      this.logger.error({ err: error }, 'forwarded write: result not encodable')
      this.fail('LOST', 'result not encodable')
      return
    }
    this.send({ type: 'ForwardResponse', requestId: this.requestId, ok: true, result: encoded, errorCode: '', error: '' })
  }

  proposalLost(): void {
    this.fail('LOST', 'proposal lost to a leader change')
  }

  proposalRefused(reason: ProposeFailure): void {
    this.fail(reason, 'not proposed here')
  }

  private fail(errorCode: string, error: string): void {
    this.send({ type: 'ForwardResponse', requestId: this.requestId, ok: false, result: Buffer.alloc(0), errorCode, error })
  }

  // Called from inside the apply loop: a failing send must not stop it (the follower retries).
  private send(m: WireMessage): void {
    try {
      this.reply(m)
    } catch (error) {
      this.logger.warn({ err: error }, 'forwarded write: answer not sent')
    }
  }
}
