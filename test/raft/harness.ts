// A minimal, fault-free harness for unit tests of the raft core: nodes with
// in-memory durable state, a network that delivers what it is told to, and
// helpers that run the Ready loop until the cluster is quiet. The seeded,
// fault-injecting simulator lives in test/sim/.
import { Prng } from '../../lib/util/prng.js'
import { RaftNode, type RaftOptions } from '../../lib/raft/raw-node.js'
import type { Entry, HardState, InitialState, Member, Message, NodeId, ReadState, SnapshotMeta } from '../../lib/raft/types.js'

export interface Durable {
  hardState: HardState
  snapshot: SnapshotMeta
  entries: Entry[]
}

export class TestNode {
  raft: RaftNode
  durable: Durable
  applied: Entry[] = []
  readStates: ReadState[] = []
  constructor(
    readonly id: NodeId,
    initial: InitialState,
    readonly options: Partial<RaftOptions>,
    seed: number,
  ) {
    const prng = new Prng(seed)
    this.raft = new RaftNode({ ...options, id, random: (n) => prng.int(n) }, initial)
    this.durable = { hardState: initial.hardState, snapshot: initial.snapshot, entries: [...initial.entries] }
  }
}

export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>()
  /** Messages in flight, delivered in order by deliverAll(). */
  queue: Message[] = []
  /** Links cut as "from->to". */
  readonly cut = new Set<string>()
  private seed = 1

  constructor(readonly options: Partial<RaftOptions> = {}) {}

  /** n voters n1..nn sharing one configuration at index 1, term 1. */
  static withVoters(n: number, options: Partial<RaftOptions> = {}): TestCluster {
    const c = new TestCluster(options)
    const members: Member[] = []
    for (let i = 1; i <= n; i++) members.push({ id: `n${i}`, addr: `n${i}:1`, role: 'voter' })
    for (const mm of members) {
      const initial: InitialState = {
        hardState: { term: 1, vote: '', commit: 1 },
        snapshot: { index: 0, term: 0, config: { members: [] } },
        entries: [{ index: 1, term: 1, kind: 'config', config: { members } }],
      }
      c.add(mm.id, initial)
    }
    return c
  }

  add(id: NodeId, initial: InitialState, options: Partial<RaftOptions> = {}): TestNode {
    const node = new TestNode(id, initial, { ...this.options, ...options }, this.seed++)
    this.nodes.set(id, node)
    return node
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  raft(id: NodeId): RaftNode {
    return this.node(id).raft
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue
      this.cut.add(`${id}->${other}`)
      this.cut.add(`${other}->${id}`)
    }
  }

  heal(): void {
    this.cut.clear()
  }

  /** Runs every node's Ready loop once; messages go to the queue. */
  processReadies(): boolean {
    let any = false
    for (const node of this.nodes.values()) {
      while (node.raft.hasReady()) {
        any = true
        const rd = node.raft.ready()
        this.enqueue(rd.messagesNow)
        if (rd.snapshot !== null) {
          node.durable.snapshot = rd.snapshot
          node.durable.entries = []
        }
        if (rd.hardState !== null) node.durable.hardState = rd.hardState
        const first = rd.entries[0]
        if (first !== undefined) {
          node.durable.entries = node.durable.entries.filter((e) => e.index < first.index)
          node.durable.entries.push(...rd.entries)
        }
        this.enqueue(rd.messagesAfterPersist)
        node.applied.push(...rd.committed)
        node.readStates.push(...rd.readStates)
        node.raft.advance(rd)
      }
    }
    return any
  }

  private enqueue(ms: readonly Message[]): void {
    for (const m of ms) this.queue.push(m)
  }

  /** Delivers queued messages (and the ones they cause) until quiet. Bounded. */
  stabilize(stepsMax = 10_000): void {
    for (let i = 0; i < stepsMax; i++) {
      this.processReadies()
      const m = this.queue.shift()
      if (m === undefined) return
      this.deliver(m)
    }
    throw new Error('cluster did not stabilize')
  }

  deliver(m: Message): void {
    if (this.cut.has(`${m.from}->${m.to}`)) return
    this.nodes.get(m.to)?.raft.step(m)
  }

  /** Ticks every node n times, stabilizing after each tick. */
  tick(n = 1, only?: NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (only === undefined || only.includes(id)) node.raft.tick()
      this.stabilize()
    }
  }

  /** Restarts a node from what it made durable (losing everything else). */
  restart(id: NodeId): TestNode {
    const old = this.node(id)
    const d = old.durable
    const node = new TestNode(id, { hardState: d.hardState, snapshot: d.snapshot, entries: [...d.entries] }, old.options, this.seed++)
    this.nodes.set(id, node)
    return node
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raft.status().role === 'leader').map((n) => n.id)
  }

  /** Ticks until exactly one leader exists; returns it. */
  electLeader(ticksMax = 200): NodeId {
    for (let i = 0; i < ticksMax; i++) {
      const ls = this.leaders()
      if (ls.length === 1) return ls[0] as NodeId
      this.tick()
    }
    throw new Error('no leader elected')
  }
}

export function data(s: string): Buffer {
  return Buffer.from(s)
}

export function normalData(entries: readonly Entry[]): string[] {
  return entries.flatMap((e) => (e.kind === 'normal' ? [e.data.toString()] : []))
}
