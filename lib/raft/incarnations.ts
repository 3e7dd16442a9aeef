// Incarnation stamps (see types.ts): which incarnation of each member our
// configuration lists, which incarnation the leader we follow goes by, and
// the counters of messages dropped for disagreeing. The rules that use them
// (Raft.stampsMatch, Raft.receiverIncarnation) live with the algorithm, so
// the simulator can override them and see a check fail.
import type { Config, Incarnation, Message, NodeId } from './types.js'

export class IncarnationStamps {
  /** Messages dropped because they were stamped for another incarnation of this node. */
  droppedForOtherIncarnation = 0
  /** Messages dropped because their sender's incarnation is not the one our configuration lists for it. */
  droppedFromStaleIncarnation = 0
  /** The last sender that addressed this node under another incarnation, or null. */
  otherIncarnationSeen: { readonly from: NodeId; readonly incarnation: Incarnation } | null = null

  /** incarnationOf()'s cache: the config it was built from (configs are immutable values) and its non-empty incarnations. */
  private cachedConfig: Config | null = null
  private readonly listed = new Map<NodeId, Incarnation>()

  /**
   * The incarnation stamped on the last leader message accepted, and its
   * sender and term: replies to the leader we follow go to that incarnation
   * even while our own (older) log lists another one for it. Three plain
   * fields, written only when they change: this runs for every Append and
   * Heartbeat a follower accepts.
   */
  private leaderFrom: NodeId = ''
  private leaderTerm = 0
  private leaderIncarnation: Incarnation = ''

  /** The incarnation `config` lists for `id` ('' when unknown or not a member). Per message: cached per config. */
  listedIn(config: Config, id: NodeId): Incarnation {
    if (config !== this.cachedConfig) {
      this.cachedConfig = config
      this.listed.clear()
      for (const mm of config.members) if (mm.incarnation !== undefined && mm.incarnation !== '') this.listed.set(mm.id, mm.incarnation)
    }
    return this.listed.get(id) ?? ''
  }

  noteLeaderMessage(m: Message): void {
    const incarnation = m.fromIncarnation ?? ''
    if (this.leaderFrom !== m.from) this.leaderFrom = m.from
    if (this.leaderTerm !== m.term) this.leaderTerm = m.term
    if (this.leaderIncarnation !== incarnation) this.leaderIncarnation = incarnation
  }

  /** The incarnation `leader` stamped its messages of `term` with, or '' when we accepted none. */
  leaderStamp(leader: NodeId, term: number): Incarnation {
    return this.leaderFrom === leader && this.leaderTerm === term ? this.leaderIncarnation : ''
  }

  noteForOtherIncarnation(m: Message): void {
    this.droppedForOtherIncarnation++
    this.otherIncarnationSeen = { from: m.from, incarnation: m.toIncarnation ?? '' }
  }

  noteFromStaleIncarnation(): void {
    this.droppedFromStaleIncarnation++
  }
}
