// GET /status: this node's view (backend.info()) with each member's
// data-directory incarnation, which info() does not carry. The incarnations
// come from the operator status that /cluster/status and RAFT STATUS serve, so
// the three show the same value and it is built in one place.
import type { ClientBackend } from '../../replica/client-api.js'

export async function statusBody(backend: ClientBackend): Promise<unknown> {
  const info = backend.info()
  const incarnations = memberIncarnations(await backend.admin('status', []))
  return {
    id: info.id,
    role: info.role,
    term: info.term,
    leader: info.leaderId,
    leaderRespAddr: info.leaderRespAddr,
    commitIndex: info.commitIndex,
    appliedIndex: info.appliedIndex,
    snapshotIndex: info.snapshotIndex,
    // '' for a member the operator status does not list (a configuration
    // change between the two reads), as that status writes an unknown one.
    members: info.members.map((member) => ({ ...member, incarnation: incarnations.get(member.id) ?? '' })),
  }
}

/** Incarnation by member id from the operator status JSON; members without one are left out. */
function memberIncarnations(statusJson: string): Map<string, string> {
  const status: unknown = JSON.parse(statusJson)
  const members = isObject(status) && Array.isArray(status['members']) ? (status['members'] as unknown[]) : []
  const incarnations = new Map<string, string>()
  for (const member of members) {
    if (isObject(member) && typeof member['id'] === 'string' && typeof member['incarnation'] === 'string') {
      incarnations.set(member['id'], member['incarnation'])
    }
  }
  return incarnations
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
