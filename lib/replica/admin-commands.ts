// Operator commands shared by RESP `RAFT …`, HTTP `/cluster/…` and the CLI:
// status, add, remove, transfer-leader, snapshot. Membership changes run on
// the leader; any other node passes them on over the peer transport, so an
// operator can talk to whichever node is at hand. `identity` (this node's id
// and data-directory incarnation) is what `add` asks the new node before
// adding it: members are added with the incarnation they have.
import { parseHostPort } from '../config/node-config.js'
import type { NodeId } from '../raft/types.js'
import type { WireMessage } from '../transport/wire-message.js'
import { sleepOn, type Clock } from '../util/clock.js'
import { AdminError, ClusterDownError } from './client-api.js'
import { decodeMemberAddrs, encodeMemberAddrs } from './member-addr.js'
import type { Replica } from './replica.js'
import { mostCaughtUpVoter } from './tick-chores.js'

const adminWaitMs = 10_000
const pollMs = 20

export class AdminCommands {
  private readonly clock: Clock

  constructor(private readonly replica: Replica) {
    this.clock = replica.clock
    replica.addMessageHandler((msg, _from, reply) => this.onMessage(msg, reply))
  }

  async run(op: string, args: readonly string[]): Promise<string> {
    switch (op) {
      case 'status':
        expectArgs(op, args, 0, 0)
        return JSON.stringify(this.status())
      case 'identity':
        expectArgs(op, args, 0, 0)
        return JSON.stringify({ id: this.replica.id, incarnation: this.replica.incarnation })
      case 'add': {
        expectArgs(op, args, 2, 2)
        const [id, addr] = args as [string, string]
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new AdminError(`invalid node id ${JSON.stringify(id)}`)
        if (decodeMemberAddrs(addr) === null) throw new AdminError(`invalid address ${JSON.stringify(addr)}: expected host:port`)
        return this.onLeader(op, args, () => this.add(id, addr))
      }
      case 'remove':
        expectArgs(op, args, 1, 1)
        return this.onLeader(op, args, () => this.remove(args[0] as string))
      case 'transfer-leader':
        expectArgs(op, args, 0, 1)
        return this.onLeader(op, args, () => this.transfer(args[0] ?? null))
      case 'snapshot': {
        expectArgs(op, args, 0, 0)
        const index = await this.replica.snapshotNow()
        return JSON.stringify({ ok: true, snapshotIndex: index })
      }
      default:
        throw new AdminError(`unknown cluster command '${op}' (try status, add, remove, transfer-leader, snapshot, identity)`)
    }
  }

  status(): Record<string, unknown> {
    const st = this.replica.status()
    const tickMs = this.replica.tickMs()
    return {
      id: st.id,
      role: st.role,
      term: st.term,
      leader: st.leader,
      commitIndex: st.commit,
      appliedIndex: this.replica.appliedIndex(),
      snapshotIndex: this.replica.snapshotIndexNow(),
      firstIndex: st.firstIndex,
      lastIndex: st.lastIndex,
      // A membership change in the log, not committed yet (0: none): until it
      // is, the quorum is still counted among the previous voters.
      pendingConfigIndex: st.pendingConfigIndex,
      clusterId: this.replica.getClusterId(),
      incarnation: st.incarnation,
      // Messages ignored because they were meant for another incarnation of
      // this node (a peer whose log predates its re-add), or came from an
      // incarnation of a peer that our configuration does not list.
      droppedForOtherIncarnation: st.droppedForOtherIncarnation,
      droppedFromStaleIncarnation: st.droppedFromStaleIncarnation,
      members: st.config.members.map((m) => {
        const pr = st.progress.get(m.id)
        const addrs = decodeMemberAddrs(m.addr)
        return {
          id: m.id,
          role: m.role,
          incarnation: m.incarnation ?? '',
          raftAddr: addrs?.raft ?? m.addr,
          respAddr: addrs?.resp ?? null,
          httpAddr: addrs?.http ?? null,
          match: pr?.match ?? null,
          lag: pr === undefined ? null : Math.max(0, st.lastIndex - pr.match),
          lastContactMs: pr === undefined ? null : pr.lastContactTicks * tickMs,
          state: pr?.state ?? null,
        }
      }),
    }
  }

  /** Runs `here` on the leader, or passes the command to the leader. */
  private async onLeader(op: string, args: readonly string[], here: () => Promise<string>): Promise<string> {
    const deadline = this.clock.nowMs() + adminWaitMs
    for (;;) {
      const leader = this.replica.leaderId()
      if (leader === this.replica.id) return here()
      if (leader !== null) {
        const addr = this.replica.peerDialAddr(leader)
        if (addr !== null) return this.forward(addr, op, args)
      }
      if (this.clock.nowMs() > deadline) throw new ClusterDownError()
      await sleepOn(this.clock, pollMs)
    }
  }

  private async forward(addr: string, op: string, args: readonly string[]): Promise<string> {
    const res = await this.replica.request(addr, { type: 'AdminRequest', requestId: this.replica.random.hex(8), op, args }, adminWaitMs)
    if (res.type !== 'AdminResponse') throw new AdminError(`unexpected answer ${res.type} from the leader`)
    if (!res.ok) throw new AdminError(res.error)
    return res.body
  }

  private async add(id: NodeId, addrText: string): Promise<string> {
    const existing = this.replica.status().config.members.find((m) => m.id === id)
    if (existing !== undefined) throw new AdminError(`node ${id} is already a member (${existing.role}); remove it first to re-add it`)
    const hp = parseHostPort(addrText)
    const addr = hp === null ? addrText : encodeMemberAddrs({ raft: addrText, resp: null, http: null })
    const dialAddr = this.replica.dialAddrOr(id, hp === null ? (decodeMemberAddrs(addrText)?.raft ?? addrText) : addrText)
    const incarnation = await this.askIncarnation(id, dialAddr)
    return this.change({ op: 'addLearner', id, addr, incarnation }, `added ${id} as a learner; it becomes a voter once caught up`)
  }

  /**
   * Members are added with their data directory's incarnation, so that a
   * member whose log predates this add can never count the new node as the
   * one it knew under the same id. Only the node itself knows it: ask it.
   */
  private async askIncarnation(id: NodeId, raftAddr: string): Promise<string> {
    let body: { id?: unknown; incarnation?: unknown }
    try {
      const res = await this.replica.request(raftAddr, { type: 'AdminRequest', requestId: this.replica.random.hex(8), op: 'identity', args: [] }, adminWaitMs)
      if (res.type !== 'AdminResponse' || !res.ok) throw new Error(res.type === 'AdminResponse' ? res.error : `unexpected ${res.type}`)
      body = JSON.parse(res.body) as typeof body
    } catch (err) {
      throw new AdminError(`cannot reach ${id} at ${raftAddr} to learn its incarnation (${(err as Error).message}): start it first (with JOIN set it adds itself)`)
    }
    if (body.id !== id) throw new AdminError(`the node at ${raftAddr} is ${JSON.stringify(body.id)}, not ${id}`)
    if (typeof body.incarnation !== 'string') throw new AdminError(`the node at ${raftAddr} did not say its incarnation`)
    return body.incarnation
  }

  private async remove(id: NodeId): Promise<string> {
    const st = this.replica.status()
    if (!st.config.members.some((m) => m.id === id)) throw new AdminError(`node ${id} is not a member`)
    if (id === this.replica.id) {
      // Hand leadership over first so clients see no election gap; the new
      // leader then performs the removal.
      await this.transfer(null)
      return this.onLeader('remove', [id], () => this.remove(id))
    }
    return this.change({ op: 'remove', id }, `removed ${id}`)
  }

  private async change(cc: Parameters<Replica['proposeConfChange']>[0], message: string): Promise<string> {
    const deadline = this.clock.nowMs() + adminWaitMs
    for (;;) {
      const r = this.replica.proposeConfChange(cc)
      if (r.ok) {
        await waitUntil(this.clock, () => this.replica.appliedIndex() >= r.index || this.replica.isStopped(), deadline)
        if (this.replica.termAt(r.index) !== r.term) throw new AdminError('the change was lost to a leader change; retry')
        return JSON.stringify({ ok: true, message, index: r.index })
      }
      if (r.reason === 'invalid') throw new AdminError(r.detail ?? 'invalid membership change')
      if (r.reason === 'notLeader') throw new ClusterDownError('leadership moved while changing membership; retry')
      // Another change is still committing: wait for it, within bounds.
      if (this.clock.nowMs() > deadline) throw new AdminError(`cannot change membership now (${r.reason}); retry`)
      await sleepOn(this.clock, pollMs)
    }
  }

  private async transfer(target: NodeId | null): Promise<string> {
    const st = this.replica.status()
    const to = target ?? mostCaughtUpVoter(st)
    if (to === null) throw new AdminError('no other voter to transfer leadership to')
    if (to === st.id) return JSON.stringify({ ok: true, leader: to })
    if (!st.config.members.some((m) => m.id === to && m.role === 'voter')) throw new AdminError(`node ${to} is not a voter`)
    const deadline = this.clock.nowMs() + adminWaitMs
    this.replica.transferLeadership(to)
    await waitUntil(this.clock, () => this.replica.leaderId() !== st.id, deadline)
    const leader = this.replica.leaderId()
    if (leader === st.id) throw new AdminError(`leadership transfer to ${to} did not complete in time`)
    return JSON.stringify({ ok: true, leader })
  }

  private onMessage(msg: WireMessage, reply: (m: WireMessage) => void): boolean {
    if (msg.type !== 'AdminRequest') return false
    this.run(msg.op, msg.args).then(
      (body) => reply({ type: 'AdminResponse', requestId: msg.requestId, ok: true, error: '', body }),
      (err: unknown) => reply({ type: 'AdminResponse', requestId: msg.requestId, ok: false, error: err instanceof Error ? err.message : String(err), body: '' }),
    )
    return true
  }
}

function expectArgs(op: string, args: readonly string[], min: number, max: number): void {
  if (args.length < min || args.length > max) throw new AdminError(`wrong number of arguments for cluster command '${op}'`)
}

async function waitUntil(clock: Clock, cond: () => boolean, deadline: number): Promise<void> {
  while (!cond() && clock.nowMs() < deadline) await sleepOn(clock, pollMs)
}
