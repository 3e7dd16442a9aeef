// The JSON of GET /status: this node's view from ClientBackend.info(), plus,
// when the runtime provides it, what the status page needs and scripts may
// want too (README, "GET /status"): per-member replication progress and
// connection state, recent load, fsync latency, leader changes and snapshot
// counts. The types live here because the HTTP shim owns the payload; the
// node's wiring (lib/app) fills them in.
import type { NodeInfo } from '../../replica/client-api.js'

/** What this node knows about one member beyond its configuration entry. */
export interface MemberDetail {
  /** Highest log index known replicated on the member; known only on the leader, else null. */
  readonly match: number | null
  /** The leader's last index minus `match`; null off the leader. */
  readonly lag: number | null
  /** Since the leader last heard from the member; null off the leader. */
  readonly lastContactMs: number | null
  /** The leader's replication state for the member (Raft progress); null off the leader. */
  readonly state: 'probe' | 'replicate' | 'snapshot' | null
  /** This node's outbound peer connection to the member; 'self' for this node. */
  readonly connection: 'self' | 'connected' | 'connecting' | 'down'
}

/** Request rates and latency over one interval, estimated from the /metrics histograms. */
export interface LoadSample {
  /** Wall-clock end of the interval on this node (ms since the epoch). */
  readonly atMs: number
  readonly intervalMs: number
  readonly writesPerSec: number
  readonly readsPerSec: number
  /** Quantiles as histogram_quantile() computes them: linear within a bucket; null with no requests. */
  readonly writeP50Ms: number | null
  readonly writeP99Ms: number | null
  readonly readP50Ms: number | null
  readonly readP99Ms: number | null
  /** Log batches written and fsynced per second, and their latency. */
  readonly fsyncsPerSec: number
  readonly fsyncP50Ms: number | null
  readonly fsyncP99Ms: number | null
}

/** A change of leader or term seen by this node. */
export interface LeaderChange {
  readonly atMs: number
  readonly term: number
  /** The leader this node follows from then on; null while it knows none (an election). */
  readonly leader: string | null
}

export interface SnapshotCount {
  readonly count: number
  /** Wall-clock time of the newest one; null when there was none. */
  readonly lastAtMs: number | null
}

export interface StatusDetail {
  /** This node's wall clock when the answer was made: the page measures ages against it, not its own clock. */
  readonly nowMs: number
  readonly startedAtMs: number
  readonly incarnation: string
  readonly firstIndex: number
  readonly lastIndex: number
  readonly members: ReadonlyMap<string, MemberDetail>
  /** Over the last few seconds (`load.intervalMs`). */
  readonly load: LoadSample | null
  /** One sample a second, oldest first, bounded (the page's charts). */
  readonly loadHistory: readonly LoadSample[]
  /** Oldest first, bounded; the first is what the node saw when it started. */
  readonly leaderChanges: readonly LeaderChange[]
  /** Saved here, installed from the leader, sent to followers (completed transfers) since start. */
  readonly snapshots: { readonly saved: SnapshotCount; readonly installed: SnapshotCount; readonly sent: SnapshotCount }
}

export function statusBody(info: NodeInfo, detail: StatusDetail | null): Record<string, unknown> {
  const base = {
    id: info.id,
    role: info.role,
    term: info.term,
    leader: info.leaderId,
    leaderRespAddr: info.leaderRespAddr,
    commitIndex: info.commitIndex,
    appliedIndex: info.appliedIndex,
    snapshotIndex: info.snapshotIndex,
    // Test-only switches that are on (RAFTKV_TEST_MODE); [] on any production node.
    unsafeSwitches: info.unsafeSwitches ?? [],
  }
  // With each member's incarnation, as /cluster/status and RAFT STATUS show it.
  if (detail === null) return { ...base, members: info.members }
  const { members, ...rest } = detail
  return {
    ...base,
    ...rest,
    members: info.members.map((m) => ({ ...m, ...(members.get(m.id) ?? unknownMember) })),
  }
}

const unknownMember: MemberDetail = Object.freeze({ match: null, lag: null, lastContactMs: null, state: null, connection: 'down' })
