// Hash commands (semantics in lib/kv/hash-calls.ts).
import { callSpecs } from './call-spec.js'

const one = [1, 1, 1] as const

export const hashCommands = callSpecs('hash', [
  ['hset', one, true, '2.0.0', 'Creates or modifies the value of a field in a hash.'],
  ['hsetnx', one, true, '2.0.0', 'Sets the value of a field in a hash only when the field does not exist.'],
  ['hmset', one, true, '2.0.0', 'Sets the values of multiple fields.'],
  ['hget', one, true, '2.0.0', 'Returns the value of a field in a hash.'],
  ['hmget', one, true, '2.0.0', 'Returns the values of all fields in a hash.'],
  ['hgetall', one, false, '2.0.0', 'Returns all fields and values in a hash.'],
  ['hdel', one, true, '2.0.0', 'Deletes one or more fields and their values from a hash.'],
  ['hexists', one, true, '2.0.0', 'Determines whether a field exists in a hash.'],
  ['hlen', one, true, '2.0.0', 'Returns the number of fields in a hash.'],
  ['hkeys', one, false, '2.0.0', 'Returns all fields in a hash.'],
  ['hvals', one, false, '2.0.0', 'Returns all values in a hash.'],
  ['hstrlen', one, true, '3.2.0', 'Returns the length of the value of a field.'],
  ['hincrby', one, true, '2.0.0', 'Increments the integer value of a field in a hash by a number.'],
  ['hincrbyfloat', one, true, '2.6.0', 'Increments the floating point value of a field by a number.'],
  ['hrandfield', one, false, '6.2.0', 'Returns one or more random fields from a hash.'],
  ['hscan', one, false, '2.8.0', 'Iterates over fields and values of a hash.'],
])
