// The messages nodes exchange over peer connections: every raft Message plus
// the runtime's own requests (join, forwarded writes, snapshot chunks, admin).
// One discriminated union on `type`, encoded on the wire as one Avro union
// (see wire-schema.ts), so a frame never needs a separate type tag.
import type { Incarnation, Message, NodeId, SnapshotMeta } from '../raft/types.js'

/** A node asks any member to add it to the cluster (as a learner first). */
export interface JoinRequest {
  readonly type: 'JoinRequest'
  readonly requestId: string
  readonly id: NodeId
  readonly addr: string
  /** The joining node's data-directory incarnation; '' from a node that has none (never checked). */
  readonly incarnation: Incarnation
}
/** `clusterId` lets the new node adopt the cluster's id; `leaderHint` is '' when unknown. */
export interface JoinResponse {
  readonly type: 'JoinResponse'
  readonly requestId: string
  readonly ok: boolean
  readonly error: string
  readonly clusterId: string
  readonly leaderHint: string
}
/**
 * A client write forwarded by a follower to the leader. `requestId` is unique
 * per client write so that a retried forward is applied at most once.
 */
export interface ForwardRequest {
  readonly type: 'ForwardRequest'
  readonly requestId: string
  readonly data: Buffer
}
export interface ForwardResponse {
  readonly type: 'ForwardResponse'
  readonly requestId: string
  readonly ok: boolean
  readonly result: Buffer
  readonly errorCode: string
  readonly error: string
}
/**
 * One bounded piece of a snapshot's bytes at `offset` of `totalBytes`; `crc` is
 * the CRC32C of `data`. The receiver acknowledges each chunk so the sender can
 * keep a bounded window in flight and resume after a dropped connection.
 */
export interface SnapshotChunk {
  readonly type: 'SnapshotChunk'
  readonly term: number
  readonly from: NodeId
  readonly to: NodeId
  readonly meta: SnapshotMeta
  readonly offset: number
  readonly totalBytes: number
  readonly data: Buffer
  readonly crc: number
  /** The stamps of the Snapshot message this stream carries (see raft/types.ts). */
  readonly fromIncarnation: Incarnation
  readonly toIncarnation: Incarnation
  /** The sender's cluster clock (see raft/types.ts MessageBase.clockMs); absent or 0: unknown. */
  readonly clockMs?: number
}
/** `nextOffset` is where the receiver wants the stream to continue; ok=false asks for a restart. */
export interface SnapshotChunkAck {
  readonly type: 'SnapshotChunkAck'
  readonly term: number
  readonly from: NodeId
  readonly to: NodeId
  readonly index: number
  readonly nextOffset: number
  readonly ok: boolean
}
/** An operator command (status, add/remove member, transfer leadership). */
export interface AdminRequest {
  readonly type: 'AdminRequest'
  readonly requestId: string
  readonly op: string
  readonly args: readonly string[]
}
/** `body` is JSON text. */
export interface AdminResponse {
  readonly type: 'AdminResponse'
  readonly requestId: string
  readonly ok: boolean
  readonly error: string
  readonly body: string
}

export type RuntimeMessage =
  | JoinRequest
  | JoinResponse
  | ForwardRequest
  | ForwardResponse
  | SnapshotChunk
  | SnapshotChunkAck
  | AdminRequest
  | AdminResponse

export type WireMessage = Message | RuntimeMessage

/**
 * The largest integer a WireMessage field may hold: avsc refuses longs beyond
 * ±(2^53 - 2), whose zigzag form would lose precision. Terms, indexes and byte
 * offsets stay far below; encoding a larger value throws.
 */
export const WIRE_INTEGER_MAX = Number.MAX_SAFE_INTEGER - 1
export type WireMessageType = WireMessage['type']

/** Types whose `from`/`to` fields name nodes and must match the authenticated peer. */
const ADDRESSED_TYPES: ReadonlySet<WireMessageType> = new Set<WireMessageType>([
  'PreVote',
  'Vote',
  'PreVoteResp',
  'VoteResp',
  'Append',
  'AppendResp',
  'Heartbeat',
  'HeartbeatResp',
  'Snapshot',
  'TimeoutNow',
  'ReadIndex',
  'ReadIndexResp',
  'SnapshotChunk',
  'SnapshotChunkAck',
])

/** Messages that carry `from`/`to`: raft messages and snapshot chunks. */
export function isAddressed(msg: WireMessage): msg is Message | SnapshotChunk | SnapshotChunkAck {
  return ADDRESSED_TYPES.has(msg.type)
}

/**
 * Messages allowed on a connection whose dialer does not know the cluster id
 * yet (a joining node, an operator's CLI): only requests that cannot carry raft
 * state. See handshake.ts for the rule.
 */
export function isAllowedWithoutClusterId(msg: WireMessage): boolean {
  return msg.type === 'JoinRequest' || msg.type === 'AdminRequest'
}
