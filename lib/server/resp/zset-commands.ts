// Sorted-set commands (semantics in lib/kv/zset-calls.ts).
import { callSpecs } from './call-spec.js'

const one = [1, 1, 1] as const

export const zsetCommands = callSpecs('sorted-set', [
  ['zadd', one, true, '1.2.0', 'Adds one or more members to a sorted set, or updates their scores. Creates the key if it does not exist.'],
  ['zincrby', one, true, '1.2.0', 'Increments the score of a member in a sorted set.'],
  ['zrem', one, true, '1.2.0', 'Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.'],
  ['zscore', one, true, '1.2.0', 'Returns the score of a member in a sorted set.'],
  ['zmscore', one, true, '6.2.0', 'Returns the score of one or more members in a sorted set.'],
  ['zcard', one, true, '1.2.0', 'Returns the number of members in a sorted set.'],
  ['zcount', one, true, '2.0.0', 'Returns the count of members in a sorted set that have scores within a range.'],
  ['zlexcount', one, true, '2.8.9', 'Returns the number of members in a sorted set within a lexicographical range.'],
  ['zrange', one, false, '1.2.0', 'Returns members in a sorted set within a range of indexes.'],
  ['zrevrange', one, false, '1.2.0', 'Returns members in a sorted set within a range of indexes in reverse order.'],
  ['zrangebyscore', one, false, '1.0.5', 'Returns members in a sorted set within a range of scores.'],
  ['zrevrangebyscore', one, false, '2.2.0', 'Returns members in a sorted set within a range of scores in reverse order.'],
  ['zrangebylex', one, false, '2.8.9', 'Returns members in a sorted set within a lexicographical range.'],
  ['zrevrangebylex', one, false, '2.8.9', 'Returns members in a sorted set within a lexicographical range in reverse order.'],
  ['zrank', one, true, '2.0.0', 'Returns the index of a member in a sorted set ordered by ascending scores.'],
  ['zrevrank', one, true, '2.0.0', 'Returns the index of a member in a sorted set ordered by descending scores.'],
  ['zpopmin', one, true, '5.0.0', 'Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.'],
  ['zpopmax', one, true, '5.0.0', 'Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.'],
  ['zremrangebyscore', one, false, '1.2.0', 'Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.'],
  ['zremrangebyrank', one, false, '2.0.0', 'Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.'],
  ['zremrangebylex', one, false, '2.8.9', 'Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.'],
  ['zunionstore', [1, 1, 1], false, '2.0.0', 'Stores the union of multiple sorted sets in a key.'],
  ['zinterstore', [1, 1, 1], false, '2.0.0', 'Stores the intersect of multiple sorted sets in a key.'],
  ['zrandmember', one, false, '6.2.0', 'Returns one or more random members from a sorted set.'],
  ['zscan', one, false, '2.8.0', 'Iterates over members and scores of a sorted set.'],
])

const keysThenTimeout = { keys: (a: readonly Buffer[]) => a.slice(1, -1), timeout: (a: readonly Buffer[]) => a[a.length - 1] }

export const blockingZsetCommands = callSpecs('sorted-set', [
  ['bzpopmin', [1, -2, 1], true, '5.0.0', 'Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.'],
  ['bzpopmax', [1, -2, 1], true, '5.0.0', 'Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.'],
], keysThenTimeout)
