// List commands (semantics in lib/kv/list-calls.ts).
import { callSpecs } from './call-spec.js'

const one = [1, 1, 1] as const
const two = [1, 2, 1] as const

export const listCommands = callSpecs('list', [
  ['lpush', one, true, '1.0.0', 'Prepends one or more elements to a list. Creates the key if it does not exist.'],
  ['rpush', one, true, '1.0.0', 'Appends one or more elements to a list. Creates the key if it does not exist.'],
  ['lpushx', one, true, '2.2.0', 'Prepends one or more elements to a list only when the list exists.'],
  ['rpushx', one, true, '2.2.0', 'Appends an element to a list only when the list exists.'],
  ['lpop', one, true, '1.0.0', 'Returns the first elements in a list after removing it. Deletes the list if the last element was popped.'],
  ['rpop', one, true, '1.0.0', 'Returns and removes the last elements of a list. Deletes the list if the last element was popped.'],
  ['llen', one, true, '1.0.0', 'Returns the length of a list.'],
  ['lrange', one, false, '1.0.0', 'Returns a range of elements from a list.'],
  ['lindex', one, false, '1.0.0', 'Returns an element from a list by its index.'],
  ['lset', one, false, '1.0.0', 'Sets the value of an element in a list by its index.'],
  ['lrem', one, false, '1.0.0', 'Removes elements from a list. Deletes the list if the last element was removed.'],
  ['ltrim', one, false, '1.0.0', 'Removes elements from both ends a list. Deletes the list if all elements were trimmed.'],
  ['linsert', one, false, '2.2.0', 'Inserts an element before or after another element in a list.'],
  ['lpos', one, false, '6.0.6', 'Returns the index of matching elements in a list.'],
  ['lmove', two, false, '6.2.0', 'Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.'],
  ['rpoplpush', two, false, '1.2.0', 'Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.'],
  ['lmpop', [0, 0, 0], false, '7.0.0', 'Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.'],
])

/** `key [key …] timeout`: every argument but the last is a key. */
const keysThenTimeout = { keys: (a: readonly Buffer[]) => a.slice(1, -1), timeout: (a: readonly Buffer[]) => a[a.length - 1] }

export const blockingListCommands = [
  ...callSpecs('list', [
    ['blpop', [1, -2, 1], false, '2.0.0', 'Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.'],
    ['brpop', [1, -2, 1], false, '2.0.0', 'Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.'],
  ], keysThenTimeout),
  ...callSpecs('list', [
    ['blmove', two, false, '6.2.0', 'Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.'],
  ], { keys: (a) => a.slice(1, 2), timeout: (a) => a[5] }),
  ...callSpecs('list', [
    ['blmpop', [0, 0, 0], false, '7.0.0', 'Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.'],
  ], { keys: (a) => a.slice(3, 3 + Math.max(0, Math.min(Number(a[2]?.toString() ?? '0') || 0, a.length - 3))), timeout: (a) => a[1] }),
]
