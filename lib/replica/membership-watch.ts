// This node's view of the membership: the peer list follows the
// configuration, leader changes are announced, and a node that may have been
// removed (it is never told) or that peers address under another
// incarnation says so in the log.
import type { Config, NodeId } from '../raft/types.js'
import type { ReplicaContext } from './replica-context.js'
import { peerDialAddr } from './replica-context.js'
import { joinPendingKey } from './bootstrap.js'

/** A node without a leader for this many election timeouts asks a peer whether it is still a member… */
const membershipProbeAfterElectionTimeouts = 3
/** …at most once per this many election timeouts. */
const membershipProbeEveryElectionTimeouts = 10
const membershipProbeTimeoutMs = 2000
/** Peer/incarnation pairs reported as addressing another incarnation, at most. */
const otherIncarnationReportsMax = 64

type WatchContext = Pick<ReplicaContext, 'id' | 'incarnation' | 'config' | 'logger' | 'clock' | 'random' | 'raft' | 'transport' | 'events' | 'clusterId' | 'storage'>

export class MembershipWatch {
  private lastLeader: NodeId | null = null
  private lastConfig: Config | null = null
  /** Membership probe: when this node last knew a leader, and when it last asked a peer. */
  private leaderlessSinceMs: number | null = null
  private lastMembershipProbeMs = 0
  private removedReported = false
  /**
   * Started empty to join (JOIN) and not in any configuration since: until
   * its log holds the leader's entry adding it (a configuration is in force
   * once appended), the configurations it receives (the leader's snapshot,
   * the log before that entry) do not list it, and its status says
   * 'joining' rather than 'removed'.
   */
  private joiningNow: boolean
  /**
   * Whether the data directory says this node is joining (joinPendingKey):
   * written when the join is accepted, so a node restarted before its log
   * holds its addition (it has a cluster id by then) still says 'joining';
   * cleared once a configuration lists it. Kept here as well as in storage
   * so that the clear follows the write even while the write is in flight.
   */
  private joinPendingStored: boolean
  /** Peers already reported as addressing another incarnation of this node ("peer/incarnation"), bounded. */
  private readonly otherIncarnationReported = new Set<string>()

  constructor(private readonly ctx: WatchContext) {
    this.joinPendingStored = ctx.storage.getMeta(joinPendingKey) === '1'
    this.joiningNow = (ctx.clusterId() === '' && ctx.config.join !== null) || this.joinPendingStored
  }

  /**
   * The join was accepted (the node is about to store its cluster id): while
   * no configuration lists it yet, its data directory says it is joining.
   */
  recordJoinPending(): Promise<void> {
    if (!this.joiningNow || this.joinPendingStored) return Promise.resolve()
    this.joinPendingStored = true
    return this.ctx.storage.setMeta(joinPendingKey, '1')
  }

  /** True while this node, started empty with JOIN, has not yet seen itself in a configuration. */
  get joining(): boolean {
    return this.joiningNow
  }

  /** True once a peer has said this node is no longer a member (it is never told directly). */
  get removed(): boolean {
    return this.removedReported
  }

  /** Reacts to leader and configuration changes after each batch. */
  afterAdvance(): void {
    const { ctx } = this
    if (ctx.raft.config() !== this.lastConfig) this.syncPeers()
    const leader = ctx.raft.leaderId()
    if (leader !== this.lastLeader) {
      this.lastLeader = leader
      const st = ctx.raft.status()
      ctx.logger.info({ term: st.term, role: st.role, leader }, leader === null ? 'no leader' : `leader is ${leader}`)
      ctx.events.emit('leaderChange', leader)
    }
  }

  /** Points the peer network at the members of the configuration. */
  syncPeers(): void {
    const { ctx } = this
    const st = ctx.raft.status()
    const wasMember = this.lastConfig?.members.some((m) => m.id === ctx.id) ?? false
    const votersBefore = this.lastConfig?.members.filter((m) => m.role === 'voter').length ?? 0
    this.lastConfig = st.config
    const peers = new Map<NodeId, string>()
    for (const m of st.config.members) {
      if (m.id === ctx.id) continue
      const addr = peerDialAddr(ctx, m.id)
      if (addr !== null) peers.set(m.id, addr)
    }
    ctx.transport.setPeers(peers)
    const isMember = st.config.members.some((m) => m.id === ctx.id)
    if (isMember) {
      this.joiningNow = false
      if (this.joinPendingStored) {
        this.joinPendingStored = false
        // Only the status reads it. A failed write leaves the flag: after a restart the node says 'joining' until a
        // configuration lists it again, or for good if it was removed meanwhile (where it would say 'removed').
        this.ctx.storage.setMeta(joinPendingKey, '').catch((err: unknown) => this.ctx.logger.warn({ err }, 'could not record that this node joined'))
      }
    }
    if (wasMember && !isMember) ctx.logger.warn('this node was removed from the cluster: it will not vote or campaign any more')
    const voters = st.config.members.filter((m) => m.role === 'voter').length
    if (st.role === 'leader' && voters === 2 && votersBefore > 2) ctx.logger.warn('the cluster has only 2 voters: losing either one stops it; add a third')
  }

  /**
   * A removed node is never told (the leader stops replicating to it at
   * once), so after a long time without a leader it asks a peer for the
   * cluster's status, and says so loudly when it is no longer a member.
   */
  checkMembership(): void {
    const { ctx } = this
    const st = ctx.raft.status()
    const nowMs = ctx.clock.nowMs()
    if (st.leader !== null || this.removedReported || ctx.clusterId() === '') {
      this.leaderlessSinceMs = null
      return
    }
    this.leaderlessSinceMs ??= nowMs
    const electionMs = ctx.config.electionTimeoutTicks * ctx.config.tickMs
    if (nowMs - this.leaderlessSinceMs < membershipProbeAfterElectionTimeouts * electionMs || nowMs - this.lastMembershipProbeMs < membershipProbeEveryElectionTimeouts * electionMs) return
    this.lastMembershipProbeMs = nowMs
    const peers = st.config.members.filter((m) => m.id !== ctx.id)
    if (peers.length === 0) return
    const addr = peerDialAddr(ctx, (peers[ctx.random.int(peers.length)] as (typeof peers)[number]).id)
    if (addr === null) return
    ctx.transport
      .request(addr, { type: 'AdminRequest', requestId: ctx.random.hex(8), op: 'status', args: [] }, membershipProbeTimeoutMs)
      .then((res) => {
        if (res.type !== 'AdminResponse' || !res.ok || this.removedReported) return
        const body = JSON.parse(res.body) as { leader?: unknown; members?: { id?: unknown }[] }
        if (typeof body.leader !== 'string' || !Array.isArray(body.members)) return
        if (body.members.some((m) => m.id === ctx.id)) return
        this.removedReported = true
        ctx.logger.warn({ leader: body.leader }, 'this node was removed from the cluster: it will not vote or campaign. Stop it, or empty its DATA_DIR and rejoin with JOIN under a new NODE_ID')
      })
      .catch(() => {})
  }

  /**
   * A peer that addresses this node under another incarnation holds a log
   * from before this node was re-added (it catches up, or is itself
   * replaced), or this directory is not the one the cluster knows (restored
   * from elsewhere): its messages are ignored either way. Said once per peer
   * and incarnation, so the operator knows why that peer gets no answers.
   */
  reportOtherIncarnation(): void {
    const { ctx } = this
    const seen = ctx.raft.status().otherIncarnationSeen
    if (seen === null) return
    const key = `${seen.from}/${seen.incarnation}`
    if (this.otherIncarnationReported.has(key) || this.otherIncarnationReported.size >= otherIncarnationReportsMax) return
    this.otherIncarnationReported.add(key)
    ctx.logger.warn({ peer: seen.from, theirs: seen.incarnation, ours: ctx.incarnation }, `peer ${seen.from} addresses this node as incarnation ${seen.incarnation}, not ${ctx.incarnation}: its log predates this node's (re)join, so its messages are ignored until it catches up`)
  }
}
