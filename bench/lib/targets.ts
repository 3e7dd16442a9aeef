// The systems under test, each started on free loopback ports in a temporary
// directory and stopped again: a raftkv cluster (real node processes, default
// settings: FSYNC=always, linearizable reads), one redis-server with
// `appendonly yes` + `appendfsync always`, and an etcd cluster (Debian's
// etcd-server 3.4, which fsyncs its WAL before acknowledging).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { tuningDefaults } from '../../lib/config/node-config.js'
import { ProcessCluster, type ProcessNode } from '../../test/cluster/process-cluster.js'
import { adopt, freePort, startProcess, stopProcess, waitFor } from './procs.js'

export interface RespTarget {
  readonly name: string
  /** Where writes go: raftkv's leader, or the one Redis. */
  readonly writePort: number
  /** A follower's RESP port (raftkv only): reads there go through ReadIndex on the leader. */
  readonly followerPort: number | null
  /** The server processes (for CPU accounting), the one taking writes first. */
  pids(): number[]
  stop(): Promise<void>
}

export interface RaftkvTarget extends RespTarget {
  readonly cluster: ProcessCluster
  readonly leader: ProcessNode
}

/**
 * `checkout`: another checkout's root (built with `npx tsc`) whose raftkv to
 * run instead of this one, for before/after comparisons within one run.
 */
export async function startRaftkv(nodes: number, env: Record<string, string> = {}, checkout: string | null = null): Promise<RaftkvTarget> {
  let Cluster: typeof ProcessCluster = ProcessCluster
  if (checkout !== null) {
    const mod = (await import(pathToFileURL(join(checkout, 'dist', 'test', 'cluster', 'process-cluster.js')).href)) as { ProcessCluster: typeof ProcessCluster }
    Cluster = mod.ProcessCluster
  }
  // The test harness shrinks segments; the benchmark runs the defaults.
  const cluster = new Cluster({ LOG_LEVEL: 'warn', SEGMENT_BYTES: String(tuningDefaults.SEGMENT_BYTES), ...env })
  try {
    await cluster.start(nodes)
  } finally {
    for (const n of cluster.nodes) adopt(n.proc)
  }
  const leader = await cluster.waitForLeader()
  const follower = cluster.nodes.find((n) => n !== leader) ?? null
  return {
    name: checkout === null ? `raftkv-${nodes}` : `raftkv-${nodes}-${basename(checkout)}`,
    cluster,
    leader,
    writePort: leader.spec.respPort,
    followerPort: follower?.spec.respPort ?? null,
    pids: () => [leader, ...cluster.nodes.filter((n) => n !== leader)].map((n) => n.proc?.pid ?? 0),
    stop: () => cluster.stop(),
  }
}

export async function startRedis(): Promise<RespTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-bench-redis-'))
  const port = await freePort()
  const { proc, output } = startProcess('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no',
  ])
  await waitFor(async () => {
    const r = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    r.on('error', () => {})
    try {
      await r.connect()
      return (await r.ping()) === 'PONG'
    } finally {
      r.disconnect()
    }
  }, `redis-server on port ${port}\n${output()}`)
  return {
    name: 'redis-always',
    writePort: port,
    followerPort: null,
    pids: () => [proc.pid ?? 0],
    stop: async () => {
      await stopProcess(proc)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The runtime's ceiling: bench/node-floor-server.ts, one Node process answering from memory. */
export async function startNodeFloor(): Promise<RespTarget> {
  const port = await freePort()
  const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'node-floor-server.js')
  const { proc, output } = startProcess(process.execPath, [server, String(port)])
  await waitFor(async () => output().includes('listening on'), `node-floor-server on port ${port}\n${output()}`)
  return { name: 'node-floor', writePort: port, followerPort: null, pids: () => [proc.pid ?? 0], stop: () => stopProcess(proc) }
}

/**
 * The physical floor of a replicated, durable write in Node.js here:
 * bench/replication-floor-server.ts, a leader and two followers, each with an
 * O_DSYNC log, a SET acknowledged once durable on two of the three, and none
 * of raftkv's machinery. pids(): the leader, then the followers.
 */
/** `env` is added to the processes' environment (gc-pauses preloads its hook with it); the floor's code is the same either way. */
export async function startReplicationFloor(env: Record<string, string> = {}): Promise<RespTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-bench-replication-floor-'))
  const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'replication-floor-server.js')
  const started: ReturnType<typeof startProcess>[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => stopProcess(p.proc)))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const followerPorts = [await freePort(), await freePort()]
    for (const [i, port] of followerPorts.entries()) {
      const f = startProcess(process.execPath, [server, 'follower', String(port), join(dir, `follower-${i + 1}`)], { env: { ...process.env, ...env } })
      started.push(f)
      await waitFor(async () => f.output().includes('listening on'), `replication-floor follower on port ${port}\n${f.output()}`)
    }
    const port = await freePort()
    const leader = startProcess(process.execPath, [server, 'leader', String(port), join(dir, 'leader'), ...followerPorts.map(String)], { env: { ...process.env, ...env } })
    started.unshift(leader)
    await waitFor(async () => leader.output().includes('listening on'), `replication-floor leader on port ${port}\n${leader.output()}`)
    return { name: 'replication-floor', writePort: port, followerPort: null, pids: () => started.map((p) => p.proc.pid ?? 0), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

export interface EtcdTarget {
  readonly name: string
  /** http://127.0.0.1:port of each member's client listener (the JSON gateway lives there too). */
  readonly clientUrls: readonly string[]
  readonly leaderUrl: string
  readonly followerUrl: string
  stop(): Promise<void>
}

export async function startEtcd(members: number): Promise<EtcdTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-bench-etcd-'))
  const specs: { name: string; client: string; peer: string }[] = []
  for (let i = 1; i <= members; i++) {
    specs.push({ name: `e${i}`, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}` })
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peer}`).join(',')
  const procs = specs.map((s) => startProcess('etcd', [
    '--name', s.name, '--data-dir', join(dir, s.name),
    '--listen-client-urls', s.client, '--advertise-client-urls', s.client,
    '--listen-peer-urls', s.peer, '--initial-advertise-peer-urls', s.peer,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'new',
    '--initial-cluster-token', 'raftkv-bench', '--log-level', 'warn',
  ]))
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => stopProcess(p.proc)))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    let leaderUrl = ''
    await waitFor(async () => {
      for (const s of specs) {
        const st = await etcdStatus(s.client)
        if (st !== null && st.leader !== '' && st.leader === st.memberId) leaderUrl = s.client
      }
      return leaderUrl !== ''
    }, `an etcd leader\n${procs.map((p) => p.output()).join('\n')}`)
    const followerUrl = specs.find((s) => s.client !== leaderUrl)?.client ?? leaderUrl
    return { name: `etcd-${members}`, clientUrls: specs.map((s) => s.client), leaderUrl, followerUrl, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

async function etcdStatus(url: string): Promise<{ memberId: string; leader: string } | null> {
  const res = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) })
  if (!res.ok) return null
  const body = (await res.json()) as { header?: { member_id?: string }; leader?: string }
  return { memberId: body.header?.member_id ?? '', leader: body.leader ?? '' }
}
