// Membership changes, one server at a time (Raft thesis §4.1): what a change
// makes of a configuration, and the questions the algorithm asks of one.
// A configuration is an immutable value; these functions never modify it.
import { unreachable } from '../util/assert.js'
import type { ConfChange, Config, Incarnation, Member, NodeId } from './types.js'
import { sameIncarnation } from './types.js'

/** The configuration after one change, or a reason it is invalid. */
export function applyConfChange(config: Config, cc: ConfChange): Config | string {
  const members = config.members
  const existing = members.find((mm) => mm.id === cc.id)
  switch (cc.op) {
    case 'addLearner': {
      if (existing !== undefined) return `node ${cc.id} is already a member`
      const incarnation = cc.incarnation ?? ''
      return { members: [...members, { id: cc.id, addr: cc.addr, role: 'learner', ...(incarnation === '' ? {} : { incarnation }) }] }
    }
    case 'promote':
      if (existing === undefined) return `node ${cc.id} is not a member`
      if (existing.role === 'voter') return `node ${cc.id} is already a voter`
      return { members: members.map((mm) => (mm.id === cc.id ? { ...mm, role: 'voter' as const } : mm)) }
    case 'remove': {
      if (existing === undefined) return `node ${cc.id} is not a member`
      const rest = members.filter((mm) => mm.id !== cc.id)
      if (!rest.some((mm) => mm.role === 'voter')) return 'cannot remove the last voter'
      return { members: rest }
    }
    default:
      return unreachable(cc, 'conf change')
  }
}

export function voterIdsOf(config: Config): NodeId[] {
  return config.members.filter((mm) => mm.role === 'voter').map((mm) => mm.id)
}

/** Whether a config entry names this node: its id, and its incarnation ('' on either side: unknown, so yes). */
export function namesSelf(mm: Member, self: NodeId, incarnation: Incarnation): boolean {
  return mm.id === self && sameIncarnation(mm.incarnation ?? '', incarnation)
}

/**
 * Whether `id` is a voter of `config`. For our own id the incarnation must
 * match too: a wiped node replaying a log that lists its previous
 * incarnation as a voter is not that voter (it forgot its votes), so it must
 * not campaign or count itself.
 */
export function isVoterIn(config: Config, id: NodeId, self: NodeId, incarnation: Incarnation): boolean {
  return config.members.some((mm) => mm.id === id && mm.role === 'voter' && (id !== self || namesSelf(mm, self, incarnation)))
}
