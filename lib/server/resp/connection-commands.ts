// Commands about the connection itself: PING, ECHO, AUTH, HELLO, SELECT,
// QUIT, CLIENT …, CONFIG GET, READONLY/READWRITE, RESET. None touches the
// replicated state.
import type { CommandContext, CommandFlag, CommandGroup, LocalCommandSpec } from './command-types.js'
import { parseInt64 } from './kv-commands.js'
import { notifyConfigValue } from './notify-config.js'
import {
  bulk,
  bulkArray,
  encodeValue,
  errorReply,
  integer,
  replyEmptyArray,
  replyNil,
  replyOk,
  replyPong,
  type Reply,
} from './reply-writer.js'

export const serverVersion = '7.0.0'

export const wrongPass = errorReply('WRONGPASS invalid username-password pair or user is disabled.')
const noPassword = errorReply(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
)

interface LocalInput {
  readonly arity: number
  readonly flags: readonly CommandFlag[]
  readonly group?: CommandGroup
  readonly summary: string
  readonly since: string
  readonly queueable?: boolean
  readonly subcommands?: readonly string[]
  run(ctx: CommandContext, args: readonly Buffer[]): Reply | Promise<Reply>
}

export function localSpec(name: string, input: LocalInput): LocalCommandSpec {
  return {
    name,
    kind: 'local',
    arity: input.arity,
    flags: input.flags,
    firstKey: 0,
    lastKey: 0,
    keyStep: 0,
    group: input.group ?? 'connection',
    summary: input.summary,
    since: input.since,
    queueable: input.queueable ?? false,
    ...(input.subcommands === undefined ? {} : { subcommands: input.subcommands }),
    run: input.run,
  }
}

export function wrongArity(name: string): Reply {
  return errorReply(`ERR wrong number of arguments for '${name}' command`)
}

function unknownSubcommand(command: string, sub: Buffer): Reply {
  return errorReply(`ERR unknown subcommand '${sub.subarray(0, 128).toString()}'. Try ${command} HELP.`)
}

const arg = (args: readonly Buffer[], index: number): Buffer => args[index] as Buffer
const word = (value: Buffer): string => (value.length > 32 ? '' : value.toString('latin1').toLowerCase())

async function auth(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  if (args.length > 3) return syntaxError()
  if (ctx.server.requirePass === null) return noPassword
  const user = args.length === 3 ? arg(args, 1) : null
  const password = arg(args, args.length - 1)
  const accepted = await ctx.authenticate(password)
  if (!accepted || (user !== null && user.toString() !== 'default')) return wrongPass
  return replyOk
}

function syntaxError(): Reply {
  return errorReply('ERR syntax error')
}

function helloFields(ctx: CommandContext): Reply {
  const role = ctx.server.backend.info().role === 'leader' ? 'master' : 'replica'
  return encodeValue([
    'server', 'redis', 'version', serverVersion, 'proto', 2, 'id', ctx.client.id,
    'mode', ctx.server.movedMode ? 'cluster' : 'standalone', 'role', role, 'modules', [],
  ])
}

async function hello(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  if (args.length >= 2) {
    const version = parseInt64(arg(args, 1))
    if (version === null) return errorReply('ERR Protocol version is not an integer or out of range')
    // No RESP3 here: 3 gets what Redis answers for any version it lacks, which is
    // what clients (ioredis, redis-cli -3) take as "fall back to RESP2".
    if (version !== 2n) return errorReply('NOPROTO unsupported protocol version')
  }
  let name: Buffer | null = null
  for (let i = 2; i < args.length; i++) {
    const option = word(arg(args, i))
    if (option === 'auth' && i + 2 < args.length) {
      if (ctx.server.requirePass === null) return noPassword
      const user = arg(args, i + 1).toString()
      const accepted = await ctx.authenticate(arg(args, i + 2))
      if (!accepted || user !== 'default') return wrongPass
      i += 2
    } else if (option === 'setname' && i + 1 < args.length) {
      name = arg(args, ++i)
      if (!validName(name)) return errorReply('ERR Client names cannot contain spaces, newlines or special characters.')
    } else {
      return errorReply(`ERR Syntax error in HELLO option '${arg(args, i).subarray(0, 64).toString()}'`)
    }
  }
  if (!ctx.client.authenticated) {
    return errorReply(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    )
  }
  if (name !== null) ctx.client.name = name.toString()
  return helloFields(ctx)
}

/** Client names and library names: printable ASCII without blanks, as in Redis. */
function validName(name: Buffer): boolean {
  for (const byte of name) if (byte < 33 || byte > 126) return false
  return true
}

function client(ctx: CommandContext, args: readonly Buffer[]): Reply {
  const sub = word(arg(args, 1))
  const arity = (n: number, exact = true): boolean => (exact ? args.length === n : args.length >= n)
  switch (sub) {
    case 'setname':
      if (!arity(3)) return wrongArity('client|setname')
      if (!validName(arg(args, 2))) return errorReply('ERR Client names cannot contain spaces, newlines or special characters.')
      ctx.client.name = arg(args, 2).toString()
      return replyOk
    case 'getname':
      if (!arity(2)) return wrongArity('client|getname')
      return ctx.client.name === '' ? replyNil : bulk(ctx.client.name)
    case 'id':
      if (!arity(2)) return wrongArity('client|id')
      return integer(ctx.client.id)
    case 'setinfo':
      return clientSetInfo(ctx, args)
    case 'info':
      if (!arity(2)) return wrongArity('client|info')
      return bulk(describe(ctx.connection) + '\n')
    case 'list':
      return clientList(ctx, args)
    case 'no-evict':
    case 'no-touch':
      if (!arity(3)) return wrongArity(`client|${sub}`)
      return replyOk
    case 'help':
      return bulkArray([
        'CLIENT <subcommand> [<arg> ...]. Subcommands are:',
        'GETNAME', 'ID', 'INFO', 'LIST [ID <id> ...]', 'SETNAME <name>', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'HELP',
      ])
    default:
      return unknownSubcommand('CLIENT', arg(args, 1))
  }
}

function clientSetInfo(ctx: CommandContext, args: readonly Buffer[]): Reply {
  if (args.length !== 4) return wrongArity('client|setinfo')
  const attribute = word(arg(args, 2))
  const value = arg(args, 3)
  if (attribute !== 'lib-name' && attribute !== 'lib-ver') {
    return errorReply(`ERR Unrecognized option '${arg(args, 2).subarray(0, 64).toString()}'`)
  }
  if (!validName(value) || value.length > 128) {
    return errorReply(`ERR ${attribute} cannot contain spaces, newlines or special characters.`)
  }
  if (attribute === 'lib-name') ctx.client.libName = value.toString()
  else ctx.client.libVer = value.toString()
  return replyOk
}

function describe(connection: CommandContext['connection']): string {
  return connection.client.describe(Date.now(), connection.queryBufferBytes(), connection.outputBytes(), connection.subscriptionCounts())
}

function clientList(ctx: CommandContext, args: readonly Buffer[]): Reply {
  let ids: Set<number> | null = null
  for (let i = 2; i < args.length; i++) {
    const option = word(arg(args, i))
    if (option === 'type' && i + 1 < args.length) {
      i++
    } else if (option === 'id' && i + 1 < args.length) {
      ids = new Set()
      for (i++; i < args.length; i++) {
        const id = parseInt64(arg(args, i))
        if (id === null || id <= 0n) return errorReply('ERR Invalid client ID')
        ids.add(Number(id))
      }
    } else return syntaxError()
  }
  const lines: string[] = []
  for (const connection of ctx.server.connections()) {
    if (ids === null || ids.has(connection.client.id)) lines.push(describe(connection))
  }
  return bulk(lines.map((line) => line + '\n').join(''))
}

function select(_ctx: CommandContext, args: readonly Buffer[]): Reply {
  const index = parseInt64(arg(args, 1))
  if (index === null) return errorReply('ERR value is not an integer or out of range')
  return index === 0n ? replyOk : errorReply('ERR DB index is out of range')
}

/** CONFIG SET: replicated parameters change on every node through the log (lib/kv/replicated-config.ts). */
async function configSet(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const outcome = await ctx.server.backend.write({ ops: [{ t: 'call', name: 'config-set', args: args.slice(2), seed: 0 }], watches: [] })
  const result = outcome.t === 'results' ? outcome.results[0] : outcome.t === 'duplicate' && outcome.outcome?.t === 'results' ? outcome.outcome.results[0] : undefined
  if (result?.t === 'ok') return replyOk
  if (result?.t === 'error') return errorReply(`${result.code} ${result.message}`)
  return errorReply('ERR CONFIG SET: the write was applied, but its result is no longer known')
}

function configGet(ctx: CommandContext, args: readonly Buffer[]): Reply | Promise<Reply> {
  const sub = word(arg(args, 1))
  if (sub === 'help') return bulkArray(['CONFIG GET <pattern> [<pattern> ...]', 'CONFIG SET <parameter> <value> [<parameter> <value> ...]'])
  if (sub === 'set') return args.length < 4 || args.length % 2 !== 0 ? wrongArity('config|set') : configSet(ctx, args)
  if (sub !== 'get') {
    if (sub === 'resetstat' || sub === 'rewrite') {
      return errorReply('ERR raftkv is configured through its environment; CONFIG ' + sub.toUpperCase() + ' is not supported')
    }
    return unknownSubcommand('CONFIG', arg(args, 1))
  }
  if (args.length < 3) return wrongArity('config|get')
  return configGetAll(ctx, args)
}

async function configGetAll(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const limits = ctx.server.limits
  const values: Record<string, string> = {
    save: '',
    appendonly: 'no',
    databases: '1',
    maxclients: String(limits.clientsMax),
    'proto-max-bulk-len': String(limits.bulkBytesMax),
    'client-query-buffer-limit': String(limits.queryBufferBytesMax),
    timeout: String(Math.floor(limits.idleTimeoutMs / 1000)),
    'cluster-enabled': ctx.server.movedMode ? 'yes' : 'no',
    // Every acknowledged write is fsynced on a majority first.
    appendfsync: 'always',
  }
  // The replicated parameters, after a read barrier so that a CONFIG SET just
  // answered (possibly by the leader, for a forwarded write) is applied here too;
  // without a leader, as this node has applied them.
  const op = { t: 'call', name: 'config-get', args: args.slice(2), seed: 0 } as const
  const [replicated] = await ctx.server.backend.read([op], 'linearizable').catch(() => ctx.server.backend.read([op], 'stale'))
  if (replicated?.t === 'array') {
    for (let i = 0; i + 1 < replicated.items.length; i += 2) {
      const name = replicated.items[i]
      const value = replicated.items[i + 1]
      if (name?.t === 'bulk' && value?.t === 'bulk') values[name.value.toString('latin1')] = value.value.toString('latin1')
    }
  }
  const notify = notifyConfigValue(ctx)
  if (notify !== null) values['notify-keyspace-events'] = notify
  const result: string[] = []
  for (const pattern of args.slice(2)) {
    const matcher = globToRegExp(pattern.toString().toLowerCase())
    for (const [name, value] of Object.entries(values)) {
      if (matcher.test(name) && !result.includes(name)) result.push(name, value)
    }
  }
  return result.length === 0 ? replyEmptyArray : bulkArray(result)
}

/** Redis-style glob (`*`, `?`, `[...]`) to a RegExp; used for CONFIG GET only. */
export function globToRegExp(pattern: string): RegExp {
  let source = ''
  for (const char of pattern.slice(0, 256)) {
    if (char === '*') source += '.*'
    else if (char === '?') source += '.'
    else source += char.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
  }
  return new RegExp(`^${source}$`, 's')
}

/**
 * TIME: this node's wall clock as Redis answers it, seconds and microseconds
 * since the epoch. Like Redis, each node reads its own clock (nothing goes
 * through the log), so two nodes may differ by their clock skew.
 */
function serverTime(): Reply {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000))
  return bulkArray([String(micros / 1_000_000n), String(micros % 1_000_000n)])
}

/** Connection commands; `closeAfterReply` gives QUIT its meaning. */
export const connectionCommands: readonly LocalCommandSpec[] = [
  localSpec('ping', {
    arity: -1, flags: ['fast', 'stale'], queueable: true, summary: 'Returns the server\'s liveliness response.', since: '1.0.0',
    run: (_ctx, args) => (args.length > 2 ? wrongArity('ping') : args.length === 2 ? bulk(arg(args, 1)) : replyPong),
  }),
  localSpec('echo', {
    arity: 2, flags: ['fast', 'stale'], queueable: true, summary: 'Returns the given string.', since: '1.0.0',
    run: (_ctx, args) => bulk(arg(args, 1)),
  }),
  localSpec('time', {
    arity: 1, flags: ['fast', 'stale', 'loading'], queueable: true, group: 'server', summary: 'Returns the server time.', since: '2.6.0',
    run: () => serverTime(),
  }),
  localSpec('auth', { arity: -2, flags: ['noauth', 'no-multi', 'fast', 'stale'], summary: 'Authenticates the connection.', since: '1.0.0', run: auth }),
  localSpec('hello', { arity: -1, flags: ['noauth', 'no-multi', 'fast', 'stale'], summary: 'Handshakes with the Redis server.', since: '6.0.0', run: hello }),
  localSpec('select', { arity: 2, flags: ['fast', 'stale', 'loading'], queueable: true, summary: 'Changes the selected database.', since: '1.0.0', run: select }),
  localSpec('quit', {
    arity: -1, flags: ['noauth', 'fast', 'stale', 'allow-busy'], summary: 'Closes the connection.', since: '1.0.0',
    run: (ctx) => {
      ctx.closeAfterReply()
      return replyOk
    },
  }),
  localSpec('client', {
    arity: -2, flags: ['no-multi', 'stale'], summary: 'A container for client connection commands.', since: '2.4.0',
    subcommands: ['getname', 'help', 'id', 'info', 'list', 'no-evict', 'no-touch', 'setinfo', 'setname'],
    run: client,
  }),
  localSpec('config', {
    arity: -2, flags: ['admin', 'no-multi', 'stale'], group: 'server', summary: 'A container for server configuration commands.', since: '2.0.0',
    subcommands: ['get', 'help', 'set'],
    run: configGet,
  }),
  localSpec('readonly', {
    arity: 1, flags: ['fast', 'stale', 'loading'], group: 'cluster', summary: 'Enables read-only queries for a connection (stale reads on this node).', since: '3.0.0',
    run: (ctx) => {
      ctx.client.staleReads = true
      return replyOk
    },
  }),
  localSpec('readwrite', {
    arity: 1, flags: ['fast', 'stale', 'loading'], group: 'cluster', summary: 'Enables linearizable reads for a connection (the default).', since: '3.0.0',
    run: (ctx) => {
      ctx.client.staleReads = false
      return replyOk
    },
  }),
]
