// INFO: Redis' sections, plus `# Raft` with this node's view of the cluster.
// ioredis' ready check reads `loading:0` from it; redis-cli and monitoring
// tools read `role:`. Secrets never appear here.
import os from 'node:os'
import type { NodeInfo } from '../../replica/client-api.js'
import type { CommandContext, LocalCommandSpec } from './command-types.js'
import { localSpec, serverVersion } from './connection-commands.js'
import { bulk, errorReply, type Reply } from './reply-writer.js'

type Section = 'server' | 'clients' | 'memory' | 'persistence' | 'stats' | 'replication' | 'cpu' | 'commandstats' | 'errorstats' | 'raft' | 'keyspace'

const allSections: readonly Section[] = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'commandstats', 'errorstats', 'raft', 'keyspace']
/** As in Redis 7, a plain INFO leaves commandstats out (one line per command ever called). */
const defaultSections: readonly Section[] = allSections.filter((s) => s !== 'commandstats')

function sectionsFor(args: readonly Buffer[]): Set<Section> {
  if (args.length <= 1) return new Set(defaultSections)
  const chosen = new Set<Section>()
  for (const value of args.slice(1)) {
    const name = value.length > 32 ? '' : value.toString('latin1').toLowerCase()
    if (name === 'all' || name === 'everything') return new Set(allSections)
    if (name === 'default') for (const s of defaultSections) chosen.add(s)
    if ((allSections as readonly string[]).includes(name)) chosen.add(name as Section)
  }
  return chosen
}

function humanBytes(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes}B` : `${value.toFixed(2)}${units[unit]}`
}

function serverSection(ctx: CommandContext): string[] {
  const uptimeSeconds = Math.floor((Date.now() - ctx.server.startedAtMs) / 1000)
  return [
    `redis_version:${serverVersion}`,
    `raftkv_version:0.1.0`,
    `redis_mode:${ctx.server.movedMode ? 'cluster' : 'standalone'}`,
    `os:${os.type()} ${os.release()} ${os.arch()}`,
    `arch_bits:64`,
    `process_id:${process.pid}`,
    `run_id:${ctx.server.runId}`,
    `tcp_port:${ctx.server.address().port}`,
    `uptime_in_seconds:${uptimeSeconds}`,
    `uptime_in_days:${Math.floor(uptimeSeconds / 86400)}`,
    `node_version:${process.version}`,
  ]
}

function clientsSection(ctx: CommandContext): string[] {
  let connected = 0
  let blocked = 0
  for (const connection of ctx.server.connections()) {
    connected++
    if (connection.client.blocked) blocked++
  }
  return [`connected_clients:${connected}`, `maxclients:${ctx.server.limits.clientsMax}`, `blocked_clients:${blocked}`]
}

function memorySection(): string[] {
  const usage = process.memoryUsage()
  // The V8 heap in use plus Buffers' backing stores: the keyspace's string values live in slabs outside the heap (kv/value-arena.ts).
  const used = usage.heapUsed + usage.arrayBuffers
  return [
    `used_memory:${used}`,
    `used_memory_human:${humanBytes(used)}`,
    `used_memory_rss:${usage.rss}`,
    `used_memory_rss_human:${humanBytes(usage.rss)}`,
    `maxmemory:0`,
  ]
}

function persistenceSection(info: NodeInfo): string[] {
  return [`loading:0`, `raft_snapshot_index:${info.snapshotIndex}`]
}

function statsSection(ctx: CommandContext): string[] {
  const stats = ctx.server.stats
  return [
    `total_connections_received:${stats.connectionsReceived}`,
    `total_commands_processed:${stats.commandsProcessed}`,
    `rejected_connections:${stats.connectionsRejected}`,
    `total_net_input_bytes:${stats.netInputBytes}`,
    `total_net_output_bytes:${stats.netOutputBytes}`,
    ...pubsubLines(ctx),
  ]
}

/**
 * Redis 7's pub/sub lines of INFO stats: channels and distinct patterns with
 * a subscriber on this node. raftkv has no sharded Pub/Sub (SSUBSCRIBE), so
 * pubsubshard_channels is 0, as Redis prints it with none.
 */
function pubsubLines(ctx: CommandContext): string[] {
  const pubsub = ctx.server.feeds?.pubsub
  return [`pubsub_channels:${pubsub?.channelCount() ?? 0}`, `pubsub_patterns:${pubsub?.patternCount() ?? 0}`, `pubsubshard_channels:0`]
}

// master_repl_offset is Redis' replication stream position in bytes; raftkv's
// stream is the Raft log, so it is the commit index this node knows (entries,
// not bytes), and a replica's slave_repl_offset is its applied index. Both grow
// with every write, which is what monitoring reads them for.
function replicationSection(info: NodeInfo): string[] {
  if (info.role === 'leader') {
    const replicas = info.members.filter((member) => member.id !== info.id)
    const lines = [`role:master`, `connected_slaves:${replicas.length}`]
    replicas.forEach((member, index) => {
      const [host, port] = splitAddr(member.respAddr)
      lines.push(`slave${index}:ip=${host},port=${port},state=online,offset=0,lag=0`)
    })
    lines.push(`master_repl_offset:${info.commitIndex}`)
    return lines
  }
  const [host, port] = splitAddr(info.leaderRespAddr)
  return [
    `role:slave`,
    `master_host:${host}`,
    `master_port:${port}`,
    `master_link_status:${info.leaderId === null ? 'down' : 'up'}`,
    `slave_repl_offset:${info.appliedIndex}`,
    `slave_read_only:1`,
    `connected_slaves:0`,
    `master_repl_offset:${info.commitIndex}`,
  ]
}

function cpuSection(): string[] {
  const usage = process.cpuUsage()
  return [`used_cpu_sys:${(usage.system / 1e6).toFixed(6)}`, `used_cpu_user:${(usage.user / 1e6).toFixed(6)}`]
}

export function raftSection(info: NodeInfo): string[] {
  const lines = [
    `raft_node_id:${info.id}`,
    `raft_role:${info.role}`,
    `raft_term:${info.term}`,
    `raft_leader_id:${info.leaderId ?? ''}`,
    `raft_leader_resp_addr:${info.leaderRespAddr ?? ''}`,
    `raft_commit_index:${info.commitIndex}`,
    `raft_applied_index:${info.appliedIndex}`,
    `raft_snapshot_index:${info.snapshotIndex}`,
    `raft_members:${info.members.length}`,
    // Test-only switches (RAFTKV_TEST_MODE): empty on any production node.
    `raft_unsafe_switches:${(info.unsafeSwitches ?? []).join(',')}`,
  ]
  info.members.forEach((member, index) => {
    lines.push(
      `raft_member${index}:id=${member.id},role=${member.role},raft_addr=${member.raftAddr},resp_addr=${member.respAddr ?? ''},http_addr=${member.httpAddr ?? ''},incarnation=${member.incarnation}`,
    )
  })
  return lines
}

/** `host:port` → [host, port]; an IPv6 host keeps its colons. */
export function splitAddr(addr: string | null): [string, string] {
  if (addr === null) return ['', '0']
  const colon = addr.lastIndexOf(':')
  if (colon === -1) return [addr, '0']
  return [addr.slice(0, colon).replace(/^\[|\]$/g, ''), addr.slice(colon + 1)]
}

async function keyspaceSection(ctx: CommandContext): Promise<string[]> {
  try {
    // One read, so both counts come from the same state.
    const [keys, expires] = await ctx.server.backend.read([{ t: 'dbsize' }, { t: 'dbexpires' }], 'stale')
    if (keys?.t !== 'int' || expires?.t !== 'int' || Number(keys.value) === 0) return []
    // avg_ttl is Redis' sampled estimate; raftkv samples nothing, and 0 is what Redis prints without one.
    return [`db0:keys=${keys.value},expires=${expires.value},avg_ttl=0`]
  } catch {
    return []
  }
}

async function info(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const sections = sectionsFor(args)
  const node = ctx.server.backend.info()
  const builders: Record<Section, () => string[] | Promise<string[]>> = {
    server: () => serverSection(ctx),
    clients: () => clientsSection(ctx),
    memory: memorySection,
    persistence: () => persistenceSection(node),
    stats: () => statsSection(ctx),
    replication: () => replicationSection(node),
    cpu: cpuSection,
    commandstats: () => ctx.server.stats.commands.commandLines(),
    errorstats: () => ctx.server.stats.commands.errorLines(),
    raft: () => raftSection(node),
    keyspace: () => keyspaceSection(ctx),
  }
  const parts: string[] = []
  for (const section of allSections) {
    if (!sections.has(section)) continue
    const title = section === 'raft' ? 'Raft' : section[0]?.toUpperCase() + section.slice(1)
    parts.push(`# ${title}\r\n${(await builders[section]()).map((line) => line + '\r\n').join('')}`)
  }
  return bulk(parts.join('\r\n'))
}

export const infoCommand: LocalCommandSpec = localSpec('info', {
  arity: -1,
  flags: ['stale', 'loading'],
  group: 'server',
  summary: 'Returns information and statistics about the server.',
  since: '1.0.0',
  run: (ctx, args) =>
    info(ctx, args).catch((error: unknown) => {
      ctx.server.logger.error({ err: error }, 'INFO failed')
      return errorReply('ERR INFO failed')
    }),
})
