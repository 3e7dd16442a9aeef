// A node's start from its data directory: storage opened and recovered, the
// directory's incarnation drawn on first use, and either the state it
// recovered or — for a first node without JOIN — a new one-member cluster.
import { formatHostPort, type NodeConfig } from '../config/node-config.js'
import { KvStateMachine } from '../kv/state-machine.js'
import { RaftNode } from '../raft/raw-node.js'
import { initialLastIndex, type Incarnation, type InitialState } from '../raft/types.js'
import { NodeStorage, type RecoveredState } from '../storage/node-storage.js'
import type { Logger } from '../util/logger.js'
import { encodeMemberAddrs } from './member-addr.js'
import type { RuntimeIo } from './runtime-io.js'

/** Metadata keys (NodeStorage.getMeta); lib/backup writes them too, when it seeds a data directory from a backup. */
export const clusterIdKey = 'clusterId'
/** This data directory's incarnation (raft/types.ts): drawn once, when the directory is first used. */
export const incarnationKey = 'incarnation'
/** '1' from a join's acceptance until a configuration lists the node (MembershipWatch: its status says 'joining'). */
export const joinPendingKey = 'joinPending'

export interface OpenedNode {
  readonly storage: NodeStorage
  readonly initial: InitialState
  readonly kv: KvStateMachine
  /** '' for a node that has yet to join. */
  readonly clusterId: string
  readonly incarnation: Incarnation
}

/** Opens storage and recovers state, or bootstraps a new cluster, all through `io`. */
export async function openNode(config: NodeConfig, logger: Logger, io: RuntimeIo): Promise<OpenedNode> {
  const { storage, state } = await NodeStorage.open({
    fs: io.fs,
    clock: io.clock,
    dir: config.dataDir,
    fsync: config.fsync,
    segmentBytesMax: config.segmentBytesMax,
    preallocateSegments: config.preallocateSegments,
    trackSyncedLengths: config.testMode && config.trackSyncedLengths,
    highWaterFile: config.highWaterFile,
    replayHeldBytesMax: config.logCacheBytes,
    logger,
  })
  let clusterId = storage.getMeta(clusterIdKey) ?? ''
  // Drawn when the directory is first used (also for one written before
  // incarnations existed: its config lists it with none, which is never
  // checked). A wiped directory gets a new one, so the cluster cannot
  // mistake this node for the member it was before the wipe.
  let incarnation = storage.getMeta(incarnationKey) ?? ''
  const drawn = incarnation === ''
  if (drawn) incarnation = io.random.hex(8)
  // Before the directory takes a new incarnation: the record outside it must
  // name that incarnation first (high-water-file.ts). Refuses a copied-back directory.
  try {
    await storage.adoptHighWater(incarnation, state.fresh)
  } catch (error) {
    await storage.close()
    throw error
  }
  if (drawn) await storage.setMeta(incarnationKey, incarnation)
  if (clusterId === '' && config.join === null) {
    const initial = RaftNode.bootstrapState({ id: config.nodeId, addr: selfMemberAddr(config), role: 'voter', incarnation })
    // A bootstrap stopped by a disk error or a crash before the cluster id
    // was stored left an empty log or exactly its own record: it is finished
    // now instead of refusing to start (found by the runtime simulator).
    const stored = holdsOnly(state, initial)
    if (!stored && !holdsOnly(state, RaftNode.emptyState())) {
      await storage.close()
      throw new Error(`DATA_DIR ${config.dataDir} holds a log but no cluster id: it belongs to an unfinished join; set JOIN or empty the directory`)
    }
    clusterId = io.random.hex(8)
    if (!stored) await storage.persist(initial.hardState, initial.entries)
    await storeClusterId(storage, clusterId)
    logger.info({ clusterId }, 'bootstrapped a new cluster with this node as its only member')
    return { storage, initial, kv: new KvStateMachine(), clusterId, incarnation }
  }
  const snap = state.snapshot
  const initial: InitialState = {
    hardState: state.hardState,
    snapshot: snap?.meta ?? { index: 0, term: 0, config: { members: [] } },
    released: state.released,
    entries: state.entries,
  }
  const kv = snap === null ? new KvStateMachine() : await restoreSnapshot(storage, config.snapshotChunkBytes)
  if (!state.fresh) logger.info({ term: state.hardState.term, commit: state.hardState.commit, entries: initialLastIndex(initial) - initial.snapshot.index, entriesInMemory: state.entries.length, snapshotIndex: initial.snapshot.index }, 'recovered state')
  return { storage, initial, kv, clusterId, incarnation }
}

/** The state machine from the snapshot recovery chose, read from its file chunk by chunk. */
async function restoreSnapshot(storage: NodeStorage, chunkBytes: number): Promise<KvStateMachine> {
  const reader = await storage.openSnapshot()
  if (reader === null) {
    await storage.close()
    throw new Error('the snapshot recovery checked could not be opened again to restore from')
  }
  try {
    return await KvStateMachine.restoreFrom(reader, chunkBytes)
  } catch (error) {
    await storage.close()
    throw error
  } finally {
    await reader.close()
  }
}

/** Remembers the cluster a joining node was accepted into. */
export function storeClusterId(storage: NodeStorage, clusterId: string): Promise<void> {
  return storage.setMeta(clusterIdKey, clusterId)
}

/** This node's member address: its raft, resp and http addresses packed (member-addr.ts). */
export function selfMemberAddr(config: NodeConfig): string {
  return encodeMemberAddrs({ raft: formatHostPort(config.raftAddr), resp: formatHostPort(config.respAddr), http: formatHostPort(config.httpAddr) })
}

/** Whether recovered storage holds exactly `initial` (hard state and entries, no snapshot). */
function holdsOnly(state: RecoveredState, initial: InitialState): boolean {
  const hs = state.hardState
  return state.snapshot === null && state.released === null && hs.term === initial.hardState.term && hs.vote === initial.hardState.vote && hs.commit === initial.hardState.commit &&
    JSON.stringify(state.entries) === JSON.stringify(initial.entries)
}
