// The simulated network: every message becomes a packet with a delivery time
// drawn from the seed, so latency spread reorders messages; packets may be
// dropped or duplicated when sent, and partitions (checked at delivery) cut
// links in either or both directions. Time is counted in units, ten to a tick,
// so that messages can overtake each other within one tick.
import { assert } from '../../lib/util/assert.js'
import type { Prng } from '../../lib/util/prng.js'
import type { Message, NodeId } from '../../lib/raft/types.js'
import { ownEntry } from './sim-store.js'

export const timeUnitsPerTick = 10

export interface Packet {
  readonly deliverAt: number
  readonly seq: number
  readonly sentAt: number
  readonly msg: Message
  /** For Snapshot messages: the sender's saved state-machine bytes at the snapshot's index. */
  readonly snapshotBytes: Buffer | null
  /** The sender's boot count when it sent this, so snapshot reports reach the same process only. */
  readonly fromBoot: number
  /** Dropped on the way but still scheduled, so the sender's transport can report the failure. */
  readonly lost: boolean
}

export interface LinkWeather {
  dropProbability: number
  duplicateProbability: number
  latencyUnitsMin: number
  latencyUnitsMax: number
}

export type SendOutcome = 'sent' | 'dropped' | 'duplicated'

export class SimNetwork {
  private readonly heap: Packet[] = []
  private seq = 0
  private readonly indexOf = new Map<NodeId, number>()
  /** blocked[from * n + to]: the link from → to loses everything. */
  private readonly blocked: boolean[]
  private blockedCount = 0

  constructor(
    private readonly prng: Prng,
    readonly nodeIds: readonly NodeId[],
    public weather: LinkWeather,
  ) {
    nodeIds.forEach((id, i) => this.indexOf.set(id, i))
    this.blocked = new Array<boolean>(nodeIds.length * nodeIds.length).fill(false)
  }

  inFlight(): number {
    return this.heap.length
  }

  partitioned(): boolean {
    return this.blockedCount > 0
  }

  /**
   * `reportLoss`: a lost packet still arrives, marked lost, so that the sender
   * hears of the failure (a snapshot stream that broke must be reported).
   */
  send(now: number, msg: Message, snapshotBytes: Buffer | null, fromBoot: number, reportLoss: boolean): SendOutcome {
    const w = this.weather
    if (w.dropProbability > 0 && this.prng.chance(w.dropProbability)) {
      if (reportLoss) this.enqueue(now, msg, snapshotBytes, fromBoot, true)
      return 'dropped'
    }
    this.enqueue(now, msg, snapshotBytes, fromBoot, false)
    if (w.duplicateProbability > 0 && this.prng.chance(w.duplicateProbability)) {
      this.enqueue(now, msg, snapshotBytes, fromBoot, false)
      return 'duplicated'
    }
    return 'sent'
  }

  /** The next packet due at or before `now`, removed from the network; null when none. */
  popDue(now: number): Packet | null {
    const top = this.heap[0]
    if (top === undefined || top.deliverAt > now) return null
    const last = this.heap.pop() as Packet
    if (this.heap.length > 0) {
      this.heap[0] = last
      this.siftDown(0)
    }
    return top
  }

  canDeliver(from: NodeId, to: NodeId): boolean {
    if (this.blockedCount === 0) return true
    const n = this.nodeIds.length
    return !this.blocked[this.index(from) * n + this.index(to)]
  }

  // ---- Partitions -------------------------------------------------------------

  /** Cuts every link between a node of `a` and a node of `b`, both ways. */
  cutBetween(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.setBlocked(x, y)
      this.setBlocked(y, x)
    }
  }

  /** Cuts the links into `to` only: it can still send (an asymmetric fault). */
  cutInbound(to: NodeId): void {
    for (const x of this.nodeIds) if (x !== to) this.setBlocked(x, to)
  }

  heal(): void {
    this.blocked.fill(false)
    this.blockedCount = 0
  }

  private setBlocked(from: NodeId, to: NodeId): void {
    if (from === to) return
    const k = this.index(from) * this.nodeIds.length + this.index(to)
    if (!this.blocked[k]) this.blockedCount++
    this.blocked[k] = true
  }

  private index(id: NodeId): number {
    const i = this.indexOf.get(id)
    assert(i !== undefined, () => `sim-network: unknown node ${id}`)
    return i
  }

  // ---- The packet heap, ordered by (deliverAt, seq) ------------------------------

  private enqueue(now: number, sent: Message, snapshotBytes: Buffer | null, fromBoot: number, lost: boolean): void {
    // The wire copies an Append's entries: the packet must not share bytes with the sender's log.
    const msg = sent.type === 'Append' && sent.entries.length > 0 ? { ...sent, entries: sent.entries.map(ownEntry) } : sent
    const w = this.weather
    const latencyUnits = w.latencyUnitsMin + this.prng.int(w.latencyUnitsMax - w.latencyUnitsMin + 1)
    const p: Packet = { deliverAt: now + latencyUnits, seq: this.seq++, sentAt: now, msg, snapshotBytes, fromBoot, lost }
    this.heap.push(p)
    this.siftUp(this.heap.length - 1)
  }

  private siftUp(i: number): void {
    const h = this.heap
    const p = h[i] as Packet
    while (i > 0) {
      const parent = (i - 1) >> 1
      const q = h[parent] as Packet
      if (!before(p, q)) break
      h[i] = q
      i = parent
    }
    h[i] = p
  }

  private siftDown(i: number): void {
    const h = this.heap
    const n = h.length
    const p = h[i] as Packet
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && before(h[right] as Packet, h[child] as Packet)) child = right
      const c = h[child] as Packet
      if (!before(c, p)) break
      h[i] = c
      i = child
    }
    h[i] = p
  }
}

function before(a: Packet, b: Packet): boolean {
  return a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && a.seq < b.seq)
}
