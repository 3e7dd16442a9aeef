// An in-memory ClientBackend for the server tests: one KvStateMachine, writes
// applied at once (encoded and decoded like real log entries), with switches
// for the failures a real cluster produces (no leader, unknown outcome) and a
// record of how writes arrived (to check pipelined writes are batched).
import { encodeEnvelope } from '../../lib/kv/command-codec.js'
import type { KvApplyResult, KvOp, KvOpResult, KvScanResult, KvWrite } from '../../lib/kv/command.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import {
  AdminError,
  ClusterDownError,
  readToViaPromise,
  UnknownOutcomeError,
  writeToViaPromise,
  type ClientBackend,
  type NodeInfo,
  type ReadConsistency,
  type ReadTarget,
  type WriteTarget,
} from '../../lib/replica/client-api.js'

export interface FakeCall {
  readonly kind: 'write' | 'read' | 'watch' | 'scan' | 'admin'
  readonly consistency?: ReadConsistency
  /** Calls issued in the same tick share a batch number. */
  readonly batch: number
}

export class FakeBackend implements ClientBackend {
  readonly machine = new KvStateMachine()
  private index = 0
  private seq = 0
  private batch = 0
  private batchScheduled = false
  readonly calls: FakeCall[] = []
  /** Fail every request as a cluster without a leader would. */
  clusterDown = false
  /** Fail writes as if the leader was lost after forwarding. */
  unknownOutcome = false
  /** Delay before a write or read resolves (ms), to let replies finish out of order. */
  delayMs = 0
  nowMs = Date.now()
  node: NodeInfo = {
    id: 'n1',
    role: 'leader',
    term: 3,
    leaderId: 'n1',
    leaderRespAddr: '127.0.0.1:7001',
    commitIndex: 0,
    appliedIndex: 0,
    snapshotIndex: 0,
    members: [
      { id: 'n1', role: 'voter', raftAddr: '127.0.0.1:7101', respAddr: '127.0.0.1:7001', httpAddr: '127.0.0.1:7201', incarnation: 'inc-n1' },
      { id: 'n2', role: 'voter', raftAddr: '127.0.0.1:7102', respAddr: '127.0.0.1:7002', httpAddr: '127.0.0.1:7202', incarnation: 'inc-n2' },
    ],
  }
  readonly adminCalls: { op: string; args: readonly string[] }[] = []

  private record(kind: FakeCall['kind'], consistency?: ReadConsistency): void {
    if (!this.batchScheduled) {
      this.batchScheduled = true
      setImmediate(() => {
        this.batchScheduled = false
        this.batch++
      })
    }
    this.calls.push(consistency === undefined ? { kind, batch: this.batch } : { kind, consistency, batch: this.batch })
  }

  private async pause(): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
  }

  /** Applies a write directly, as the runtime would after commit. */
  applyNow(write: KvWrite): KvApplyResult {
    const data = encodeEnvelope({ nowMs: this.nowMs, clientId: 'fake', seq: ++this.seq, write })
    const result = this.machine.apply(++this.index, data)
    this.node = { ...this.node, commitIndex: this.index, appliedIndex: this.index }
    return result
  }

  async write(write: KvWrite): Promise<KvApplyResult> {
    this.record('write')
    if (this.clusterDown) throw new ClusterDownError()
    // Apply in call order, as the contract promises, even with a delay.
    const result = this.unknownOutcome ? null : this.applyNow(write)
    await this.pause()
    if (result === null) throw new UnknownOutcomeError()
    return result
  }

  async read(ops: readonly KvOp[], consistency: ReadConsistency): Promise<KvOpResult[]> {
    this.record('read', consistency)
    if (this.clusterDown && consistency === 'linearizable') throw new ClusterDownError()
    await this.pause()
    return ops.map((op) => this.machine.read(op, this.nowMs))
  }

  writeTo(write: KvWrite, target: WriteTarget): void {
    writeToViaPromise(this.write(write), target)
  }

  readTo(ops: readonly KvOp[], consistency: ReadConsistency, target: ReadTarget): void {
    readToViaPromise(this.read(ops, consistency), target)
  }

  async watchVersions(keys: readonly Buffer[], consistency: ReadConsistency): Promise<number[]> {
    this.record('watch', consistency)
    if (this.clusterDown && consistency === 'linearizable') throw new ClusterDownError()
    return keys.map((key) => this.machine.version(key, this.nowMs))
  }

  async scan(cursor: string, match: Buffer | null, count: number, consistency: ReadConsistency): Promise<KvScanResult> {
    this.record('scan', consistency)
    if (this.clusterDown && consistency === 'linearizable') throw new ClusterDownError()
    return this.machine.scan(cursor, match === null ? null : match.toString('latin1'), count, this.nowMs)
  }

  info(): NodeInfo {
    return this.node
  }

  async admin(op: string, args: readonly string[]): Promise<string> {
    this.record('admin')
    this.adminCalls.push({ op, args })
    if (this.clusterDown) throw new ClusterDownError()
    if (op === 'status') return this.statusJson()
    if (op === 'remove' && args[0] === 'nobody') throw new AdminError(`no member 'nobody'`)
    return JSON.stringify({ ok: true, op, args })
  }

  /** What admin('status') answers: a few of the runtime's fields, members with their incarnation. */
  statusJson(): string {
    const members = this.node.members.map((member) => ({ id: member.id, incarnation: member.incarnation }))
    return JSON.stringify({ id: this.node.id, role: this.node.role, members })
  }

  /** Makes this node a follower of `leaderId` (or of nobody). */
  follow(leaderId: string | null): void {
    const leader = this.node.members.find((member) => member.id === leaderId)
    this.node = { ...this.node, role: 'follower', leaderId, leaderRespAddr: leader?.respAddr ?? null }
  }
}
