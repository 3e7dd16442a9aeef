// Seeds a NEW cluster from a backup, as etcdutl's `snapshot restore` does:
// the node named by the env file gets a data directory holding the backup
// as its snapshot, a configuration listing only itself as a voter, a new
// cluster id and a new incarnation. Started, it elects itself and serves the
// backup's keyspace; other nodes join it with JOIN as usual and receive the
// state as a snapshot. Nothing of the old cluster's identity is kept, so no
// node of the old cluster can ever exchange a message with the new one.
import { readdir, rename, rm, rmdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { NodeConfig } from '../config/node-config.js'
import type { SnapshotMeta } from '../raft/types.js'
import { clusterIdKey, incarnationKey, selfMemberAddr } from '../replica/bootstrap.js'
import { NodeStorage } from '../storage/index.js'
import type { RandomSource } from '../util/random-source.js'
import { syncDir, type VerifiedBackup } from './backup-file.js'

/** A restore that cannot go ahead (the target directory holds data, ...). */
export class RestoreError extends Error {
  readonly code = 'ERR_RESTORE'
  constructor(message: string) {
    super(message)
    this.name = 'RestoreError'
  }
}

export interface RestoredNode {
  readonly dataDir: string
  readonly clusterId: string
  readonly incarnation: string
  readonly meta: SnapshotMeta
}

/**
 * Writes config.dataDir from a verified backup. The directory must not
 * exist or be empty. It is built beside the target and renamed into place
 * at the end, so an interrupted restore never leaves a directory a node
 * would start from.
 */
export async function restoreDataDir(config: NodeConfig, backup: VerifiedBackup, random: RandomSource): Promise<RestoredNode> {
  const dataDir = config.dataDir
  const existing = await namesIn(dataDir)
  if (existing !== null && existing.length > 0) {
    throw new RestoreError(`DATA_DIR ${dataDir} is not empty: a restore seeds a new node; point DATA_DIR at a new directory (or empty this one)`)
  }
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${random.hex(4)}`)
  const clusterId = random.hex(8)
  const incarnation = random.hex(8)
  const meta: SnapshotMeta = {
    index: backup.meta.index,
    term: backup.meta.term,
    config: { members: [{ id: config.nodeId, addr: selfMemberAddr(config), role: 'voter', incarnation }] },
  }
  try {
    const { storage } = await NodeStorage.open({ dir: staging, fsync: 'always', segmentBytesMax: config.segmentBytesMax, preallocateSegments: false, highWaterFile: config.highWaterFile })
    try {
      // The node's record outside DATA_DIR names the new directory from the start (a new incarnation).
      await storage.adoptHighWater(incarnation, true)
      await storage.installSnapshot(meta, backup.data)
      // Everything up to the snapshot counts as committed; no vote in its term yet.
      await storage.persist({ term: meta.term, vote: '', commit: meta.index }, [])
      await storage.setMeta(incarnationKey, incarnation)
      await storage.setMeta(clusterIdKey, clusterId)
    } finally {
      await storage.close()
    }
    if (existing !== null) await rmdir(dataDir)
    await rename(staging, dataDir)
    await syncDir(dirname(dataDir))
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    throw error
  }
  return { dataDir, clusterId, incarnation, meta }
}

/** The directory's entries, or null when it does not exist. */
async function namesIn(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}
