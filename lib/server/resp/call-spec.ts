// Command-table entries for the commands that travel as 'call' ops: the
// state machine's registry (lib/kv/calls.ts) says how many arguments each
// takes and whether it writes; the family modules add what COMMAND reports.
// Parsing happens where the command runs, inside the state machine, so a
// syntax error comes back from apply (or the local read) with Redis' text.
import { randomInt } from 'node:crypto'
import type { KvOp } from '../../kv/command.js'
import { lookupCall } from '../../kv/calls.js'
import type { BlockingSpec, CommandFlag, CommandGroup, KvCommandSpec } from './command-types.js'
import type { Reply } from './reply-writer.js'

/** [name, [firstKey, lastKey, step], fast, since, summary] */
export type CallRow = readonly [string, readonly [number, number, number], boolean, string, string]

/** Seeds fit a float64 exactly (the log stores them as one); randomInt allows a range below 2^48. */
const SEED_LIMIT = 2 ** 48 - 1

export function callSpecs(group: CommandGroup, rows: readonly CallRow[], blocking?: BlockingSpec): KvCommandSpec[] {
  return rows.map(([name, keys, fast, since, summary]) => {
    const call = lookupCall(name)
    if (call === undefined) throw new Error(`call-spec: '${name}' is not in the state machine's registry`)
    const flags: CommandFlag[] = [call.write ? 'write' : 'readonly']
    if (fast) flags.push('fast')
    const random = call.random === true
    return {
      name,
      kind: call.write ? 'write' : 'read',
      arity: call.arity,
      flags,
      firstKey: keys[0],
      lastKey: keys[1],
      keyStep: keys[2],
      group,
      summary,
      since,
      toOp: (args: readonly Buffer[]): KvOp | Reply => ({ t: 'call', name, args: args.slice(1), seed: random ? randomInt(SEED_LIMIT) : 0 }),
      ...(blocking === undefined ? {} : { blocking }),
    }
  })
}
