// GET /cluster/backup: the node's state machine as a backup file (lib/backup),
// streamed as bytes. `?consistency=linearizable` (the default) first confirms
// the commit index with the leader (ReadIndex), so the backup holds every
// write acknowledged before the request; `stale` takes this node's state as
// it is, without a leader (a cluster that lost its quorum can still be saved).
import type http from 'node:http'
import type { SnapshotMeta } from '../../raft/types.js'
import type { ReadConsistency } from '../../replica/client-api.js'
import { HttpError, sendJson } from './http-io.js'

export interface BackupFile {
  readonly meta: SnapshotMeta
  readonly clusterId: string
  /** The file's bytes, in parts (see lib/backup/backup-file.ts). */
  readonly parts: readonly Buffer[]
}

/** Takes a backup; null when the node stopped or installed a snapshot meanwhile. */
export type TakeBackup = (consistency: ReadConsistency) => Promise<BackupFile | null>

export async function backupRoute(takeBackup: TakeBackup, response: http.ServerResponse, url: URL): Promise<void> {
  const consistency = url.searchParams.get('consistency') ?? 'linearizable'
  if (consistency !== 'linearizable' && consistency !== 'stale') {
    throw new HttpError(400, `consistency must be linearizable or stale, not ${JSON.stringify(consistency.slice(0, 64))}`)
  }
  const backup = await takeBackup(consistency)
  if (backup === null) {
    sendJson(response, 503, { error: 'the node changed its state machine while the backup was taken; try again' }, { 'Retry-After': '1' })
    return
  }
  const bytes = backup.parts.reduce((sum, part) => sum + part.length, 0)
  response.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': bytes,
    'X-Raftkv-Index': String(backup.meta.index),
    'X-Raftkv-Term': String(backup.meta.term),
    'X-Raftkv-Cluster-Id': backup.clusterId,
  })
  for (const part of backup.parts) response.write(part)
  response.end()
}
