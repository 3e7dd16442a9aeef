// The command table: name → arity, flags, key positions, docs and handler.
// It drives dispatch and COMMAND COUNT/INFO/DOCS/LIST, so what COMMAND
// reports is exactly what the server does.
import { clusterCommands } from './cluster-commands.js'
import type { CommandContext, CommandSpec, LocalCommandSpec, SpecialCommandSpec } from './command-types.js'
import { connectionCommands, localSpec, wrongArity } from './connection-commands.js'
import { infoCommand } from './info-command.js'
import { kvCommands } from './kv-commands.js'
import { publishCommand, pubsubCommands } from './pubsub-commands.js'
import { hashCommands } from './hash-commands.js'
import { blockingListCommands, listCommands } from './list-commands.js'
import { setCommands } from './set-commands.js'
import { stringCommands } from './string-commands.js'
import { blockingZsetCommands, zsetCommands } from './zset-commands.js'
import { bulkArray, encodeValue, errorReply, integer, type Reply, type ReplyValue } from './reply-writer.js'

function special(
  name: string,
  arity: number,
  flags: SpecialCommandSpec['flags'],
  group: SpecialCommandSpec['group'],
  keys: [number, number, number],
  summary: string,
  since: string,
): SpecialCommandSpec {
  return { name, kind: 'special', arity, flags, group, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2], summary, since }
}

/** Commands the connection runs itself (transactions and SCAN). */
const specialCommands: readonly SpecialCommandSpec[] = [
  special('multi', 1, ['fast', 'no-multi', 'loading', 'stale'], 'transactions', [0, 0, 0], 'Starts a transaction.', '1.2.0'),
  special('exec', 1, ['no-multi', 'loading', 'stale'], 'transactions', [0, 0, 0], 'Executes all commands in a transaction, as one Raft log entry.', '1.2.0'),
  special('discard', 1, ['fast', 'no-multi', 'loading', 'stale'], 'transactions', [0, 0, 0], 'Discards a transaction.', '2.0.0'),
  special('watch', -2, ['fast', 'no-multi', 'loading', 'stale'], 'transactions', [1, -1, 1], 'Monitors changes to keys to determine the execution of a transaction.', '2.2.0'),
  special('unwatch', 1, ['fast', 'no-multi', 'loading', 'stale'], 'transactions', [0, 0, 0], 'Forgets about watched keys of a transaction.', '2.2.0'),
  special('scan', -2, ['readonly'], 'generic', [0, 0, 0], 'Iterates over the key names in the database.', '2.8.0'),
]

const table = new Map<string, CommandSpec>()

/**
 * The commands whose names have at most SHORT_NAME_BYTES bytes, by
 * packShortName: most requests (SET, GET, INCR, HSET, LPUSH, ...) are
 * found without a string made and lower-cased for each (two strings a
 * request, ~1.4 % of a leader's CPU under -P 16; bench/README section 41).
 */
const shortNames = new Map<number, CommandSpec>()
const SHORT_NAME_BYTES = 6

/**
 * A name of at most SHORT_NAME_BYTES bytes as one number, ASCII capitals
 * folded to lower case as Redis folds command names: its bytes in base 256,
 * times 8, plus its length (2^51 at most, so exact in a double, and no two
 * names share one).
 */
function packShortName(name: Uint8Array, length: number): number {
  let packed = 0
  for (let i = length - 1; i >= 0; i--) {
    const byte = name[i] as number
    packed = packed * 256 + (byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte)
  }
  return packed * 8 + length
}

export function lookupCommand(name: Buffer): CommandSpec | undefined {
  // Latin-1 lower-casing maps no byte outside ASCII into it, so a short name the packed table lacks is no command.
  if (name.length <= SHORT_NAME_BYTES) return shortNames.get(packShortName(name, name.length))
  if (name.length > 32) return undefined
  return table.get(name.toString('latin1').toLowerCase())
}

export function allCommands(): Iterable<CommandSpec> {
  return table.values()
}

function flagsOf(spec: CommandSpec): string[] {
  const flags: string[] = [...spec.flags]
  if (spec.kind === 'write' && !flags.includes('write')) flags.push('write')
  return flags
}

function commandInfo(spec: CommandSpec): ReplyValue {
  const subcommands: ReplyValue[] = (spec.subcommands ?? []).map((sub) => [
    `${spec.name}|${sub}`, -2, [], 0, 0, 0, [], [], [], [],
  ])
  return [spec.name, spec.arity, flagsOf(spec), spec.firstKey, spec.lastKey, spec.keyStep, [], [], [], subcommands]
}

function commandDocs(spec: CommandSpec): ReplyValue {
  const docs: ReplyValue[] = ['summary', spec.summary, 'since', spec.since, 'group', spec.group]
  if (spec.subcommands !== undefined) {
    const subs: ReplyValue[] = []
    for (const sub of spec.subcommands) {
      subs.push(`${spec.name}|${sub}`, ['summary', `${spec.name.toUpperCase()} ${sub.toUpperCase()}`, 'since', spec.since, 'group', spec.group])
    }
    docs.push('subcommands', subs)
  }
  return docs
}

function command(_ctx: CommandContext, args: readonly Buffer[]): Reply {
  if (args.length === 1) return encodeValue([...allCommands()].map(commandInfo))
  const sub = (args[1] as Buffer).toString('latin1').toLowerCase()
  const names = args.slice(2)
  switch (sub) {
    case 'count':
      return args.length === 2 ? integer(table.size) : wrongArity('command|count')
    case 'list':
      return bulkArray([...table.keys()])
    case 'info': {
      const specs = names.length === 0 ? [...allCommands()] : names.map(lookupCommand)
      return encodeValue(specs.map((spec) => (spec === undefined ? null : commandInfo(spec))))
    }
    case 'docs': {
      const specs = names.length === 0 ? [...allCommands()] : names.map(lookupCommand)
      const flat: ReplyValue[] = []
      for (const spec of specs) if (spec !== undefined) flat.push(spec.name, commandDocs(spec))
      return encodeValue(flat)
    }
    case 'getkeys':
      return errorReply('ERR COMMAND GETKEYS is not supported')
    case 'help':
      return bulkArray(['COMMAND [<subcommand> [<arg> ...]]. Subcommands are:', 'COUNT', 'DOCS [<command-name> ...]', 'INFO [<command-name> ...]', 'LIST'])
    default:
      return errorReply(`ERR unknown subcommand '${(args[1] as Buffer).subarray(0, 128).toString()}'. Try COMMAND HELP.`)
  }
}

const commandCommand: LocalCommandSpec = localSpec('command', {
  arity: -1,
  flags: ['loading', 'stale'],
  group: 'server',
  summary: 'Returns detailed information about all commands.',
  since: '2.8.13',
  subcommands: ['count', 'docs', 'help', 'info', 'list'],
  run: command,
})

for (const spec of [...connectionCommands, infoCommand, commandCommand, ...clusterCommands, ...kvCommands, ...stringCommands, ...hashCommands, ...listCommands, ...blockingListCommands, ...setCommands, ...zsetCommands, ...blockingZsetCommands, ...specialCommands, ...pubsubCommands, publishCommand]) {
  table.set(spec.name, spec)
  if (spec.name.length <= SHORT_NAME_BYTES) shortNames.set(packShortName(Buffer.from(spec.name, 'latin1'), spec.name.length), spec)
}
