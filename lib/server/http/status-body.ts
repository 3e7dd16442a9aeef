// GET /status: this node's view (backend.info()), members with their
// data-directory incarnations as /cluster/status and RAFT STATUS show them.
import type { ClientBackend } from '../../replica/client-api.js'

export function statusBody(backend: ClientBackend): unknown {
  const info = backend.info()
  return {
    id: info.id,
    role: info.role,
    term: info.term,
    leader: info.leaderId,
    leaderRespAddr: info.leaderRespAddr,
    commitIndex: info.commitIndex,
    appliedIndex: info.appliedIndex,
    snapshotIndex: info.snapshotIndex,
    members: info.members,
  }
}
