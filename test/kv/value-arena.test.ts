import t from 'tap'
import { ARENA_SLOT_BYTES, ARENA_VALUE_BYTES_MAX, ValueArena, arenaClassOf } from '../../lib/kv/value-arena.js'
import { Keyspace, type Entry } from '../../lib/kv/keyspace.js'
import { SnapshotEncoder, decodeSnapshot, encodeSnapshot } from '../../lib/kv/snapshot-codec.js'
import { SessionTable } from '../../lib/kv/session-table.js'

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1')
const held = (ks: Keyspace, key: string): Entry => {
  const entry = ks.liveForWrite(key, 0)
  if (entry === undefined) throw new Error(`${key} missing`)
  return entry
}

t.test('a stored value reads back as bytes, as a string and by length', async (t) => {
  const a = new ValueArena()
  const h = a.allocBytes(bytes('xxhello\xffyy'), 2, 8)
  t.ok(h >= 0)
  t.equal(a.string(h), 'hello\xff')
  t.equal(a.length(h), 6)
  t.same(a.buffer(h), bytes('hello\xff'))
  const target = Buffer.alloc(8)
  t.equal(a.copy(h, target, 1), 6)
  t.same(target, bytes('\0hello\xff\0'))
  t.equal(a.valueBytes, 6)
  t.equal(a.count, 1)
})

t.test('the empty value is held and reads back empty', async (t) => {
  const a = new ValueArena()
  const h = a.allocString('')
  t.equal(a.string(h), '')
  t.equal(a.length(h), 0)
})

t.test('a freed slot is the next one handed out in its class', async (t) => {
  const a = new ValueArena()
  const first = a.allocString('a'.repeat(100))
  a.allocString('b'.repeat(100))
  a.free(first)
  t.equal(a.allocString('c'.repeat(100)), first)
  t.equal(a.count, 2)
  t.equal(a.valueBytes, 200)
})

t.test('a rewrite within the class keeps the slot; across classes it moves and frees the old slot', async (t) => {
  const a = new ValueArena()
  const h = a.allocString('x'.repeat(100))
  t.equal(a.rewriteBytes(h, a.length(h), bytes('y'.repeat(101)), 0, 101), h, 'same class: in place')
  t.equal(a.string(h), 'y'.repeat(101))
  const moved = a.rewriteString(h, a.length(h), 'z'.repeat(300))
  t.not(moved, h)
  t.equal(a.string(moved), 'z'.repeat(300))
  t.equal(a.count, 1)
  t.equal(a.valueBytes, 300)
  t.equal(a.allocString('w'.repeat(100)), h, 'the old slot is free again')
})

t.test('classes: each value fits its slot with the length prefix, and the next smaller slot would not hold it', async (t) => {
  for (let length = 0; length <= ARENA_VALUE_BYTES_MAX; length++) {
    const c = arenaClassOf(length)
    const slot = ARENA_SLOT_BYTES[c] as number
    if (slot < length + 2 || (c > 0 && (ARENA_SLOT_BYTES[c - 1] as number) >= length + 2)) {
      t.fail(`length ${length}: class ${c} of ${slot} bytes`)
      return
    }
  }
  t.equal(arenaClassOf(6), 0, '6 bytes and a prefix fill an 8-byte slot')
  t.equal(arenaClassOf(7), 1)
  t.equal(ARENA_SLOT_BYTES[arenaClassOf(100)], 104, 'a 100-byte value takes 104 bytes')
  t.equal(ARENA_SLOT_BYTES.at(-1), ARENA_VALUE_BYTES_MAX + 2)
})

t.test('values at the class boundaries and the largest value read back whole, next to their neighbours', async (t) => {
  const a = new ValueArena()
  const stored: [number, string][] = []
  for (const slot of ARENA_SLOT_BYTES) {
    for (const length of [slot - 3, slot - 2]) {
      const text = String.fromCharCode(65 + (length % 26)).repeat(length)
      stored.push([a.allocString(text), text])
    }
  }
  for (const [h, text] of stored) if (a.string(h) !== text) t.fail(`value of ${text.length} bytes`)
  t.equal(a.count, stored.length)
})

t.test('a value over the largest slot is refused (-1), and a rewrite to one frees the slot', async (t) => {
  const a = new ValueArena()
  t.equal(a.allocString('x'.repeat(ARENA_VALUE_BYTES_MAX + 1)), -1)
  const h = a.allocString('x')
  t.equal(a.rewriteBytes(h, a.length(h), Buffer.alloc(ARENA_VALUE_BYTES_MAX + 1), 0, ARENA_VALUE_BYTES_MAX + 1), -1)
  t.equal(a.count, 0)
  t.equal(a.valueBytes, 0)
})

t.test('values fill slab after slab; clear drops every slab', async (t) => {
  const a = new ValueArena()
  const handles: number[] = []
  for (let i = 0; i < 5000; i++) handles.push(a.allocString(`value-${i}`.padEnd(100, '.')))
  t.ok(a.slabBytes > 256 * 1024, `${a.slabBytes} bytes of slabs`)
  t.equal(a.string(handles[4321] as number), 'value-4321'.padEnd(100, '.'))
  a.clear()
  t.equal(a.slabBytes, 0)
  t.equal(a.count, 0)
  t.equal(a.valueBytes, 0)
})

t.test('keyspace: overwriting a key with a value of the same class takes no new slab', async (t) => {
  const ks = new Keyspace()
  const value = Buffer.alloc(100, 1)
  for (let i = 0; i < 100; i++) ks.putBytes(`k${i}`, undefined, value, 0, 100, Infinity)
  const slabBytes = ks.arenaSlabBytes
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) {
      const key = `k${i}`
      // 97–100 bytes: with the keyspace's 8-byte prefix (length and version), all in the 112-byte class.
      ks.putBytes(key, ks.liveForWrite(key, 0), Buffer.alloc(100, round), 0, 100 - (round % 4), Infinity)
    }
  }
  t.equal(ks.arenaSlabBytes, slabBytes)
  t.equal(ks.live('k7', 0)?.value, '\x31'.repeat(99))
})

t.test('keyspace: byte counts follow the values through put, putBytes, a type change and delete', async (t) => {
  const ks = new Keyspace()
  ks.putBytes('a', undefined, bytes('12345'), 0, 5, Infinity)
  ks.put('b', undefined, 'xyz', Infinity)
  t.equal(ks.keyValueBytes, 2 + 5 + 3)
  ks.put('a', ks.liveForWrite('a', 0), 'x'.repeat(5000), Infinity)
  t.equal(ks.keyValueBytes, 2 + 5000 + 3, 'a value too long for the arena')
  ks.putBytes('a', ks.liveForWrite('a', 0), bytes('back'), 0, 4, Infinity)
  t.equal(ks.keyValueBytes, 2 + 4 + 3)
  t.equal(ks.stringLength(held(ks, 'a')), 4)
  t.same(ks.stringBuffer(held(ks, 'a')), bytes('back'))
  ks.delete('b', held(ks, 'b'))
  ks.delete('a', held(ks, 'a'))
  t.equal(ks.keyValueBytes, 0)
  t.ok(ks.memoryBytes >= ks.arenaSlabBytes, 'memoryBytes counts the slabs left')
})

t.test('keyspace: a deleted entry still reads the value it held after its slot is reused', async (t) => {
  const ks = new Keyspace()
  ks.put('a', undefined, 'first', Infinity)
  const stale = ks.live('a', 0)
  if (stale === undefined) throw new Error('a missing')
  ks.delete('a', stale)
  ks.put('b', undefined, 'other', Infinity)
  t.equal(stale.value, 'first')
  t.equal(ks.live('b', 0)?.value, 'other')
})

t.test('keyspace: FLUSHALL gives the slabs back', async (t) => {
  const ks = new Keyspace()
  for (let i = 0; i < 1000; i++) ks.put(`k${i}`, undefined, 'v'.repeat(50), Infinity)
  t.ok(ks.arenaSlabBytes > 0)
  ks.flush()
  t.equal(ks.arenaSlabBytes, 0)
  ks.put('k1', undefined, 'again', Infinity)
  t.equal(ks.live('k1', 0)?.value, 'again')
})

t.test('keyspace: a snapshot taken in steps keeps the value a key had at its start, whatever reuses the slot', async (t) => {
  const ks = new Keyspace()
  for (let i = 0; i < 10; i++) ks.put(`k${i}`, undefined, `old-${i}`, Infinity)
  const state = { appliedIndex: 1, keyspace: ks, sessions: new SessionTable() }
  const before = encodeSnapshot(state)
  const encoder = new SnapshotEncoder(state)
  encoder.step(3)
  ks.putBytes('k5', ks.liveForWrite('k5', 0), bytes('new-5'), 0, 5, Infinity)
  ks.delete('k6', held(ks, 'k6'))
  ks.put('k99', undefined, 'takes-6', Infinity)
  ks.put('k1', ks.liveForWrite('k1', 0), 'x'.repeat(300), Infinity)
  encoder.step(100)
  t.same(encoder.finish(), before)
  const restored = decodeSnapshot(encodeSnapshot(state)).keyspace
  t.equal(restored.live('k5', 0)?.value, 'new-5')
  t.equal(restored.live('k99', 0)?.value, 'takes-6')
  t.equal(restored.live('k6', 0), undefined)
  t.equal(restored.keyValueBytes, ks.keyValueBytes)
})

t.test('a tag keeps any integer below 2^48 beside its value, and the value reads back whole', async (t) => {
  const a = new ValueArena(6)
  const tags = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 2, 2 ** 47 + 12345, 2 ** 48 - 1]
  const handles = tags.map((tag, i) => {
    const h = a.allocString(`v${i}`.repeat(20))
    a.setTag(h, tag)
    return h
  })
  t.same(handles.map((h) => a.tag(h)), tags)
  t.same(handles.map((h) => a.string(h)), tags.map((_, i) => `v${i}`.repeat(20)))
  t.equal(a.valueBytesMax, ARENA_VALUE_BYTES_MAX - 6)
  t.equal(a.allocString('x'.repeat(ARENA_VALUE_BYTES_MAX - 5)), -1, 'a value must leave room for the tag')
})

t.test('a tag out of range, or in an arena without tags, is refused loudly', async (t) => {
  const a = new ValueArena(6)
  const h = a.allocString('x')
  for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) t.throws(() => a.setTag(h, bad), { code: 'ERR_ASSERTION' }, String(bad))
  const plain = new ValueArena()
  const p = plain.allocString('x')
  t.throws(() => plain.setTag(p, 1), { code: 'ERR_ASSERTION' })
  t.throws(() => plain.tag(p), { code: 'ERR_ASSERTION' })
})
