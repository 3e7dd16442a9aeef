// String, bitmap and keyspace commands beyond kv-commands.ts (semantics in
// lib/kv/string-calls.ts and lib/kv/keyspace-calls.ts).
import { callSpecs } from './call-spec.js'

const one = [1, 1, 1] as const
const two = [1, 2, 1] as const

export const stringCommands = [
  ...callSpecs('string', [
    ['setex', one, false, '2.0.0', 'Sets the string value and expiration time of a key. Creates the key if it does not exist.'],
    ['psetex', one, false, '2.6.0', 'Sets both string value and expiration time in milliseconds of a key. The key is created if it does not exist.'],
    ['getex', one, true, '6.2.0', 'Returns the string value of a key after setting its expiration time.'],
    ['getset', one, true, '1.0.0', 'Returns the previous string value of a key after setting it to a new value.'],
    ['msetnx', [1, -1, 2], false, '1.0.1', 'Atomically modifies the string values of one or more keys only when all keys don\'t exist.'],
    ['incrbyfloat', one, true, '2.6.0', 'Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.'],
    ['getrange', one, false, '2.4.0', 'Returns a substring of the string stored at a key.'],
    ['substr', one, false, '1.0.0', 'Returns a substring from a string value.'],
    ['setrange', one, false, '2.2.0', 'Overwrites a part of a string value with another by an offset. Creates the key if it doesn\'t exist.'],
    ['lcs', two, false, '7.0.0', 'Finds the longest common substring.'],
  ]),
  ...callSpecs('bitmap', [
    ['setbit', one, false, '2.2.0', 'Sets or clears the bit at offset of the string value. Creates the key if it doesn\'t exist.'],
    ['getbit', one, true, '2.2.0', 'Returns a bit value by offset.'],
    ['bitcount', one, false, '2.6.0', 'Counts the number of set bits (population counting) in a string.'],
    ['bitpos', one, false, '2.8.7', 'Finds the first set (1) or clear (0) bit in a string.'],
  ]),
  ...callSpecs('generic', [
    ['keys', [0, 0, 0], false, '1.0.0', 'Returns all key names that match a pattern.'],
    ['rename', two, false, '1.0.0', 'Renames a key and overwrites the destination.'],
    ['renamenx', two, true, '1.0.0', 'Renames a key only when the target key name doesn\'t exist.'],
    ['copy', two, false, '6.2.0', 'Copies the value of a key to a new key.'],
    ['touch', [1, -1, 1], true, '3.2.1', 'Returns the number of existing keys out of those specified after updating the time they were last accessed.'],
    ['randomkey', [0, 0, 0], false, '1.0.0', 'Returns a random key name from the database.'],
    ['object', [2, 2, 1], false, '2.2.3', 'A container for object introspection commands.'],
  ]),
]
