// What the runtime's modules share: the raft core, this node's storage and
// peer network, its io, the applied state, and the few services of the
// Replica that owns them all. Built once by Replica; each module declares
// the part it uses (Pick<ReplicaContext, ...>), so what it may touch is
// written where it is constructed. Internal to lib/replica: other folders
// go through Replica's methods.
import type { EventEmitter } from 'node:events'
import type { NodeConfig } from '../config/node-config.js'
import type { RaftNode } from '../raft/raw-node.js'
import type { Incarnation, NodeId } from '../raft/types.js'
import type { NodeStorage } from '../storage/node-storage.js'
import type { PeerNetwork } from '../transport/peer-network.js'
import type { WireMessage } from '../transport/wire-message.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { RandomSource } from '../util/random-source.js'
import type { AppliedState } from './applied-state.js'
import { decodeMemberAddrs, type MemberAddrs } from './member-addr.js'
import type { ProposalOutcome, ProposalWaiters } from './proposal-waiters.js'

export interface ReplicaEvents {
  fatal: [Error]
  leaderChange: [NodeId | null]
  /** One batch written and fsynced: for the fsync latency histogram. */
  persisted: [durationMs: number, entries: number]
  /** A snapshot saved locally, installed from the leader, or delivered whole to a follower. */
  snapshot: [kind: 'saved' | 'installed' | 'sent', durationMs: number, bytes: number]
}

export interface ReplicaContext {
  readonly id: NodeId
  readonly incarnation: Incarnation
  readonly config: NodeConfig
  readonly logger: Logger
  /** Wall time for timers and deadlines only: TTL expiry follows the cluster clock below. */
  readonly clock: Clock
  readonly random: RandomSource
  readonly raft: RaftNode
  readonly storage: NodeStorage
  readonly transport: PeerNetwork
  readonly state: AppliedState
  readonly proposals: ProposalWaiters
  readonly events: EventEmitter<ReplicaEvents>
  isStopped(): boolean
  /** The cluster this node belongs to; '' until a joining node is accepted. */
  clusterId(): string
  /** Schedules the Ready loop (cheap to call often). */
  kick(): void
  /** Sends to a member, or back on the connection of a node not yet in the configuration. */
  sendTo(to: NodeId, msg: WireMessage): boolean
  proposeLocal(data: Buffer): Promise<ProposalOutcome>
  /** Stops the node: an error it cannot go on from (a failed disk write). */
  fail(err: unknown): void
  /** A peer message's cluster time (clockMs) was heard (see leader-clock.ts). */
  hearClock(clockMs: number): void
  /**
   * The cluster clock now (leader-clock.ts), also handed to the core to stamp
   * on the messages it sends next: call before stepping, ticking or proposing.
   */
  stampClock(): number
  /** The time a read or the leader's expiry sweep decides TTL expiry at (leader-clock.ts). */
  readClockMs(): number
}

/** Where to dial a member: its advertised RAFT_ADDR unless PEER_ADDR_OVERRIDES says otherwise. */
export function peerDialAddr(ctx: Pick<ReplicaContext, 'config' | 'raft'>, id: NodeId): string | null {
  return ctx.config.peerAddrOverrides.get(id) ?? memberAddrsIn(ctx, id)?.raft ?? null
}

/** A member's addresses as the configuration lists them, or null when it is not a member. */
export function memberAddrsIn(ctx: Pick<ReplicaContext, 'raft'>, id: NodeId): MemberAddrs | null {
  const m = ctx.raft.config().members.find((mm) => mm.id === id)
  return m === undefined ? null : decodeMemberAddrs(m.addr)
}
