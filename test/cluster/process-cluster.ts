// Real raftkv processes for end-to-end tests: each node is `bin/raftkv start`
// (the compiled CLI) in its own temporary data directory, on free loopback
// ports, configured through the process environment. Every wait is for a
// condition with a generous bound, never a fixed sleep.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { FETCH_BAD_PORTS } from '../../lib/config/fetch-bad-ports.js'
import { repoRoot } from '../util/repo-root.js'

export { repoRoot }
export const cliPath = join(repoRoot, 'dist', 'bin', 'raftkv-cli.js')

/**
 * A port free to listen on. Chosen below the kernel's ephemeral range: a port
 * from that range (what listening on port 0 gives) can be taken by any
 * outgoing connection of a parallel test between this check and the node's
 * own listen, which made starts fail with EADDRINUSE.
 */
/** Runs `bin/raftkv` with these arguments; its exit code and output, never a throw. */
export function runCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}

/** The lowest port freePort hands out. */
export const PORT_LOW = 10_000

/**
 * freePort skips the ports the Fetch standard blocks ("bad ports"): Node's
 * fetch fails on them with "bad port" before connecting, so a node whose
 * HTTP port is one never answers the tests' status polls (seen in CI: a
 * cluster waited 90 s for n1 to lead on 127.0.0.1:10080). Of them only 10080
 * lies in the range freePort walks.
 */
export { FETCH_BAD_PORTS }

/** Ports this process handed out: each is free when picked but only bound later, by a child, so it must not be picked twice. */
const portsHandedOut = new Set<number>()
let portNext = 0

/**
 * A port below the ephemeral range (outgoing connections never take it) that
 * nobody listens on. Ports are walked upwards from a random start, never
 * handing out one twice: random picks per call would, by the birthday
 * paradox, give two nodes of one 5-node cluster the same port about once in
 * 200 clusters (seen in CI as EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const high = ephemeralPortLow()
  const low = PORT_LOW
  if (high <= low) return listenOnce(0)
  if (portNext === 0) portNext = low + Math.floor(Math.random() * (high - low))
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = portNext
    portNext = portNext + 1 >= high ? low : portNext + 1
    if (portsHandedOut.has(port) || FETCH_BAD_PORTS.has(port) || !(await canListen(port))) continue
    portsHandedOut.add(port)
    return port
  }
  return listenOnce(0)
}

export function ephemeralPortLow(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(first) && first > 0 ? first : 32768
  } catch {
    return 32768
  }
}

/** Whether `port` can be bound on 127.0.0.1 now. */
export async function canListen(port: number): Promise<boolean> {
  return listenOnce(port).then(
    () => true,
    () => false,
  )
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address()
      const bound = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(bound))
    })
  })
}

export interface NodeSpec {
  readonly id: string
  readonly raftPort: number
  readonly respPort: number
  readonly httpPort: number
  readonly dataDir: string
}

export interface StatusJson {
  id: string
  role: string
  term: number
  leader: string | null
  commitIndex: number
  appliedIndex: number
  snapshotIndex: number
  /** This node's data-directory incarnation (absent from nodes too old to say). */
  incarnation?: string
  /** A membership change in the log not committed yet, or 0. */
  pendingConfigIndex?: number
  members: { id: string; role: string; match: number | null; incarnation?: string }[]
}

/** What GET /cluster/status says of membership: this node's incarnation and every member's. */
export interface ClusterStatus {
  incarnation: string
  members: { id: string; role: string; incarnation: string }[]
}

/** The node's /cluster/status, or null when it does not answer. */
export async function clusterStatus(node: ProcessNode): Promise<ClusterStatus | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}/cluster/status`, { signal: AbortSignal.timeout(2000) })
    return res.ok ? ((await res.json()) as ClusterStatus) : null
  } catch {
    return null
  }
}

export class ProcessNode {
  proc: ChildProcess | null = null
  output = ''
  exitCode: number | null = null
  constructor(
    readonly spec: NodeSpec,
    readonly env: Record<string, string>,
  ) {}

  get raftAddr(): string {
    return `127.0.0.1:${this.spec.raftPort}`
  }

  start(extraEnv: Record<string, string> = {}): void {
    if (this.proc !== null) throw new Error(`${this.spec.id} already running`)
    const env = { ...process.env, ...this.env, ...extraEnv }
    const proc = spawn(process.execPath, ['--enable-source-maps', cliPath, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    this.exitCode = null
    const keep = (d: Buffer): void => {
      // Keep the tail of the output for failure reports; bounded.
      this.output = (this.output + d.toString()).slice(-200_000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    proc.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal === null ? -1 : 128)
      if (this.proc === proc) this.proc = null
    })
  }

  running(): boolean {
    return this.proc !== null
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc
    if (proc === null) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill(signal)
    await exited
  }

  async status(): Promise<StatusJson | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.spec.httpPort}/status`, { signal: AbortSignal.timeout(2000) })
      if (!res.ok) return null
      return (await res.json()) as StatusJson
    } catch {
      return null
    }
  }

  redis(): Redis {
    const r = new Redis({ host: '127.0.0.1', port: this.spec.respPort, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: false, enableOfflineQueue: true })
    // Connection errors surface as rejected commands; the event itself is expected noise here.
    r.on('error', () => {})
    return r
  }
}

export class ProcessCluster {
  readonly nodes: ProcessNode[] = []
  private readonly root: string
  private readonly secret = 'test-cluster-secret-123'

  constructor(private readonly extraEnv: Record<string, string> = {}) {
    this.root = mkdtempSync(join(tmpdir(), 'raftkv-test-'))
  }

  async addNode(id: string): Promise<ProcessNode> {
    const spec: NodeSpec = {
      id,
      raftPort: await freePort(),
      respPort: await freePort(),
      httpPort: await freePort(),
      dataDir: join(this.root, id),
    }
    const first = this.nodes[0]
    const env: Record<string, string> = {
      NODE_ID: id,
      RAFT_ADDR: `127.0.0.1:${spec.raftPort}`,
      RESP_ADDR: `127.0.0.1:${spec.respPort}`,
      HTTP_ADDR: `127.0.0.1:${spec.httpPort}`,
      DATA_DIR: spec.dataDir,
      JOIN: first === undefined ? '' : first.raftAddr,
      CLUSTER_SECRET: this.secret,
      LOG_LEVEL: 'info',
      // Every node zero-fills its next log segment ahead of need; the default
      // 64 MiB per node adds up over a suite of many short-lived clusters.
      SEGMENT_BYTES: String(4 * 1024 * 1024),
      ...this.extraEnv,
    }
    const node = new ProcessNode(spec, env)
    this.nodes.push(node)
    return node
  }

  /** Starts n nodes: the first bootstraps, the others join it; waits until all are voters. */
  async start(n: number): Promise<void> {
    for (let i = 1; i <= n; i++) {
      const node = await this.addNode(`n${i}`)
      node.start()
      if (i === 1) await this.waitForWhileRunning(async () => (await node.status())?.role === 'leader', 'n1 to lead')
    }
    await this.waitForVoters(n)
  }

  node(id: string): ProcessNode {
    const n = this.nodes.find((x) => x.spec.id === id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  async waitForVoters(n: number): Promise<void> {
    await this.waitForWhileRunning(async () => {
      const leader = await this.leader()
      if (leader === null) return false
      const st = await leader.status()
      return st !== null && st.members.filter((m) => m.role === 'voter').length === n
    }, `${n} voters`)
  }

  /** The node that says it leads, if exactly one running node does. */
  async leader(): Promise<ProcessNode | null> {
    const leaders: ProcessNode[] = []
    for (const node of this.nodes) {
      if (!node.running()) continue
      const st = await node.status()
      if (st?.role === 'leader') leaders.push(node)
    }
    return leaders.length === 1 ? (leaders[0] as ProcessNode) : null
  }

  async waitForLeader(timeoutMs = 40_000): Promise<ProcessNode> {
    let found: ProcessNode | null = null
    await this.waitForWhileRunning(async () => {
      found = await this.leader()
      return found !== null
    }, 'a leader', timeoutMs)
    return found as unknown as ProcessNode
  }

  /** Generous by default: on two busy cores a node can take tens of seconds to start (conditions, not sleeps; only a failure waits this long). */
  async waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let delayMs = 20
    while (Date.now() < deadline) {
      if (await cond()) return
      await new Promise((r) => setTimeout(r, delayMs))
      delayMs = Math.min(delayMs * 2, 250)
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.outputs()}`)
  }

  /**
   * waitFor a condition that only a running node can bring about (a leader,
   * voters): once every node has exited (a bad setting makes a node print
   * one line and exit at start), fails at once with their output instead of
   * waiting out the timeout.
   */
  async waitForWhileRunning(cond: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
    await this.waitFor(async () => {
      if (await cond()) return true
      if (this.nodes.length > 0 && this.nodes.every((n) => !n.running())) {
        throw new Error(`every node has exited while waiting for ${what}\n${this.outputs()}`)
      }
      return false
    }, what, timeoutMs)
  }

  outputs(): string {
    return this.nodes.map((n) => `--- ${n.spec.id} (exit ${String(n.exitCode)}) ---\n${n.output.slice(-4000)}`).join('\n')
  }

  wipe(node: ProcessNode): void {
    rmSync(node.spec.dataDir, { recursive: true, force: true })
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')))
    rmSync(this.root, { recursive: true, force: true })
  }
}
