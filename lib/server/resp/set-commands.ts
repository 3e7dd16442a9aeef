// Set commands (semantics in lib/kv/set-calls.ts).
import { callSpecs } from './call-spec.js'

const one = [1, 1, 1] as const
const all = [1, -1, 1] as const

export const setCommands = callSpecs('set', [
  ['sadd', one, true, '1.0.0', 'Adds one or more members to a set. Creates the key if it does not exist.'],
  ['srem', one, true, '1.0.0', 'Removes one or more members from a set. Deletes the set if the last member was removed.'],
  ['smembers', one, false, '1.0.0', 'Returns all members of a set.'],
  ['sismember', one, true, '1.0.0', 'Determines whether a member belongs to a set.'],
  ['smismember', one, true, '6.2.0', 'Determines whether multiple members belong to a set.'],
  ['scard', one, true, '1.0.0', 'Returns the number of members in a set.'],
  ['spop', one, true, '1.0.0', 'Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.'],
  ['srandmember', one, false, '1.0.0', 'Get one or multiple random members from a set.'],
  ['smove', [1, 2, 1], true, '1.0.0', 'Moves a member from one set to another.'],
  ['sinter', all, false, '1.0.0', 'Returns the intersect of multiple sets.'],
  ['sunion', all, false, '1.0.0', 'Returns the union of multiple sets.'],
  ['sdiff', all, false, '1.0.0', 'Returns the difference of multiple sets.'],
  ['sinterstore', all, false, '1.0.0', 'Stores the intersect of multiple sets in a key.'],
  ['sunionstore', all, false, '1.0.0', 'Stores the union of multiple sets in a key.'],
  ['sdiffstore', all, false, '1.0.0', 'Stores the difference of multiple sets in a key.'],
  ['sintercard', [0, 0, 0], false, '7.0.0', 'Returns the number of members of the intersect of multiple sets.'],
  ['sscan', one, false, '2.8.0', 'Iterates over members of a set.'],
])
