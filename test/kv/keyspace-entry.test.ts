import t from 'tap'
import { Keyspace } from '../../lib/kv/keyspace.js'
import { Prng } from '../../lib/util/prng.js'
import { HashValue, valueBytes } from '../../lib/kv/values.js'

t.test('a deadline given to one key is its own: other keys, old and new, stay without one', async (t) => {
  const ks = new Keyspace()
  ks.put('a', undefined, 'x', Infinity)
  ks.put('b', undefined, 'y', Infinity)
  const a = ks.live('a', 0)
  if (a === undefined) throw new Error('a missing')
  ks.expire('a', a, 5000)
  ks.put('c', undefined, 'z', Infinity)
  t.equal(ks.live('a', 0)?.expireAtMs, 5000)
  t.equal(ks.live('b', 0)?.expireAtMs, Infinity)
  t.equal(ks.live('c', 0)?.expireAtMs, Infinity)
  t.equal(ks.volatileSize, 1)
})

t.test('a key made persistent again has no deadline', async (t) => {
  const ks = new Keyspace()
  ks.put('a', undefined, 'x', 5000)
  const a = ks.live('a', 0)
  if (a === undefined) throw new Error('a missing')
  ks.expire('a', a, Infinity)
  t.equal(ks.live('a', 6000)?.expireAtMs, Infinity)
  t.equal(ks.volatileSize, 0)
})

t.test('load keeps the deadline and version it is given', async (t) => {
  const ks = new Keyspace()
  t.ok(ks.load('a', 'x', 5000, 42))
  t.ok(ks.load('b', 'y', Infinity, 44))
  t.notOk(ks.load('a', 'z', Infinity, 46), 'a key already held is refused')
  t.same([ks.live('a', 0)?.expireAtMs, ks.version('a', 0)], [5000, 42])
  t.same([ks.live('b', 0)?.expireAtMs, ks.version('b', 0)], [Infinity, 44])
  t.equal(ks.live('a', 5000), undefined)
})

t.test('byte counts and lengths follow every overwrite, within and across arena classes', async (t) => {
  // The keyspace keeps an arena value's length beside its handle; these
  // counts are what an exactly-sized snapshot and INFO memory are built on.
  const ks = new Keyspace()
  const held = new Map<string, string>()
  const r = new Prng(16)
  const lengths = [0, 1, 7, 30, 100, 101, 104, 130, 900, 4094, 4095, 5000]
  for (let step = 0; step < 4000; step++) {
    const key = `k${r.int(60)}`
    const value = String.fromCharCode(97 + r.int(26)).repeat(lengths[r.int(lengths.length)] as number)
    const existing = ks.liveForWrite(key, 0)
    const kind = r.int(4)
    if (kind === 0 && existing !== undefined) {
      ks.delete(key, existing)
      held.delete(key)
      continue
    }
    if (kind === 1) ks.put(key, existing, value, Infinity)
    else {
      const bytes = Buffer.from(`..${value}..`, 'latin1')
      ks.putBytes(key, existing, bytes, 2, bytes.length - 2, Infinity)
    }
    held.set(key, value)
  }
  let keyValueBytes = 0
  let arenaValueBytes = 0
  for (const [key, value] of held) {
    const entry = ks.live(key, 0)
    if (entry === undefined) throw new Error(`${key} missing`)
    t.equal(entry.value, value, `${key}'s value`)
    t.equal(ks.stringLength(entry), value.length, `${key}'s length`)
    keyValueBytes += key.length + value.length
    if (ks.arenaStringLength(entry) >= 0) {
      t.equal(ks.arenaStringLength(entry), value.length, `${key}'s arena length`)
      arenaValueBytes += value.length
    }
  }
  t.equal(ks.size, held.size)
  t.equal(ks.keyValueBytes, keyValueBytes)
  t.equal(ks.memoryBytes - ks.keyValueBytes - ks.size * 96, ks.arenaSlabBytes - arenaValueBytes, "the arena's slack: its slabs less the values it holds")
})

t.test('a string key without a deadline is packed (no object of its own); a deadline, a collection or a wide slot gives it one', async (t) => {
  const ks = new Keyspace()
  ks.put('short', undefined, 'x'.repeat(100), Infinity)
  t.equal(ks.packedCount, 1, 'a 100-byte value without a deadline packs')
  ks.put('ttl', undefined, 'x'.repeat(100), 5000)
  ks.put('wide', undefined, 'x'.repeat(130), Infinity)
  ks.put('hash', undefined, new HashValue(), Infinity)
  t.equal(ks.packedCount, 1, 'a deadline, a 130-byte value in a 160-byte slot, and a collection do not')
  const ttl = ks.live('ttl', 0)
  if (ttl === undefined) throw new Error('ttl missing')
  ks.expire('ttl', ttl, Infinity)
  t.equal(ks.packedCount, 2, 'PERSIST packs the key')
  const short = ks.live('short', 0)
  if (short === undefined) throw new Error('short missing')
  ks.expire('short', short, 9000)
  t.equal(ks.packedCount, 1, 'EXPIRE unpacks it')
  t.same([ks.live('short', 0)?.expireAtMs, ks.volatileSize], [9000, 1])
})

t.test('values, deadlines, versions and byte counts match a model through random writes, packed or not', async (t) => {
  const lengths = [0, 3, 50, 100, 119, 120, 121, 130, 300, 4088, 4089, 5000]
  for (let seed = 1; seed <= 20; seed++) {
    const ks = new Keyspace()
    const r = new Prng(seed)
    const model = new Map<string, { value: string | 'hash'; expireAtMs: number; version: number }>()
    for (let step = 0; step < 3000; step++) {
      const key = `k${r.int(40)}`
      const existing = ks.liveForWrite(key, 0)
      const was = model.get(key)
      const kind = r.int(6)
      const value = String.fromCharCode(97 + r.int(26)).repeat(lengths[r.int(lengths.length)] as number)
      const deadline = r.int(3) === 0 ? 1000 + r.int(1000) : Infinity
      if (kind === 0 && existing !== undefined) {
        ks.delete(key, existing)
        model.delete(key)
      } else if (kind === 1 && existing !== undefined && was !== undefined) {
        ks.expire(key, existing, deadline)
        model.set(key, { ...was, expireAtMs: deadline, version: ks.clock })
      } else if (kind === 2) {
        if (existing !== undefined && was?.value === 'hash') {
          ks.change(key, existing, (h) => (h as HashValue).set(`f${step}`, 'v'))
          model.set(key, { ...was, version: ks.clock })
        } else {
          const hash = new HashValue()
          hash.set('f', 'v')
          ks.put(key, existing, hash, deadline)
          model.set(key, { value: 'hash', expireAtMs: deadline, version: ks.clock })
        }
      } else if (kind === 3) {
        ks.put(key, existing, value, deadline)
        model.set(key, { value, expireAtMs: deadline, version: ks.clock })
      } else {
        const bytes = Buffer.from(`..${value}..`, 'latin1')
        ks.putBytes(key, existing, bytes, 2, bytes.length - 2, deadline)
        model.set(key, { value, expireAtMs: deadline, version: ks.clock })
      }
    }
    let keyValueBytes = 0
    let volatile = 0
    const mismatches: string[] = []
    for (const [key, want] of model) {
      const entry = ks.live(key, 0)
      const got = entry === undefined ? undefined : { value: typeof entry.value === 'string' ? entry.value : 'hash', expireAtMs: entry.expireAtMs, version: ks.version(key, 0) }
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${key}: ${JSON.stringify(got)?.slice(0, 80)} against ${JSON.stringify(want).slice(0, 80)}`)
      keyValueBytes += key.length + (want.value === 'hash' ? 0 : want.value.length)
      if (want.expireAtMs !== Infinity) volatile++
    }
    t.same(mismatches, [], `seed ${seed}: every key as the model has it`)
    t.equal(ks.size, model.size, `seed ${seed}: key count`)
    t.equal(ks.volatileSize, volatile, `seed ${seed}: keys with a deadline`)
    const hashBytes = [...model].filter(([, m]) => m.value === 'hash').reduce((sum, [key]) => sum + valueBytes(ks.live(key, 0)?.value as HashValue), 0)
    t.equal(ks.keyValueBytes, keyValueBytes + hashBytes, `seed ${seed}: key and value bytes`)
    t.ok(ks.packedCount > 0, `seed ${seed}: some keys are packed`)
  }
})
