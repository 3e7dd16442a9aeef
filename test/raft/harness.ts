// A minimal, fault-free harness for unit tests of the raft core: nodes with
// in-memory durable state, a network that delivers what it is told to, and
// helpers that run the Ready loop until the cluster is quiet. The seeded,
// fault-injecting simulator lives in test/sim/.
import { Prng } from '../../lib/util/prng.js'
import { RaftNode, type RaftOptions } from '../../lib/raft/raw-node.js'
import type { Entry, HardState, InitialState, Member, Message, NodeId, ReadState, Ready, SnapshotMeta } from '../../lib/raft/types.js'

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
  /** Snapshots this node was told to install, in order. */
  installed: SnapshotMeta[] = []
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
  /** When set, a queued message for which it returns true is dropped on delivery. */
  dropIf: ((m: Message) => boolean) | null = null
  private readonly sentByType = new Map<Message['type'], number>()
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

  /** Cuts both directions between every node of `a` and every node of `b`. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}->${y}`)
        this.cut.add(`${y}->${x}`)
      }
    }
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
          node.installed.push(rd.snapshot)
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
    for (const m of ms) {
      this.queue.push(m)
      this.sentByType.set(m.type, (this.sentByType.get(m.type) ?? 0) + 1)
    }
  }

  /** How many messages of this type the nodes have sent so far. */
  sentCount(type: Message['type']): number {
    return this.sentByType.get(type) ?? 0
  }

  /** Processes readies, then takes the queued messages out without delivering them. */
  collect(): Message[] {
    this.processReadies()
    const ms = this.queue
    this.queue = []
    return ms
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
    if (this.dropIf !== null && this.dropIf(m)) return
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

/** Ticks until some node leads a term above `term`; returns it. */
export function electLeaderAbove(c: TestCluster, term: number, ticksMax = 200): NodeId {
  for (let i = 0; i < ticksMax; i++) {
    for (const n of c.nodes.values()) {
      const st = n.raft.status()
      if (st.role === 'leader' && st.term > term) return n.id
    }
    c.tick()
  }
  throw new Error(`no leader above term ${term}`)
}

export function data(s: string): Buffer {
  return Buffer.from(s)
}

export function normalData(entries: readonly Entry[]): string[] {
  return entries.flatMap((e) => (e.kind === 'normal' ? [e.data.toString()] : []))
}

/** n voting members n1..nn. */
export function voters(n: number): Member[] {
  const members: Member[] = []
  for (let i = 1; i <= n; i++) members.push({ id: `n${i}`, addr: `n${i}:1`, role: 'voter' })
  return members
}

/**
 * An initial state whose log holds one entry per element of `terms` (entry i+1
 * has term terms[i]); entry 1 configures `members`. Used to build the logs of
 * the paper's figures.
 */
export function stateWithLog(members: readonly Member[], terms: readonly number[], hs: Partial<HardState> = {}): InitialState {
  const entries: Entry[] = terms.map((term, i) =>
    i === 0 ? { index: 1, term, kind: 'config', config: { members } } : { index: i + 1, term, kind: 'normal', data: Buffer.from(`e${i + 1}`) },
  )
  const lastTerm = terms[terms.length - 1] ?? 0
  return {
    hardState: { term: hs.term ?? lastTerm, vote: hs.vote ?? '', commit: hs.commit ?? 1 },
    snapshot: { index: 0, term: 0, config: { members: [] } },
    entries,
  }
}

/** A lone RaftNode (no cluster) for tests that feed it messages by hand. */
export function lone(id: NodeId, initial: InitialState, options: Partial<RaftOptions> = {}, seed = 1): RaftNode {
  const prng = new Prng(seed)
  return new RaftNode({ ...options, id, random: (n) => prng.int(n) }, initial)
}

/** Handles every Ready of a lone node as a runtime would (persist is a no-op); returns them. */
export function drain(raft: RaftNode): Ready[] {
  const out: Ready[] = []
  for (let i = 0; i < 100 && raft.hasReady(); i++) {
    const rd = raft.ready()
    out.push(rd)
    raft.advance(rd)
  }
  return out
}

/** Every message of the given Readies, in send order. */
export function messagesOf(readies: readonly Ready[]): Message[] {
  return readies.flatMap((rd) => [...rd.messagesNow, ...rd.messagesAfterPersist])
}

/** Narrows a message list to one type. */
export function ofType<T extends Message['type']>(ms: readonly Message[], type: T): (Message & { type: T })[] {
  return ms.filter((m): m is Message & { type: T } => m.type === type)
}

/** Entry terms of a node's log from index 1 (or the first index) to the last. */
export function logTerms(raft: RaftNode): number[] {
  const st = raft.status()
  const out: number[] = []
  for (let i = st.firstIndex; i <= st.lastIndex; i++) out.push(raft.termAt(i) ?? -1)
  return out
}
