// CLUSTER … for Redis Cluster clients (ioredis Redis.Cluster, redis-cli -c):
// the whole keyspace is one shard, the leader its master for slots 0–16383,
// the other members its replicas. And RAFT …, the operator commands, passed
// to the backend's admin().
import type { MemberInfo, NodeInfo } from '../../replica/client-api.js'
import { backendErrorReply } from './backend-errors.js'
import type { CommandContext, LocalCommandSpec } from './command-types.js'
import { localSpec, wrongArity } from './connection-commands.js'
import { splitAddr } from './info-command.js'
import { keySlot, slotCount } from './key-slot.js'
import { bulk, encodeValue, errorReply, integer, type Reply, type ReplyValue } from './reply-writer.js'

const arg = (args: readonly Buffer[], index: number): Buffer => args[index] as Buffer
const word = (value: Buffer): string => (value.length > 32 ? '' : value.toString('latin1').toLowerCase())

interface Placed {
  readonly member: MemberInfo
  readonly host: string
  readonly port: number
  readonly master: boolean
}

/** Members with a RESP address, the leader first. */
function placedMembers(info: NodeInfo): Placed[] | null {
  if (info.leaderId === null) return null
  const placed: Placed[] = []
  for (const member of info.members) {
    if (member.respAddr === null) continue
    const [host, port] = splitAddr(member.respAddr)
    placed.push({ member, host, port: Number(port), master: member.id === info.leaderId })
  }
  placed.sort((a, b) => Number(b.master) - Number(a.master))
  return placed.length > 0 && placed[0]?.master === true ? placed : null
}

const clusterDown = errorReply('CLUSTERDOWN The cluster is down: no leader is known')

function slots(info: NodeInfo): Reply {
  const placed = placedMembers(info)
  if (placed === null) return clusterDown
  const nodes: ReplyValue[] = placed.map((p) => [p.host, p.port, p.member.id])
  return encodeValue([[0, slotCount - 1, ...nodes]])
}

function shards(info: NodeInfo): Reply {
  const placed = placedMembers(info)
  if (placed === null) return clusterDown
  const nodes: ReplyValue[] = placed.map((p) => [
    'id', p.member.id, 'port', p.port, 'ip', p.host, 'endpoint', p.host,
    'role', p.master ? 'master' : 'replica', 'replication-offset', 0, 'health', 'online',
  ])
  return encodeValue([['slots', [0, slotCount - 1], 'nodes', nodes]])
}

function clusterInfo(info: NodeInfo): Reply {
  const ok = info.leaderId !== null
  const lines = [
    `cluster_enabled:1`,
    `cluster_state:${ok ? 'ok' : 'fail'}`,
    `cluster_slots_assigned:${slotCount}`,
    `cluster_slots_ok:${ok ? slotCount : 0}`,
    `cluster_slots_pfail:0`,
    `cluster_slots_fail:${ok ? 0 : slotCount}`,
    `cluster_known_nodes:${info.members.length}`,
    `cluster_size:1`,
    `cluster_current_epoch:${info.term}`,
    `cluster_my_epoch:${info.term}`,
    `cluster_stats_messages_sent:0`,
    `cluster_stats_messages_received:0`,
  ]
  return bulk(lines.map((line) => line + '\r\n').join(''))
}

function nodes(info: NodeInfo): Reply {
  const placed = placedMembers(info) ?? []
  const leader = placed.find((p) => p.master)
  const lines = placed.map((p) => {
    const flags = `${p.member.id === info.id ? 'myself,' : ''}${p.master ? 'master' : 'slave'}`
    const master = p.master || leader === undefined ? '-' : leader.member.id
    const slotRange = p.master ? ` 0-${slotCount - 1}` : ''
    return `${p.member.id} ${p.host}:${p.port}@0 ${flags} ${master} 0 0 ${info.term} connected${slotRange}`
  })
  return bulk(lines.map((line) => line + '\n').join(''))
}

function cluster(ctx: CommandContext, args: readonly Buffer[]): Reply {
  const sub = word(arg(args, 1))
  const info = ctx.server.backend.info()
  switch (sub) {
    case 'slots':
      return args.length === 2 ? slots(info) : wrongArity('cluster|slots')
    case 'shards':
      return args.length === 2 ? shards(info) : wrongArity('cluster|shards')
    case 'info':
      return args.length === 2 ? clusterInfo(info) : wrongArity('cluster|info')
    case 'myid':
      return args.length === 2 ? bulk(info.id) : wrongArity('cluster|myid')
    case 'nodes':
      return args.length === 2 ? nodes(info) : wrongArity('cluster|nodes')
    case 'keyslot':
      return args.length === 3 ? integer(keySlot(arg(args, 2))) : wrongArity('cluster|keyslot')
    default:
      return errorReply(`ERR unknown subcommand '${arg(args, 1).subarray(0, 128).toString()}'. Try CLUSTER HELP.`)
  }
}

const raftOps: Record<string, { readonly min: number; readonly max: number }> = {
  status: { min: 0, max: 0 },
  add: { min: 2, max: 3 },
  remove: { min: 1, max: 1 },
  'transfer-leader': { min: 1, max: 1 },
  snapshot: { min: 0, max: 0 },
}

async function raft(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const op = word(arg(args, 1))
  const shape = raftOps[op]
  if (shape === undefined) {
    return errorReply(`ERR unknown subcommand '${arg(args, 1).subarray(0, 128).toString()}'. Try RAFT STATUS, ADD, REMOVE, TRANSFER-LEADER or SNAPSHOT.`)
  }
  const rest = args.slice(2).map((value) => value.toString())
  if (rest.length < shape.min || rest.length > shape.max) return wrongArity(`raft|${op}`)
  try {
    return bulk(await ctx.server.backend.admin(op, rest))
  } catch (error) {
    return backendErrorReply(error, ctx.server.logger)
  }
}

export const clusterCommands: readonly LocalCommandSpec[] = [
  localSpec('cluster', {
    arity: -2, flags: ['stale'], group: 'cluster', summary: 'A container for Redis Cluster commands (one shard: the Raft leader and its followers).', since: '3.0.0',
    subcommands: ['info', 'keyslot', 'myid', 'nodes', 'shards', 'slots'],
    run: cluster,
  }),
  localSpec('raft', {
    arity: -2, flags: ['admin', 'no-multi', 'stale'], group: 'server', summary: 'Operator commands: STATUS, ADD id raftAddr [voter|learner], REMOVE id, TRANSFER-LEADER id, SNAPSHOT.', since: '0.1.0',
    subcommands: Object.keys(raftOps),
    run: raft,
  }),
]
