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
