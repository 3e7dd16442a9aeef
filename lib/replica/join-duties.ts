// Joining: a node started with JOIN asks the cluster to add it (retrying
// until it is a member), and every member answers such requests — the leader
// adds the node as a learner, a follower relays to the leader.
import { formatHostPort, type NodeConfig } from '../config/node-config.js'
import type { Incarnation, NodeId } from '../raft/types.js'
import type { JoinRequest, WireMessage } from '../transport/wire-message.js'
import { sleepOn } from '../util/clock.js'
import { decodeMemberAddrs } from './member-addr.js'
import { memberAddrsIn, peerDialAddr, type ReplicaContext } from './replica-context.js'

const joinRequestTimeoutMs = 10_000
/** Join retries back off from the first delay to the last, doubling. */
const joinRetryDelayMsFirst = 200
const joinRetryDelayMsMax = 2000
/** A follower relaying a join waits this long for the leader's answer (below the joiner's own timeout). */
const joinRelayTimeoutMs = 8000

type JoinContext = Pick<ReplicaContext, 'id' | 'incarnation' | 'config' | 'logger' | 'clock' | 'random' | 'raft' | 'transport' | 'proposals' | 'isStopped' | 'clusterId' | 'kick'>

export class JoinDuties {
  constructor(
    private readonly ctx: JoinContext,
    /** This node's member address (raft, resp and http addresses packed). */
    private readonly selfAddr: string,
  ) {}

  /** Asks the cluster, through JOIN, to add this node; retries until it is a member and `accepted` has stored the cluster id. */
  async joinCluster(accepted: (clusterId: string) => Promise<void>): Promise<void> {
    const { ctx } = this
    const joinAddr = formatHostPort(ctx.config.join as NonNullable<NodeConfig['join']>)
    let delayMs = joinRetryDelayMsFirst
    for (let attempt = 1; !ctx.isStopped(); attempt++) {
      try {
        const join: JoinRequest = { type: 'JoinRequest', requestId: ctx.random.hex(8), id: ctx.id, addr: this.selfAddr, incarnation: ctx.incarnation }
        const res = await ctx.transport.request(joinAddr, join, joinRequestTimeoutMs)
        if (res.type === 'JoinResponse' && res.ok) {
          await accepted(res.clusterId)
          ctx.logger.info({ via: joinAddr, clusterId: res.clusterId }, 'joined the cluster as a learner; will be promoted once caught up')
          return
        }
        const error = res.type === 'JoinResponse' ? res.error : `unexpected ${res.type}`
        ctx.logger.warn({ via: joinAddr, attempt, error }, 'join refused; retrying')
      } catch (err) {
        ctx.logger.warn({ via: joinAddr, attempt, error: (err as Error).message }, 'join request failed; retrying')
      }
      await sleepOn(ctx.clock, delayMs)
      delayMs = Math.min(delayMs * 2, joinRetryDelayMsMax)
    }
  }

  /**
   * Any member accepts a join: the leader adds the node, a follower relays to
   * the leader. A node that is already a member, at the same address, under
   * another incarnation lost its data directory and came back under its old id: the leader
   * replaces it (removes the old incarnation, then adds the new one as a
   * learner, promoted once caught up), one single-server change at a time.
   */
  async onJoinRequest(req: JoinRequest, reply: (m: WireMessage) => void): Promise<void> {
    const { ctx } = this
    const { requestId, id, addr, incarnation } = req
    const respond = (ok: boolean, error: string): void => {
      const leader = ctx.raft.leaderId()
      const hint = leader === null ? '' : (memberAddrsIn(ctx, leader)?.raft ?? '')
      reply({ type: 'JoinResponse', requestId, ok, error, clusterId: ok ? ctx.clusterId() : '', leaderHint: hint })
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || decodeMemberAddrs(addr) === null) {
      respond(false, 'invalid node id or address')
      return
    }
    const st = ctx.raft.status()
    const existing = st.config.members.find((m) => m.id === id)
    if (existing !== undefined && existing.addr !== addr) {
      // Only a node back at the address it was added with is replaced
      // automatically: a second process misconfigured with a member's
      // NODE_ID must not be able to remove that member.
      respond(false, `node id ${id} is already a member with address ${existing.addr}; remove it first`)
      return
    }
    if (existing !== undefined && (existing.incarnation ?? '') === incarnation) {
      respond(true, '')
      return
    }
    if (st.role !== 'leader') {
      await this.relayToLeader(req, reply, respond)
      return
    }
    if (existing !== undefined) {
      if (id === ctx.id) {
        respond(false, `node id ${id} is this leader's own id: two processes share one NODE_ID`)
        return
      }
      const removed = await this.removeOldIncarnation(id, existing.incarnation ?? '', incarnation)
      if (removed !== '') {
        respond(false, removed)
        return
      }
    }
    const r = ctx.raft.proposeConfChange({ op: 'addLearner', id, addr, incarnation })
    ctx.kick()
    if (!r.ok) {
      respond(false, `cannot add ${id} now (${r.reason}${r.detail === undefined ? '' : `: ${r.detail}`}); retry`)
      return
    }
    ctx.logger.info({ member: id, addr, incarnation }, 'adding a learner')
    const outcome = await ctx.proposals.wait(r.index, r.term)
    respond(outcome.t === 'applied' || ctx.raft.termAt(r.index) === r.term, outcome.t === 'applied' ? '' : 'the change was lost; retry')
  }

  /**
   * First half of replacing a member that came back with an empty data
   * directory: remove its old incarnation (which still counts as a voter and
   * can never answer again). Returns '' once that is applied, else why not.
   */
  private async removeOldIncarnation(id: NodeId, old: Incarnation, next: Incarnation): Promise<string> {
    const { ctx } = this
    ctx.logger.warn(
      { member: id, oldIncarnation: old === '' ? '(unknown)' : old, incarnation: next },
      `node ${id} came back with an empty data directory: replacing its old incarnation (remove it, then re-add it as a learner; it is promoted once caught up)`,
    )
    const r = ctx.raft.proposeConfChange({ op: 'remove', id })
    ctx.kick()
    if (!r.ok) return `cannot replace ${id}'s old incarnation now (${r.reason}${r.detail === undefined ? '' : `: ${r.detail}`}); retry`
    const outcome = await ctx.proposals.wait(r.index, r.term)
    if (outcome.t !== 'applied' && ctx.raft.termAt(r.index) !== r.term) return 'the removal of the old incarnation was lost; retry'
    return ''
  }

  private async relayToLeader(req: JoinRequest, reply: (m: WireMessage) => void, respond: (ok: boolean, error: string) => void): Promise<void> {
    const leader = this.ctx.raft.leaderId()
    const leaderAddr = leader === null ? null : peerDialAddr(this.ctx, leader)
    if (leaderAddr === null) {
      respond(false, 'no leader known; retry')
      return
    }
    try {
      const res = await this.ctx.transport.request(leaderAddr, req, joinRelayTimeoutMs)
      reply(res)
    } catch (err) {
      respond(false, `could not reach the leader: ${(err as Error).message}`)
    }
  }
}
