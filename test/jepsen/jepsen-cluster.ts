// A cluster of real raftkv processes whose peer traffic runs through the
// fault proxies, plus the bookkeeping the nemesis needs: which nodes are
// members, which are paused, and how to find the leader quickly while some
// nodes do not answer.
import { ProcessCluster, type ProcessNode, type StatusJson } from '../cluster/process-cluster.js'
import { Network } from './network.js'

/** Timing for test clusters: the defaults, but a client request gives up sooner so clients see more outcomes. */
export const jepsenNodeEnv: Readonly<Record<string, string>> = Object.freeze({
  LOG_LEVEL: 'warn',
  REQUEST_TIMEOUT_MS: '2000',
  // Small enough that runs take snapshots and re-added nodes are restored from one.
  SNAPSHOT_ENTRIES: '2000',
})

/** Every cluster not yet stopped, so a test's teardown can stop them even when a run is cut short. */
const liveClusters = new Set<JepsenCluster>()

export async function stopAllClusters(): Promise<void> {
  await Promise.all([...liveClusters].map((c) => c.stop()))
}

export class JepsenCluster {
  /** Nodes that should be running and in the configuration once faults heal. */
  readonly members = new Set<string>()
  readonly paused = new Set<string>()

  private constructor(
    readonly processes: ProcessCluster,
    readonly net: Network,
    readonly size: number,
  ) {}

  /** `size` voters plus `spares` nodes that are prepared (ports, proxies) but not started. */
  static async create(size: number, spares: number, env: Record<string, string>, random: () => number): Promise<JepsenCluster> {
    const processes = new ProcessCluster({ ...jepsenNodeEnv, ...env })
    for (let i = 1; i <= size + spares; i++) await processes.addNode(`n${i}`)
    const net = await Network.start(
      processes.nodes.map((n) => ({ id: n.spec.id, raftPort: n.spec.raftPort })),
      random,
    )
    const cluster = new JepsenCluster(processes, net, size)
    liveClusters.add(cluster)
    return cluster
  }

  get nodes(): readonly ProcessNode[] {
    return this.processes.nodes
  }

  node(id: string): ProcessNode {
    return this.processes.node(id)
  }

  /** n1 bootstraps, the others join it one by one; resolves when all are voters. */
  async boot(): Promise<void> {
    const first = this.nodes[0] as ProcessNode
    this.startNode(first, '')
    await this.processes.waitFor(async () => (await statusOf(first))?.role === 'leader', 'n1 to lead')
    for (const node of this.nodes.slice(1, this.size)) this.startNode(node, first.raftAddr)
    await this.processes.waitForVoters(this.size)
  }

  /** Starts a node with its proxied peer addresses; `join` empty bootstraps, undefined keeps the env's. */
  startNode(node: ProcessNode, join?: string): void {
    this.members.add(node.spec.id)
    node.start({ PEER_ADDR_OVERRIDES: this.net.overridesFor(node.spec.id), ...(join === undefined ? {} : { JOIN: join }) })
  }

  memberNodes(): ProcessNode[] {
    return this.nodes.filter((n) => this.members.has(n.spec.id))
  }

  /** Members that run and are not paused: the ones that can answer. */
  liveNodes(): ProcessNode[] {
    return this.memberNodes().filter((n) => n.running() && !this.paused.has(n.spec.id))
  }

  /** The leader of the highest term among the answering nodes, if any answers as one. */
  async leader(): Promise<ProcessNode | null> {
    const live = this.liveNodes()
    const statuses = await Promise.all(live.map((n) => statusOf(n)))
    let best: { node: ProcessNode; term: number } | null = null
    statuses.forEach((st, i) => {
      if (st?.role === 'leader' && (best === null || st.term > best.term)) best = { node: live[i] as ProcessNode, term: st.term }
    })
    return (best as { node: ProcessNode } | null)?.node ?? null
  }

  async waitForLeader(timeoutMs = 30_000): Promise<ProcessNode> {
    let found: ProcessNode | null = null
    await this.processes.waitFor(async () => (found = await this.leader()) !== null, 'a leader', timeoutMs)
    return found as unknown as ProcessNode
  }

  wipe(node: ProcessNode): void {
    this.processes.wipe(node)
  }

  pause(node: ProcessNode): void {
    if (node.proc === null || this.paused.has(node.spec.id)) return
    node.proc.kill('SIGSTOP')
    this.paused.add(node.spec.id)
  }

  resume(node: ProcessNode): void {
    if (!this.paused.delete(node.spec.id)) return
    node.proc?.kill('SIGCONT')
  }

  async kill(node: ProcessNode): Promise<void> {
    await node.kill('SIGKILL')
    this.paused.delete(node.spec.id)
  }

  /** Undo everything still in effect: wake paused nodes, heal the network, start stopped members. */
  healAll(): void {
    for (const n of this.nodes) this.resume(n)
    this.net.heal()
    for (const n of this.memberNodes()) if (!n.running()) this.startNode(n)
  }

  async stop(): Promise<void> {
    if (!liveClusters.delete(this)) return
    for (const n of this.nodes) this.resume(n)
    await this.processes.stop()
    await this.net.close()
  }
}

/** /status with a short timeout: a paused node must not stall the nemesis. */
export async function statusOf(node: ProcessNode, timeoutMs = 1000): Promise<StatusJson | null> {
  if (!node.running()) return null
  try {
    const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}/status`, { signal: AbortSignal.timeout(timeoutMs) })
    return res.ok ? ((await res.json()) as StatusJson) : null
  } catch {
    return null
  }
}

/** POST /cluster/<op> on a node (passed on to the leader); the error text when it fails. */
export async function adminPost(node: ProcessNode, op: string, fields: Record<string, string>, timeoutMs = 10_000): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}/cluster/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fields),
      signal: AbortSignal.timeout(timeoutMs),
    })
    return res.ok ? null : `${res.status} ${await res.text()}`
  } catch (e) {
    return (e as Error).message
  }
}
