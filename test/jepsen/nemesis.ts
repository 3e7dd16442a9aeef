// The nemesis: injects one fault at a time on a seeded schedule — choose a
// fault, hold it, heal it, let the cluster settle — and records what it did.
// The choices (which fault, how long, which victim among the candidates)
// come from the seed; who the leader is at that moment comes from the run.
import type { ProcessNode } from '../cluster/process-cluster.js'
import type { Prng } from '../../lib/util/prng.js'
import { damageTail, losePower } from './disk-faults.js'
import { adminPost, statusOf, type JepsenCluster } from './jepsen-cluster.js'
import { sleep } from './workload.js'

export const faultKinds = [
  'kill-random',
  'kill-leader',
  'pause-random',
  'pause-leader',
  'isolate-one',
  'isolate-leader',
  'majority-minority',
  'bridge',
  'one-way',
  'delay',
  'drop',
  'replace-node',
  'transfer-leader',
  'wipe-readd',
  'replace-in-place',
  'torn-tail',
  'power-loss',
] as const
export type FaultKind = (typeof faultKinds)[number]

export interface FaultRecord {
  kind: FaultKind
  /** ms since the run's origin. */
  atMs: number
  healedAtMs: number
  detail: string
}

export interface NemesisTiming {
  holdMsMin: number
  holdMsMax: number
  quietMsMin: number
  quietMsMax: number
}

export const nemesisTimingDefaults: Readonly<NemesisTiming> = Object.freeze({ holdMsMin: 2000, holdMsMax: 6000, quietMsMin: 1000, quietMsMax: 3000 })

type Heal = () => Promise<void>

export class Nemesis {
  readonly records: FaultRecord[] = []

  constructor(
    private readonly cluster: JepsenCluster,
    private readonly rng: Prng,
    private readonly kinds: readonly FaultKind[],
    private readonly originMs: number,
    private readonly timing: NemesisTiming = nemesisTimingDefaults,
  ) {}

  /** Faults until `untilMs` (relative to origin); the last one is healed before it returns. */
  async run(untilMs: number): Promise<void> {
    while (this.nowMs() + this.timing.holdMsMin < untilMs) {
      const kind = this.rng.pick(this.kinds)
      const holdMs = this.timing.holdMsMin + this.rng.int(this.timing.holdMsMax - this.timing.holdMsMin + 1)
      const quietMs = this.timing.quietMsMin + this.rng.int(this.timing.quietMsMax - this.timing.quietMsMin + 1)
      const record: FaultRecord = { kind, atMs: Math.round(this.nowMs()), healedAtMs: -1, detail: '' }
      this.records.push(record)
      let injected: { detail: string; heal: Heal }
      try {
        injected = await this.inject(kind)
      } catch (e) {
        // A fault that could not be set up is recorded, and whatever it did half-way is undone.
        injected = { detail: `could not inject: ${(e as Error).message}`, heal: async () => this.cluster.healAll() }
      }
      const { detail, heal } = injected
      record.detail = detail
      await sleep(Math.min(holdMs, Math.max(0, untilMs - this.nowMs())))
      await heal()
      record.healedAtMs = Math.round(this.nowMs())
      await sleep(quietMs)
    }
  }

  private nowMs(): number {
    return performance.now() - this.originMs
  }

  /** A random member that runs (and, unless allowed, is not paused). */
  private randomLive(exclude: readonly ProcessNode[] = []): ProcessNode | null {
    const live = this.cluster.liveNodes().filter((n) => !exclude.includes(n))
    return live.length === 0 ? null : this.rng.pick(live)
  }

  private async leaderOrRandom(): Promise<ProcessNode | null> {
    return (await this.cluster.leader()) ?? this.randomLive()
  }

  private shuffledMembers(): string[] {
    const ids = this.cluster.memberNodes().map((n) => n.spec.id)
    for (let i = ids.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1)
      ;[ids[i], ids[j]] = [ids[j] as string, ids[i] as string]
    }
    return ids
  }

  private async inject(kind: FaultKind): Promise<{ detail: string; heal: Heal }> {
    const c = this.cluster
    const net = c.net
    const none = { detail: 'no candidate', heal: async (): Promise<void> => {} }
    const netHeal: Heal = async () => net.heal()
    switch (kind) {
      case 'kill-random':
      case 'kill-leader': {
        const victim = kind === 'kill-leader' ? await this.leaderOrRandom() : this.randomLive()
        if (victim === null) return none
        await c.kill(victim)
        return { detail: `SIGKILL ${victim.spec.id}`, heal: async () => c.startNode(victim) }
      }
      case 'pause-random':
      case 'pause-leader': {
        const victim = kind === 'pause-leader' ? await this.leaderOrRandom() : this.randomLive()
        if (victim === null) return none
        c.pause(victim)
        return { detail: `SIGSTOP ${victim.spec.id}`, heal: async () => c.resume(victim) }
      }
      case 'isolate-one':
      case 'isolate-leader': {
        const victim = kind === 'isolate-leader' ? await this.leaderOrRandom() : this.rng.pick(c.memberNodes())
        if (victim === null) return none
        const others = c.memberNodes().filter((n) => n !== victim).map((n) => n.spec.id)
        net.partition([[victim.spec.id], others])
        return { detail: `isolate ${victim.spec.id}`, heal: netHeal }
      }
      case 'majority-minority': {
        const ids = this.shuffledMembers()
        const minority = ids.slice(0, Math.max(1, Math.floor((ids.length - 1) / 2)))
        const majority = ids.slice(minority.length)
        net.partition([minority, majority])
        return { detail: `minority [${minority.join(',')}] | majority [${majority.join(',')}]`, heal: netHeal }
      }
      case 'bridge': {
        const [bridge, ...rest] = this.shuffledMembers()
        const half = Math.ceil(rest.length / 2)
        const left = rest.slice(0, half)
        const right = rest.slice(half)
        net.partition([left, right])
        return { detail: `[${left.join(',')}] | [${right.join(',')}], ${String(bridge)} sees both`, heal: netHeal }
      }
      case 'one-way': {
        const victim = this.rng.chance(0.5) ? await this.leaderOrRandom() : this.rng.pick(c.memberNodes())
        if (victim === null) return none
        const outbound = this.rng.chance(0.5)
        for (const other of c.memberNodes()) {
          if (other === victim) continue
          if (outbound) net.blockOneWay(victim.spec.id, other.spec.id)
          else net.blockOneWay(other.spec.id, victim.spec.id)
        }
        return { detail: `${victim.spec.id}: ${outbound ? 'its messages are lost, it still hears the others' : 'it hears nobody, its messages arrive'}`, heal: netHeal }
      }
      case 'delay': {
        const delayMs = 20 + this.rng.int(181)
        net.setAll({ delayMs })
        return { detail: `every peer link delayed ${delayMs} ms`, heal: netHeal }
      }
      case 'drop': {
        const dropChance = 0.005 + this.rng.int(30) / 1000
        net.setAll({ dropChance })
        return { detail: `each peer chunk drops its connection with p=${dropChance.toFixed(3)}`, heal: netHeal }
      }
      case 'transfer-leader':
        return this.transferLeader()
      case 'replace-node':
        return this.replaceNode()
      case 'wipe-readd':
        return this.wipeReadd()
      case 'replace-in-place':
        return this.replaceInPlace()
      case 'torn-tail':
      case 'power-loss': {
        const victim = this.randomLive()
        if (victim === null) return none
        await c.kill(victim)
        const what = kind === 'torn-tail' ? await damageTail(victim.spec.dataDir, this.rng) : await losePower(victim.spec.dataDir)
        return { detail: `SIGKILL ${victim.spec.id}; ${what}`, heal: async () => c.startNode(victim) }
      }
    }
  }

  private async transferLeader(): Promise<{ detail: string; heal: Heal }> {
    const leader = await this.cluster.leader()
    const target = this.randomLive(leader === null ? [] : [leader])
    const via = this.randomLive()
    if (target === null || via === null) return { detail: 'no candidate', heal: async () => {} }
    const err = await adminPost(via, 'transfer-leader', { id: target.spec.id })
    return { detail: `transfer leadership to ${target.spec.id} via ${via.spec.id}: ${err ?? 'ok'}`, heal: async () => {} }
  }

  /** A spare joins as a learner and is promoted; then a random member (maybe the leader) is removed, wiped and becomes the spare. */
  private async replaceNode(): Promise<{ detail: string; heal: Heal }> {
    const c = this.cluster
    const spare = c.nodes.find((n) => !c.members.has(n.spec.id))
    const contact = this.randomLive()
    if (spare === undefined || contact === null) return { detail: 'no spare', heal: async () => {} }
    c.wipe(spare)
    c.startNode(spare, contact.raftAddr)
    const promoted = await this.waitVoter(spare.spec.id, 20_000)
    if (!promoted) return { detail: `${spare.spec.id} joined via ${contact.spec.id} but was not promoted within 20 s`, heal: async () => {} }
    const victim = this.rng.pick(c.memberNodes().filter((n) => n !== spare))
    if (!(await this.remove(victim.spec.id, 10_000))) return { detail: `${spare.spec.id} joined; removing ${victim.spec.id} failed`, heal: async () => {} }
    await c.kill(victim)
    c.wipe(victim)
    return { detail: `${spare.spec.id} joined and was promoted; ${victim.spec.id} removed and wiped`, heal: async () => {} }
  }

  /** A follower loses its disk: killed, removed, wiped; on heal it rejoins empty through a live member. */
  private async wipeReadd(): Promise<{ detail: string; heal: Heal }> {
    const c = this.cluster
    const leader = await c.leader()
    const victim = this.randomLive(leader === null ? [] : [leader])
    if (victim === null) return { detail: 'no candidate', heal: async () => {} }
    await c.kill(victim)
    // Out of the member set at once: healAll must not restart it empty while the cluster may still count it as a voter.
    c.members.delete(victim.spec.id)
    c.wipe(victim)
    const removed = await this.remove(victim.spec.id)
    return {
      detail: `${victim.spec.id} killed, wiped${removed ? ' and removed' : ' (remove failed; retried on heal)'}; rejoins empty on heal`,
      heal: async () => {
        // An empty node must never come back under an identity that is still a voter: it forgot its votes.
        if (!removed && !(await this.remove(victim.spec.id, 20_000))) return
        await this.rejoin(victim)
      },
    }
  }

  /**
   * The README's lost-disk procedure, as an operator follows it: a follower
   * is killed, its data directory emptied, and it starts
   * again at once with JOIN set to a live member; the runtime replaces its
   * old incarnation. On heal it must be a voter again under a new
   * incarnation; then, three times in four, it is made leader, so that the next
   * replacement rejoins through a replaced leader (issue 21).
   */
  private async replaceInPlace(): Promise<{ detail: string; heal: Heal }> {
    const c = this.cluster
    // A follower: the leader is often the member replaced last, so the victim rejoins through a replaced leader.
    const leader = await c.leader()
    const victim = this.randomLive(leader === null ? [] : [leader])
    // One lost disk at a time, and only with every member up: two members down, one of them wiped, is more than 3 nodes survive.
    if (victim === null || c.liveNodes().length < c.memberNodes().length) return { detail: 'no candidate', heal: async () => {} }
    const old = (await statusOf(victim))?.incarnation ?? ''
    await c.kill(victim)
    c.wipe(victim)
    const contact = leader ?? this.randomLive([victim])
    if (contact === null) {
      c.startNode(victim)
      return { detail: `${victim.spec.id} killed and wiped; no live member to join through`, heal: async () => {} }
    }
    c.startNode(victim, contact.raftAddr)
    const makeLeader = this.rng.chance(0.75)
    return {
      detail: `${victim.spec.id} killed, wiped and restarted with JOIN=${contact.spec.id}${makeLeader ? '; then made leader' : ''}`,
      heal: async () => {
        if (!(await this.waitVoter(victim.spec.id, 60_000, old))) return
        if (makeLeader) await adminPost(contact, 'transfer-leader', { id: victim.spec.id })
      },
    }
  }

  /** Removes a member through any other live node; true once the configuration no longer holds it. */
  private async remove(id: string, timeoutMs = 0): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    do {
      const via = this.cluster.liveNodes().find((n) => n.spec.id !== id)
      // An attempt whose answer was lost (its request timed out, or leadership
      // moved while the change committed) may still have removed the node, and
      // every later attempt is then refused as "not a member": the leader's
      // committed configuration is what says whether it is gone.
      if ((via !== undefined && (await adminPost(via, 'remove', { id })) === null) || (await this.removalCommitted(id))) {
        this.cluster.members.delete(id)
        return true
      }
      await sleep(200)
    } while (Date.now() < deadline)
    return false
  }

  /** Whether the leader's configuration leaves `id` out and holds no change still to commit. */
  private async removalCommitted(id: string): Promise<boolean> {
    const leader = await this.cluster.leader()
    const st = leader === null ? null : await statusOf(leader)
    return st !== null && st.role === 'leader' && st.pendingConfigIndex === 0 && !st.members.some((m) => m.id === id)
  }

  private async rejoin(node: ProcessNode): Promise<void> {
    const contact = this.randomLive([node])
    if (contact === null) return
    this.cluster.startNode(node, contact.raftAddr)
    await this.waitVoter(node.spec.id, 20_000)
  }

  /** Whether `id` becomes a voter within the bound (under another incarnation than `notIncarnation`, when given). */
  private async waitVoter(id: string, timeoutMs: number, notIncarnation = ''): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const leader = await this.cluster.leader()
      const st = leader === null ? null : await statusOf(leader)
      if (st?.members.some((m) => m.id === id && m.role === 'voter' && (notIncarnation === '' || m.incarnation !== notIncarnation)) === true) return true
      await sleep(200)
    }
    return false
  }
}
