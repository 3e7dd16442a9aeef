// The contract between the client-facing servers (lib/server/resp, lib/server/http)
// and the runtime (lib/replica). The servers translate a client's request into
// kv types and call a ClientBackend; the runtime decides where it runs (locally,
// forwarded to the leader, after a ReadIndex barrier) and when it is done.
// This file holds only the interface and the errors; the runtime implements it,
// tests implement it in memory (test/server/fake-backend.ts).
import type { KvApplyResult, KvOp, KvOpResult, KvScanResult, KvWrite } from '../kv/command.js'

/**
 * `linearizable` (the default everywhere): the read sees every write
 * acknowledged before it began (ReadIndex, then a local read once applied).
 * `stale`: a local read at once, possibly behind the leader; clients opt in
 * per connection (RESP READONLY) or per request (HTTP ?consistency=stale).
 */
export type ReadConsistency = 'linearizable' | 'stale'

export type NodeRole = 'leader' | 'follower' | 'candidate' | 'precandidate' | 'learner' | 'joining' | 'removed'

export interface MemberInfo {
  readonly id: string
  readonly role: 'voter' | 'learner'
  readonly raftAddr: string
  /** `host:port` of the member's RESP listener, when known. */
  readonly respAddr: string | null
  readonly httpAddr: string | null
  /** The data-directory incarnation the member was added with; '' when unknown (see raft/types.ts). */
  readonly incarnation: string
}

/** A snapshot of this node's view, cheap to take (INFO, /status, CLUSTER SLOTS). */
export interface NodeInfo {
  readonly id: string
  readonly role: NodeRole
  readonly term: number
  /** The leader this node currently follows, or null when it knows none. */
  readonly leaderId: string | null
  /** `host:port` of the leader's RESP listener (for -MOVED and CLUSTER SLOTS), or null. */
  readonly leaderRespAddr: string | null
  readonly commitIndex: number
  readonly appliedIndex: number
  readonly snapshotIndex: number
  readonly members: readonly MemberInfo[]
  /** Test-only switches that are on (RAFTKV_UNSAFE_STALE_READS, ...); absent or empty in production. */
  readonly unsafeSwitches?: readonly string[]
}

/**
 * Where one write's outcome goes: the callback form of ClientBackend.write,
 * so that the hot path allocates no promise per request (a RESP reply slot
 * implements it). Exactly one method is called, once; it may be called from
 * inside the runtime's apply loop, so it must not throw.
 */
export interface WriteTarget {
  writeDone(result: KvApplyResult): void
  /** The errors `write` rejects with. */
  writeFailed(error: unknown): void
}

/** Where one read's results go: the callback form of ClientBackend.read (same rules as WriteTarget). */
export interface ReadTarget {
  /** One result per op, in order. */
  readDone(results: KvOpResult[]): void
  /** The errors `read` rejects with. */
  readFailed(error: unknown): void
}

export interface ClientBackend {
  /**
   * Proposes one write (one log entry; a whole MULTI/EXEC is one write) and
   * resolves with the state machine's result once it is committed and applied
   * here. A follower forwards it to the leader. The runtime adds the envelope
   * (nowMs, clientId, seq) and guarantees at-most-once application.
   *
   * Ordering: writes one caller issues without awaiting each other (a
   * pipeline) are applied in the order of the calls, so the runtime may batch
   * them into one proposal. The servers never issue a read before the writes
   * that precede it on the same connection have settled.
   *
   * Rejects with ClusterDownError (no leader within the bounded wait, nothing
   * was proposed) or UnknownOutcomeError (proposed or forwarded, outcome
   * unknown). In MOVED mode the servers check `info()` themselves and never
   * call `write` on a follower; a runtime may still reject with NotLeaderError
   * (nothing proposed) and the servers answer `-MOVED`.
   */
  write(write: KvWrite): Promise<KvApplyResult>

  /**
   * Runs read-only ops (get, mget, exists, strlen, ttl, expiretime, type,
   * dbsize, dbexpires) against the local state machine and resolves with one result per
   * op, in order. `linearizable` waits for a ReadIndex barrier first (rejects
   * with ClusterDownError when no leader confirms it in time); `stale` runs at
   * once. The ops see one state: no entry is applied between them.
   */
  read(ops: readonly KvOp[], consistency: ReadConsistency): Promise<KvOpResult[]>

  /** `write`, with the outcome handed to `target` instead of a promise (same ordering guarantees). */
  writeTo(write: KvWrite, target: WriteTarget): void

  /** `read`, with the results handed to `target` instead of a promise. */
  readTo(ops: readonly KvOp[], consistency: ReadConsistency, target: ReadTarget): void

  /**
   * WATCH: the current version of each key (KvStateMachine.version), read as
   * `read` would. EXEC sends them back in KvWrite.watches.
   */
  watchVersions(keys: readonly Buffer[], consistency: ReadConsistency): Promise<number[]>

  /** One page of SCAN from the local state machine, after the same barrier as `read`. */
  scan(cursor: string, match: Buffer | null, count: number, consistency: ReadConsistency): Promise<KvScanResult>

  /** This node's current view; synchronous and cheap. */
  info(): NodeInfo

  /**
   * Operator commands shared by RESP `RAFT <op> …` and HTTP `/cluster/<op>`:
   * `status`, `add <id> <raftAddr> [voter|learner]`, `remove <id>`,
   * `transfer-leader <id>`, `snapshot`. `op` is lower-case. Resolves with a
   * JSON text; rejects with AdminError (bad arguments, unknown op) or with
   * the errors above.
   */
  admin(op: string, args: readonly string[]): Promise<string>
}

/** No leader was reachable within the bounded wait; nothing was done. RESP `-CLUSTERDOWN …`, HTTP 503. */
export class ClusterDownError extends Error {
  readonly code = 'CLUSTERDOWN'
  constructor(message = 'no leader is reachable; try again later') {
    super(message)
    this.name = 'ClusterDownError'
  }
}

/**
 * A write was proposed or forwarded, but whether it was applied is unknown
 * (the leader was lost before answering). RESP `-TIMEOUT …`, HTTP 504.
 */
export class UnknownOutcomeError extends Error {
  readonly code = 'TIMEOUT'
  constructor(message = 'the write may or may not have been applied (leader lost before it answered)') {
    super(message)
    this.name = 'UnknownOutcomeError'
  }
}

/** This node is not the leader and will not forward. RESP `-MOVED 0 <leaderRespAddr>`, HTTP 503. */
export class NotLeaderError extends Error {
  readonly code = 'MOVED'
  constructor(readonly leaderRespAddr: string | null) {
    super(leaderRespAddr === null ? 'no known leader' : `leader is at ${leaderRespAddr}`)
    this.name = 'NotLeaderError'
  }
}

/** An operator command with bad arguments or an unknown op. RESP `-ERR …`, HTTP 400. */
export class AdminError extends Error {
  readonly code = 'ERR_ADMIN'
  constructor(message: string) {
    super(message)
    this.name = 'AdminError'
  }
}

/** writeTo for a backend that has only the promise form (tests, decorators). */
export function writeToViaPromise(promise: Promise<KvApplyResult>, target: WriteTarget): void {
  promise.then(
    (result) => target.writeDone(result),
    (error: unknown) => target.writeFailed(error),
  )
}

/** readTo for a backend that has only the promise form. */
export function readToViaPromise(promise: Promise<KvOpResult[]>, target: ReadTarget): void {
  promise.then(
    (results) => target.readDone(results),
    (error: unknown) => target.readFailed(error),
  )
}
