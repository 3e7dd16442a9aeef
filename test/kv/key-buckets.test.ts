// The keyspace's SCAN index (lib/kv/key-buckets.ts): every key in exactly the
// bucket its hash names, through builds, adds and deletes, whether a bucket
// is an array (the usual few keys) or a Set (a bucket crafted to be large).
import t from 'tap'
import { BUCKET_ARRAY_KEYS_MAX, KeyBuckets, SCAN_BUCKET_COUNT, scanBucketOf } from '../../lib/kv/key-buckets.js'

/** `n` distinct keys that all hash to `bucket`. */
function collidingKeys(bucket: number, n: number): string[] {
  const keys: string[] = []
  for (let i = 0; keys.length < n; i++) {
    const key = `c${i}`
    if (scanBucketOf(key) === bucket) keys.push(key)
  }
  return keys
}

/** Every bucket's keys, sorted, keyed by bucket number: what the index holds. */
function contents(index: KeyBuckets): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (let b = 0; b < SCAN_BUCKET_COUNT; b++) {
    const bucket = index.bucket(b)
    if (bucket !== undefined) out.set(b, [...bucket].sort())
  }
  return out
}

/** The same from a plain set of keys. */
function expected(keys: Iterable<string>): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (const key of keys) {
    const b = scanBucketOf(key)
    const list = out.get(b) ?? []
    list.push(key)
    out.set(b, list)
  }
  for (const list of out.values()) list.sort()
  return new Map([...out.entries()].sort((x, y) => x[0] - y[0]))
}

t.test('an index built from a table holds each of its keys once, in its bucket', async (t) => {
  const table = new Map<string, number>()
  for (let i = 0; i < 20_000; i++) table.set(`key:${i}`, i)
  for (const key of collidingKeys(7, BUCKET_ARRAY_KEYS_MAX + 5)) table.set(key, 0)
  const index = KeyBuckets.of(table)
  t.same(contents(index), expected(table.keys()))
  const shape = index.shape()
  t.equal(shape.arrayKeys + shape.setKeys, table.size)
  t.equal(shape.setKeys, [...(index.bucket(7) ?? [])].length, 'only the crafted bucket is a Set')
})

t.test('a bucket past the array bound becomes a Set and keeps every key', async (t) => {
  const index = new KeyBuckets()
  const keys = collidingKeys(123, BUCKET_ARRAY_KEYS_MAX + 1)
  for (const key of keys.slice(0, BUCKET_ARRAY_KEYS_MAX)) index.add(key)
  t.same(index.shape(), { arrayKeys: BUCKET_ARRAY_KEYS_MAX, setKeys: 0 })
  index.add(keys[BUCKET_ARRAY_KEYS_MAX] as string)
  t.same(index.shape(), { arrayKeys: 0, setKeys: BUCKET_ARRAY_KEYS_MAX + 1 })
  t.same(contents(index), expected(keys))
})

t.test('deleting a key that is not there changes nothing', async (t) => {
  const index = new KeyBuckets()
  const [a, b] = collidingKeys(9, 2) as [string, string]
  index.add(a)
  index.delete(b)
  index.delete('never-added')
  t.same(contents(index), expected([a]))
})

t.test('random adds and deletes keep the index equal to the set of keys, in arrays and Sets', async (t) => {
  // A pool with one bucket crafted to cross the array bound.
  const pool = [...Array.from({ length: 3000 }, (_, i) => `k${i}`), ...collidingKeys(42, 3 * BUCKET_ARRAY_KEYS_MAX)]
  for (let seed = 1; seed <= 5; seed++) {
    let state = seed
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      return state % n
    }
    const live = new Set<string>()
    const index = new KeyBuckets()
    for (let step = 0; step < 20_000; step++) {
      const key = pool[random(pool.length)] as string
      if (live.has(key)) {
        live.delete(key)
        index.delete(key)
      } else {
        live.add(key)
        index.add(key)
      }
    }
    t.same(contents(index), expected(live), `seed ${seed}`)
    const shape = index.shape()
    t.equal(shape.arrayKeys + shape.setKeys, live.size, `seed ${seed}: each key once`)
  }
})

t.test('an emptied bucket reads as empty', async (t) => {
  const index = new KeyBuckets()
  const keys = collidingKeys(5, BUCKET_ARRAY_KEYS_MAX + 1)
  for (const key of keys) index.add(key)
  for (const key of keys) index.delete(key)
  t.equal(index.bucket(5), undefined)
  index.add('x')
  index.delete('x')
  t.equal(index.bucket(scanBucketOf('x')), undefined)
})
