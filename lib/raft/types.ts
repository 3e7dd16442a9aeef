// The vocabulary of the Raft core: log entries, cluster configurations,
// messages between nodes and the Ready batch handed to the runtime.
// Everything here is plain data so that storage (Avro on disk) and transport
// (Avro on the wire) can encode it without knowing the algorithm.

export type NodeId = string

/**
 * A random id given to a node's data directory when it is first initialized.
 * A node whose disk was wiped comes back under the same NodeId but a new
 * incarnation, and has forgotten its votes and its log: it must not be
 * counted as the member it used to be. '' means unknown (data written before
 * incarnations existed, or a test that does not care): never checked.
 */
export type Incarnation = string

/** Whether a stamp and an incarnation may name the same data directory ('' matches any). */
export function sameIncarnation(a: Incarnation, b: Incarnation): boolean {
  return a === '' || b === '' || a === b
}

/** A member of the cluster. `addr` is opaque to the core: the runtime uses it to dial peers. */
export interface Member {
  readonly id: NodeId
  readonly addr: string
  readonly role: 'voter' | 'learner'
  /** The incarnation this member was added with; absent or '' = unknown, not checked. */
  readonly incarnation?: Incarnation
}

/**
 * The full membership at some log index. Config entries carry the whole
 * resulting configuration (not a delta), so a node that sees the latest config
 * entry knows every member without replaying history.
 */
export interface Config {
  readonly members: readonly Member[]
}

/** A request to change membership, one server at a time (Raft thesis §4.1). */
export type ConfChange =
  | { readonly op: 'addLearner'; readonly id: NodeId; readonly addr: string; readonly incarnation?: Incarnation }
  | { readonly op: 'promote'; readonly id: NodeId }
  | { readonly op: 'remove'; readonly id: NodeId }

interface EntryBase {
  readonly index: number
  readonly term: number
}
/** A client command; `data` is opaque to the core (the kv layer encodes it). */
export interface NormalEntry extends EntryBase {
  readonly kind: 'normal'
  readonly data: Buffer
}
/** Appended by every new leader so that it can commit entries of its own term (§5.4.2). */
export interface NoopEntry extends EntryBase {
  readonly kind: 'noop'
}
/** Takes effect as soon as it is appended to a log (thesis §4.1), not when committed. */
export interface ConfigEntry extends EntryBase {
  readonly kind: 'config'
  readonly config: Config
}
export type Entry = NormalEntry | NoopEntry | ConfigEntry

/** What must survive a crash besides the log. `vote` is '' when none. */
export interface HardState {
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
}

/** Describes a snapshot; the snapshot's bytes travel outside the core. */
export interface SnapshotMeta {
  readonly index: number
  readonly term: number
  readonly config: Config
}

// ---- Messages ------------------------------------------------------------
// Every message carries the sender, the receiver and the sender's term, and
// is stamped by the core with two incarnations: the sender's own, and the one
// the sender's configuration holds for the receiver. A receiver drops a
// message meant for another incarnation of itself, and one from an
// incarnation of the sender that its own configuration does not list: a node
// wiped and back under its old id then neither votes for nor acks appends
// from a member whose log still lists its previous incarnation (and vice
// versa). Absent or '' = unknown, not checked (older peers, hand-built tests).

interface MessageBase {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
  readonly fromIncarnation?: Incarnation
  readonly toIncarnation?: Incarnation
  /**
   * The cluster clock as the sender knew it, ms since the epoch: a leader's
   * own wall clock (never below what it heard), anyone else's latest leader
   * time. Opaque to the core, which copies in what the runtime gave it
   * (RaftNode.setClockStamp) and never reads it; the runtime decides TTL
   * expiry on reads from it (lib/replica/leader-clock.ts). Absent or 0: unknown.
   */
  readonly clockMs?: number
}

/** Asks for a vote. For PreVote `term` is the term the sender would campaign in. */
export interface VoteRequest extends MessageBase {
  readonly type: 'PreVote' | 'Vote'
  readonly lastIndex: number
  readonly lastTerm: number
  /** Set when campaigning on TimeoutNow: lets voters bypass their leader lease. */
  readonly transfer: boolean
}
export interface VoteResponse extends MessageBase {
  readonly type: 'PreVoteResp' | 'VoteResp'
  readonly reject: boolean
}
export interface AppendRequest extends MessageBase {
  readonly type: 'Append'
  readonly prevIndex: number
  readonly prevTerm: number
  readonly entries: readonly Entry[]
  readonly commit: number
}
/**
 * Acknowledges (reject=false, `index` = last index now matching the leader) or
 * rejects an Append (`index` = the rejected prevIndex; `hintIndex`/`hintTerm`
 * point the leader at where the logs may agree, for fast backtracking).
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'AppendResp'
  readonly reject: boolean
  readonly index: number
  readonly hintIndex: number
  readonly hintTerm: number
}
/** Keeps followers' leases alive and carries commit; `readSeq` confirms leadership for ReadIndex. */
export interface HeartbeatRequest extends MessageBase {
  readonly type: 'Heartbeat'
  readonly commit: number
  readonly readSeq: number
}
export interface HeartbeatResponse extends MessageBase {
  readonly type: 'HeartbeatResp'
  readonly readSeq: number
}
/** Tells a follower to install a snapshot; the runtime ships the bytes alongside. */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'Snapshot'
  readonly snapshot: SnapshotMeta
}
/** Leadership transfer: the receiver campaigns at once. */
export interface TimeoutNowRequest extends MessageBase {
  readonly type: 'TimeoutNow'
}
/** A follower asks the leader for a read index on behalf of its clients. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'ReadIndex'
  readonly ctx: string
}
/** `index` is the safe read index, or -1 when the leader could not serve it. */
export interface ReadIndexResponse extends MessageBase {
  readonly type: 'ReadIndexResp'
  readonly ctx: string
  readonly index: number
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNowRequest
  | ReadIndexRequest
  | ReadIndexResponse

export type MessageType = Message['type']

// ---- Ready ----------------------------------------------------------------

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader'

/** A read that became safe: serve it once applied index ≥ `index`. index -1: failed, retry. */
export interface ReadState {
  readonly ctx: string
  readonly index: number
}

/**
 * One batch of work for the runtime, handled in this order:
 *  1. send `messagesNow` (they do not depend on this batch being durable —
 *     the leader's appends go out while it writes its own log, thesis §10.2.1);
 *  2. if `snapshot` is set, install it (state machine and storage), then
 *     persist `hardState` (if set) and append `entries` (entries[0].index may
 *     overwrite a conflicting suffix: truncate from there) — one fsync;
 *  3. send `messagesAfterPersist`;
 *  4. apply `committed` in order; serve `readStates` once applied ≥ index;
 *  5. call `advance(ready)`.
 * An entry's `data` (here, in messages, and in RaftNode.interim()) may be a
 * view into the log's slabs, which are reused once released: it stays valid
 * until this Ready is advanced. Whatever keeps bytes longer copies them.
 */
export interface Ready {
  readonly hardState: HardState | null
  readonly snapshot: SnapshotMeta | null
  readonly entries: readonly Entry[]
  readonly messagesNow: readonly Message[]
  readonly messagesAfterPersist: readonly Message[]
  readonly committed: readonly Entry[]
  readonly readStates: readonly ReadState[]
}

/** Injected randomness: an integer in [0, n). */
export type RandomInt = (n: number) => number

/**
 * Where the core reads back log entries whose data it no longer holds in
 * memory (LOG_CACHE_BYTES; etcd's Storage.Entries): entries [lo, hi) as this
 * node stored them durably, contiguous from lo, at most about bytesMax bytes
 * of them (as the source measures them; the core bounds hi by its own
 * estimate first) but at least one. Synchronous, so the core stays a pure
 * function of its inputs; null (or fewer) when they cannot be read, e.g. a
 * segment that compaction removed: the core then sends a snapshot.
 */
export interface EntrySource {
  entries(lo: number, hi: number, bytesMax: number): Entry[] | null
}

/** `e`'s data when it is the normal entry at `index`, else null (absent, another index, or a noop or config entry). */
export function normalEntryData(e: Entry | undefined, index: number): Buffer | null {
  return e !== undefined && e.index === index && e.kind === 'normal' ? e.data : null
}

/** How an entry's kind is coded in columns: the log's ring (entry-ring.ts) and ReleasedEntries.kinds. */
export const KIND_NORMAL = 0
export const KIND_NOOP = 1
export const KIND_CONFIG = 2
export type EntryKindCode = typeof KIND_NORMAL | typeof KIND_NOOP | typeof KIND_CONFIG

/**
 * Stored entries whose data a node does not hold in memory when it starts: a
 * log replayed at start-up keeps only its newest LOG_CACHE_BYTES of entry
 * data, as the running log does (raft-log.ts), and the older entries come
 * as columns (about 13 bytes an entry, where an Entry with its Buffer cost
 * hundreds). The core reasons about every index from these, and reads the
 * data back through its EntrySource when it applies or sends them.
 */
export interface ReleasedEntries {
  /** Entries snapshot.index + 1 ..= snapshot.index + terms.length; kinds and dataBytes are as long. */
  readonly terms: Float64Array
  /** KIND_NORMAL, KIND_NOOP or KIND_CONFIG. */
  readonly kinds: Uint8Array
  /** A normal entry's data length; 0 for the others. */
  readonly dataBytes: Uint32Array
  /** The config of every config entry among them, in index order. */
  readonly configs: readonly { readonly index: number; readonly config: Config }[]
}

/** What a node starts from: recovered from storage, or bootstrap/empty. */
export interface InitialState {
  readonly hardState: HardState
  /** The compaction point; index 0 with an empty config when there is none. */
  readonly snapshot: SnapshotMeta
  /** Entries after the snapshot held by storage only; they come before `entries`. Needs an EntrySource. */
  readonly released?: ReleasedEntries | null
  /** Entries after snapshot.index (and after the released ones), contiguous. */
  readonly entries: readonly Entry[]
}

/** The index of the last entry a node starts with (the snapshot's when none). */
export function initialLastIndex(initial: InitialState): number {
  return initial.snapshot.index + (initial.released?.terms.length ?? 0) + initial.entries.length
}
