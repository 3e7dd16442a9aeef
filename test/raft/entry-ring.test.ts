// The Raft log's compact entry store (lib/raft/entry-ring.ts): entries keep
// their terms, kinds and bytes across the ring's wrap-around and growth; a
// view handed out stays unchanged until the slab it points into is released
// and recycleReleased() is called; slabs are released only when compaction
// passes every entry in them, and released slabs are reused, poisoned, and
// only after recycleReleased().
import t from 'tap'
import { EntryRing, KIND_NOOP, KIND_NORMAL, POISON_BYTE, SLAB_BYTES, SPARE_SLABS_MAX } from '../../lib/raft/entry-ring.js'
import { RaftLog } from '../../lib/raft/raft-log.js'
import type { Entry } from '../../lib/raft/types.js'

function bytesOf(index: number, length = 100): Buffer {
  return Buffer.alloc(length, index % 251)
}

t.test('entries keep term, kind and bytes across wrap-around and growth of the ring', async (t) => {
  const ring = new EntryRing(1)
  for (let i = 1; i <= 1000; i++) ring.push(i, KIND_NORMAL, bytesOf(i))
  ring.dropTo(900) // the head moves, so growth has to unwrap the ring
  for (let i = 1001; i <= 3000; i++) ring.push(i, i % 7 === 0 ? KIND_NOOP : KIND_NORMAL, i % 7 === 0 ? null : bytesOf(i))
  t.equal(ring.firstIndex, 901)
  t.equal(ring.count, 2100)
  let bad = 0
  for (let i = 901; i <= 3000; i++) {
    if (ring.termAt(i) !== i) bad++
    const noop = i > 1000 && i % 7 === 0
    if (ring.kindAt(i) !== (noop ? KIND_NOOP : KIND_NORMAL)) bad++
    if (!noop && !ring.dataAt(i).equals(bytesOf(i))) bad++
  }
  t.equal(bad, 0)
})

t.test('a view handed out keeps its bytes after the entry is truncated and its index written again', async (t) => {
  const ring = new EntryRing(1)
  ring.push(1, KIND_NORMAL, Buffer.from('first'))
  const view = ring.dataAt(1)
  ring.truncateFrom(1)
  ring.push(2, KIND_NORMAL, Buffer.from('other'))
  t.equal(view.toString(), 'first')
  t.equal(ring.dataAt(1).toString(), 'other')
})

t.test('the data is copied in: the caller may reuse its buffer after pushing', async (t) => {
  const ring = new EntryRing(1)
  const mine = Buffer.from('abc')
  ring.push(1, KIND_NORMAL, mine)
  mine.write('xyz')
  t.equal(ring.dataAt(1).toString(), 'abc')
})

t.test('compaction releases a slab only once every entry in it is passed', async (t) => {
  const ring = new EntryRing(1)
  const perSlab = Math.floor(SLAB_BYTES / 1000)
  for (let i = 1; i <= perSlab * 3; i++) ring.push(1, KIND_NORMAL, bytesOf(i, 1000))
  t.equal(ring.slabCount(), 3)
  ring.dropTo(perSlab - 1)
  t.equal(ring.slabCount(), 3, 'the last entry of the first slab is still there')
  ring.dropTo(perSlab)
  t.equal(ring.slabCount(), 2)
  ring.dropTo(perSlab * 3)
  t.equal(ring.slabCount(), 1, 'an empty ring keeps the slab it writes into')
  ring.push(1, KIND_NORMAL, bytesOf(7, 1000))
  t.ok(ring.dataAt(perSlab * 3 + 1).equals(bytesOf(7, 1000)))
})

t.test('an entry larger than a slab gets a slab of its own size', async (t) => {
  const ring = new EntryRing(1)
  ring.push(1, KIND_NORMAL, bytesOf(1))
  const big = Buffer.alloc(SLAB_BYTES + 10, 3)
  ring.push(1, KIND_NORMAL, big)
  t.equal(ring.slabCount(), 2)
  t.ok(ring.dataAt(2).equals(big))
  t.ok(ring.dataAt(1).equals(bytesOf(1)))
})

t.test('reset empties the ring at a new index and releases every slab', async (t) => {
  const ring = new EntryRing(1)
  for (let i = 1; i <= 10; i++) ring.push(1, KIND_NORMAL, bytesOf(i))
  ring.reset(500)
  t.equal(ring.slabCount(), 0)
  t.equal(ring.count, 0)
  ring.push(2, KIND_NORMAL, bytesOf(500))
  t.equal(ring.firstIndex, 500)
  t.ok(ring.dataAt(500).equals(bytesOf(500)))
})

t.test('reading outside the ring stops on an assertion', async (t) => {
  const ring = new EntryRing(5)
  ring.push(1, KIND_NOOP, null)
  t.throws(() => ring.termAt(4))
  t.throws(() => ring.termAt(6))
})

t.test('the log hands out config entries with their config, normal entries with their bytes', async (t) => {
  const config = { members: [{ id: 'a', addr: 'x', role: 'voter' as const }] }
  const entries: Entry[] = [
    { index: 1, term: 1, kind: 'noop' },
    { index: 2, term: 1, kind: 'config', config },
    { index: 3, term: 2, kind: 'normal', data: Buffer.from('set') },
  ]
  const log = new RaftLog({ index: 0, term: 0, config: { members: [] } }, entries, 0)
  t.same(log.slice(1, 4), entries)
  const e2 = log.entry(2)
  t.equal(e2?.kind === 'config' ? e2.config : null, config, 'the config object itself')
  t.same(log.slice(1, 4, Infinity, 24 + 24 + 64), entries.slice(0, 2), 'the byte bound counts a config entry by its members')
  t.same(log.slice(1, 4, Infinity, 24 + 24 + 63), entries.slice(0, 1))
})

t.test('until durable and handed out for applying, the log hands out the very Entry objects appended (the codecs share encodings by identity)', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: { members: [] } }, [], 0)
  const appended: Entry[] = [
    { index: 1, term: 1, kind: 'normal', data: Buffer.from('a') },
    { index: 2, term: 1, kind: 'normal', data: Buffer.from('b') },
  ]
  log.append(appended)
  const first = log.slice(1, 3)
  t.equal(first[0], appended[0])
  t.equal(first[1], appended[1])
  const handed = log.handOutUnpersisted()
  t.equal(handed[1], appended[1], 'the Ready carries them too')
  log.markPersisted(handed)
  t.equal(log.slice(1, 3)[0], appended[0], 'durable but not yet applying: still the same objects')
  log.commitTo(1)
  t.equal(log.handOutCommitted(10)[0], appended[0], 'the apply takes them too')
  const after = log.slice(1, 3)
  t.not(after[0], appended[0], 'durable and applying: made from the ring')
  t.equal(after[1], appended[1], 'the entry not yet committed is still the object appended')
  t.same(after, appended)
})

t.test('entries handed out for applying before they are durable stay the objects appended until they are', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: { members: [] } }, [], 0)
  const appended: Entry[] = [{ index: 1, term: 1, kind: 'normal', data: Buffer.from('a') }]
  log.append(appended)
  const handed = log.handOutUnpersisted()
  // A follower may apply what a quorum holds before its own write is done.
  log.commitTo(1)
  t.equal(log.handOutCommitted(10)[0], appended[0])
  t.equal(log.slice(1, 2)[0], appended[0], 'not durable yet: kept')
  log.markPersisted(handed)
  t.not(log.slice(1, 2)[0], appended[0], 'both: made from the ring')
})

t.test('a truncated tail is not handed out as the objects that replaced it', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: { members: [] } }, [], 0)
  log.append([{ index: 1, term: 1, kind: 'noop' }, { index: 2, term: 1, kind: 'noop' }])
  const replacement: Entry = { index: 2, term: 2, kind: 'noop' }
  log.appendFromLeader([replacement])
  t.equal(log.entry(2), replacement)
  t.equal(log.entry(1)?.term, 1)
})

t.test('releaseDataThrough drops the oldest whole slabs past the bound, only where every entry is at or below the index', async (t) => {
  const ring = new EntryRing(1, 1000)
  // 100-byte entries: 10 per slab, 5 slabs.
  for (let i = 1; i <= 50; i++) ring.push(1, KIND_NORMAL, bytesOf(i))
  t.equal(ring.dataBytesHeld(), 5000)
  ring.releaseDataThrough(25, 1500)
  t.equal(ring.dataBytesHeld(), 3000, 'slabs of entries 1-10 and 11-20 released; 21-30 holds entry 26')
  t.notOk(ring.hasDataAt(20))
  t.ok(ring.hasDataAt(21))
  t.ok(ring.dataAt(50).equals(bytesOf(50)))
  ring.releaseDataThrough(50, 2000)
  t.equal(ring.dataBytesHeld(), 2000, 'released down to the bound, not further')
  t.equal(ring.termAt(5), 1, 'terms stay for released entries')
})

t.test('releaseDataThrough keeps every slab while the held bytes are within the bound', async (t) => {
  const ring = new EntryRing(1, 1000)
  for (let i = 1; i <= 50; i++) ring.push(1, KIND_NORMAL, bytesOf(i))
  ring.releaseDataThrough(50, 5000)
  t.equal(ring.dataBytesHeld(), 5000)
  t.ok(ring.hasDataAt(1))
})

/** A ring of 1 KiB slabs holding `slabs` full slabs of ten 100-byte entries each, indexes 1.. */
function fullRing(slabs: number): EntryRing {
  const ring = new EntryRing(1, 1000)
  for (let i = 1; i <= slabs * 10; i++) ring.push(1, KIND_NORMAL, bytesOf(i))
  return ring
}

t.test('a view into a released slab keeps its bytes until recycleReleased, even as new slabs are written', async (t) => {
  const ring = fullRing(2)
  const view = ring.dataAt(3)
  ring.dropTo(10) // the first slab is released
  for (let i = 21; i <= 40; i++) ring.push(1, KIND_NORMAL, bytesOf(i)) // two new slabs
  t.ok(view.equals(bytesOf(3)), 'not reused before recycleReleased')
  t.equal(ring.releasedKeptCount(), 1)
})

t.test('after recycleReleased a released slab is poisoned, then reused for the next slab', async (t) => {
  const ring = fullRing(2)
  const view = ring.dataAt(3)
  ring.dropTo(10)
  ring.recycleReleased()
  t.ok(view.equals(Buffer.alloc(100, POISON_BYTE)), 'a view kept too long reads poison, not another entry')
  for (let i = 21; i <= 30; i++) ring.push(1, KIND_NORMAL, bytesOf(i)) // fills slab 2's successor
  t.equal(ring.releasedKeptCount(), 0, 'the spare was taken')
  t.equal(ring.dataAt(21).buffer, view.buffer, 'the new slab is the released one')
  let bad = 0
  for (let i = 11; i <= 30; i++) if (!ring.dataAt(i).equals(bytesOf(i))) bad++
  t.equal(bad, 0, 'every live entry reads its own bytes')
})

t.test('slabs released by releaseDataThrough and by reset are reused the same way', async (t) => {
  const ring = fullRing(3)
  ring.releaseDataThrough(20, 1000)
  t.equal(ring.releasedKeptCount(), 2)
  ring.reset(31)
  t.equal(ring.releasedKeptCount(), 3)
  ring.recycleReleased()
  ring.push(1, KIND_NORMAL, bytesOf(31))
  t.equal(ring.releasedKeptCount(), 2)
  t.ok(ring.dataAt(31).equals(bytesOf(31)))
})

t.test('at most SPARE_SLABS_MAX released slabs are kept; the rest are left to the garbage collector', async (t) => {
  const ring = fullRing(SPARE_SLABS_MAX + 5)
  ring.dropTo((SPARE_SLABS_MAX + 5) * 10)
  t.equal(ring.releasedKeptCount(), SPARE_SLABS_MAX)
})

t.test('a slab of its own size (an entry larger than a slab) is not kept for reuse', async (t) => {
  const ring = new EntryRing(1, 1000)
  ring.push(1, KIND_NORMAL, bytesOf(1, 5000))
  ring.push(1, KIND_NORMAL, bytesOf(2))
  ring.dropTo(1)
  t.equal(ring.releasedKeptCount(), 0)
})

t.test('RaftLog lets released slabs be reused only through recycleReleasedData', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: { members: [] } }, [], 0)
  for (let i = 1; i <= 3000; i++) log.append([{ index: i, term: 1, kind: 'normal', data: bytesOf(i, 1000) }])
  log.markPersisted(log.handOutUnpersisted())
  log.commitTo(3000)
  log.handOutCommitted(3000)
  log.appliedTo(3000)
  // Made from the ring now that it is durable and applied: a view into a slab.
  const early = log.entry(1) as Entry & { kind: 'normal' }
  log.compact(2000)
  t.ok(early.data.equals(bytesOf(1, 1000)), 'a handed-out entry is intact until recycleReleasedData')
  log.recycleReleasedData()
  t.ok(early.data.equals(Buffer.alloc(1000, POISON_BYTE)))
  const later = log.entry(2500) as Entry & { kind: 'normal' }
  t.ok(later.data.equals(bytesOf(2500, 1000)), 'entries not compacted keep their bytes')
})

t.test('dropSpareSlabs gives the spares up but keeps the quarantined slabs until they are safe', async (t) => {
  const ring = fullRing(3)
  ring.dropTo(10)
  ring.recycleReleased() // slab 1 is a spare
  const quarantinedView = ring.dataAt(11) // an entry of slab 2
  ring.dropTo(20) // slab 2 is quarantined
  ring.dropSpareSlabs()
  t.equal(ring.releasedKeptCount(), 1, 'only the quarantined slab is left')
  t.ok(quarantinedView.equals(bytesOf(11)), 'its bytes are untouched')
  for (let i = 31; i <= 40; i++) ring.push(1, KIND_NORMAL, bytesOf(i))
  t.not(ring.dataAt(31).buffer, quarantinedView.buffer, 'the next slab is not the quarantined one')
})
