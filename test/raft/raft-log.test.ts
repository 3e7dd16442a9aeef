// RaftLog guards its own positions (etcd's raftLog.appliedTo/stableTo): the
// algorithm moves them only through methods that check the rule, and a
// caller that breaks one stops on an assertion instead of corrupting state.
// Also: only raw-node.ts, the API, is imported from lib/raft's algorithm
// files by the rest of lib.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RaftLog } from '../../lib/raft/raft-log.js'
import type { Entry, EntrySource, ReleasedEntries } from '../../lib/raft/types.js'

const emptyConfig = { members: [] }

function noops(first: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: first + i, term, kind: 'noop' as const }))
}

t.test('committed entries are handed out once, in order, and applying follows what was handed out', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, noops(1, 5, 1), 3)
  t.ok(log.hasUnhandedCommitted())
  t.same(log.handOutCommitted(2).map((e) => e.index), [1, 2])
  t.equal(log.applying, 2)
  t.same(log.handOutCommitted(10).map((e) => e.index), [3], 'nothing beyond commit')
  t.notOk(log.hasUnhandedCommitted())
  t.same(log.handOutCommitted(10), [])
  log.commitTo(5)
  t.same(log.handOutCommitted(10).map((e) => e.index), [4, 5])
})

t.test('applied cannot move past what was handed out for applying', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, noops(1, 4, 1), 4)
  log.handOutCommitted(2)
  log.appliedTo(2)
  t.equal(log.applied, 2)
  log.appliedTo(1)
  t.equal(log.applied, 2, 'applied never goes back')
  t.throws(() => log.appliedTo(3), /applied 3 beyond the 2 handed out/)
})

t.test('entries are handed to storage once, and a truncation hands the replaced suffix out again', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, noops(1, 2, 1), 0)
  t.notOk(log.hasUnhandedEntries(), 'what the log started from is on disk already')
  log.append(noops(3, 2, 1))
  t.same(log.handOutUnpersisted().map((e) => e.index), [3, 4])
  t.same(log.handOutUnpersisted(), [])
  log.appendFromLeader(noops(4, 1, 2))
  t.same(log.handOutUnpersisted().map((e) => [e.index, e.term]), [[4, 2]])
  log.markPersisted(noops(3, 2, 1))
  t.equal(log.persistedIndex, 3, 'the replaced entry 4 of term 1 does not count as durable')
})

t.test('a snapshot from the leader is handed out once, and counts as durable only once persisted', async (t) => {
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, noops(1, 2, 1), 1)
  const meta = { index: 10, term: 3, config: emptyConfig }
  log.restore(meta)
  t.ok(log.hasReceivedSnapshot())
  t.equal(log.persistedIndex, 0)
  t.equal(log.takeReceivedSnapshot(), meta)
  t.equal(log.takeReceivedSnapshot(), null)
  log.markSnapshotPersisted(10)
  t.equal(log.persistedIndex, 10)
  t.throws(() => log.markSnapshotPersisted(11), /snapshot 11 persisted beyond last index 10/)
})

t.test("outside lib/raft, lib imports only raw-node.ts and the plain data modules, never the algorithm's files", async (t) => {
  const internal = /from '(\.\.\/)+raft\/(raft|step-leader|step-follower|step-candidate|read-only|incarnations|raft-log|progress)\.js'/
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.ts') && !path.startsWith(join('lib', 'raft')) && internal.test(readFileSync(path, 'utf8'))) offenders.push(path)
    }
  }
  walk('lib')
  t.same(offenders, [])
})

/** 200-byte entries (slabs of 256 bytes for a 2 KiB bound: one entry each), terms 1. */
function normals(first: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: first + i, term: 1, kind: 'normal' as const, data: Buffer.alloc(200, first + i) }))
}

/** A source serving `stored` and recording the ranges asked for. */
function sourceOf(stored: readonly Entry[], asked: [number, number][]): EntrySource {
  return {
    entries(lo, hi) {
      asked.push([lo, hi])
      const out = stored.filter((e) => e.index >= lo && e.index < hi)
      return out.length > 0 ? out : null
    },
  }
}

function cachedLog(asked: [number, number][], stored = normals(1, 40)): RaftLog {
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, [], 0, { source: sourceOf(stored, asked), bytesMax: 2048 })
  log.append(normals(1, 40))
  log.markPersisted(log.handOutUnpersisted())
  log.commitTo(40)
  return log
}

t.test('the log releases the data of applied, durable entries past its cache bound and keeps the rest', async (t) => {
  const asked: [number, number][] = []
  const log = cachedLog(asked)
  t.equal(log.dataBytesHeld(), 40 * 256)
  log.handOutCommitted(40)
  log.appliedTo(30)
  t.equal(log.dataBytesHeld(), 10 * 256, 'entries 31-40 stay, over the bound as they must')
  t.same(log.slice(31, 41).map((e) => e.index), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40])
  t.same(asked, [], 'unreleased entries come from memory')
})

t.test('the log keeps the data of entries not yet durable, applied or not', async (t) => {
  const asked: [number, number][] = []
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, [], 0, { source: sourceOf([], asked), bytesMax: 2048 })
  const appended = normals(1, 40)
  log.append(appended)
  const handed = log.handOutUnpersisted()
  log.commitTo(40)
  log.handOutCommitted(40)
  log.appliedTo(40)
  t.equal(log.dataBytesHeld(), 40 * 256, 'applied but not durable: nothing released')
  log.markPersisted(handed.slice(0, 10))
  t.equal(log.dataBytesHeld(), 30 * 256, 'released up to the durable index only')
  t.equal(log.slice(11, 12)[0], appended[10], 'entries not yet durable are still the very objects appended')
})

/** Columns for `entries` as recovery hands them over: every data byte left in storage. */
function releasedOf(entries: readonly Entry[]): ReleasedEntries {
  return {
    terms: Float64Array.from(entries, (e) => e.term),
    kinds: Uint8Array.from(entries, (e) => (e.kind === 'normal' ? 0 : e.kind === 'noop' ? 1 : 2)),
    dataBytes: Uint32Array.from(entries, (e) => (e.kind === 'normal' ? e.data.length : 0)),
    configs: entries.flatMap((e) => (e.kind === 'config' ? [{ index: e.index, config: e.config }] : [])),
  }
}

t.test('a log started with released entries reads their data back to apply them, then holds the rest', async (t) => {
  const asked: [number, number][] = []
  const stored: Entry[] = [...normals(1, 20), { index: 21, term: 1, kind: 'noop' }, { index: 22, term: 2, kind: 'config', config: { members: [{ id: 'n1', addr: 'a', role: 'voter' }] } }, ...normals(23, 8).map((e) => ({ ...e, term: 2 }))]
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, stored.slice(25), 30, { source: sourceOf(stored, asked), bytesMax: 2048 }, releasedOf(stored.slice(0, 25)))
  t.equal(log.lastIndex(), 30)
  t.equal(log.term(22), 2, 'terms of released entries are known without reading them')
  t.equal(log.config().members[0]?.id, 'n1', 'a released config entry is in effect')
  t.equal(log.dataBytesHeld() > 0 && log.dataBytesHeld() <= 5 * 256 + 1024, true, 'only the held entries take memory')
  const applied: Entry[] = []
  while (log.hasUnhandedCommitted()) {
    const batch = log.handOutCommitted(7)
    applied.push(...batch)
    log.appliedTo(batch[batch.length - 1]?.index ?? 0)
  }
  t.same(applied.map((e) => `${e.index}/${e.term}/${e.kind}`), stored.map((e) => `${e.index}/${e.term}/${e.kind}`), 'every entry handed out for applying, in order')
  t.ok(applied.every((e, i) => e.kind !== 'normal' || e.data.equals((stored[i] as { data: Buffer }).data)), 'with the data stored')
  t.ok(asked.length > 0 && asked.every(([lo]) => lo <= 25), 'only released entries were read back')
})

t.test('a committed entry that cannot be read back stops the log instead of being skipped', async (t) => {
  const stored = normals(1, 10)
  const log = new RaftLog({ index: 0, term: 0, config: emptyConfig }, [], 10, { source: sourceOf([], []), bytesMax: 2048 }, releasedOf(stored))
  t.throws(() => log.handOutCommitted(5), /committed entry 1 could not be read back/)
})

t.test('released entries at start need a source to read them back', async (t) => {
  t.throws(() => new RaftLog({ index: 0, term: 0, config: emptyConfig }, [], 0, null, releasedOf(normals(1, 3))), /without a source/)
})

t.test('released entries are read back through the source, checked and in order', async (t) => {
  const asked: [number, number][] = []
  const log = cachedLog(asked)
  log.handOutCommitted(40)
  log.appliedTo(40)
  const all = log.slice(1, 41)
  t.same(all.map((e) => e.index), Array.from({ length: 40 }, (_, i) => i + 1))
  t.ok(all.every((e) => e.kind === 'normal' && e.data.equals(Buffer.alloc(200, e.index))))
  t.ok(asked.length > 0 && asked[0]?.[0] === 1, 'the released run was asked from its first index')
  t.same(log.slice(1, 41, Infinity, 1000).map((e) => e.index), [1, 2, 3, 4], 'the byte bound holds for entries read back')
})

t.test('a slice stops before released entries the source cannot supply', async (t) => {
  const asked: [number, number][] = []
  const log = cachedLog(asked, normals(1, 5))
  log.handOutCommitted(40)
  log.appliedTo(40)
  t.same(log.slice(20, 41), [], 'nothing when the first entry cannot be read')
  t.same(log.slice(3, 41).map((e) => e.index), [3, 4, 5], 'up to what the source had')
})

t.test('a source returning an entry of another term is a programmer error', async (t) => {
  const asked: [number, number][] = []
  const other = normals(1, 40).map((e) => ({ ...e, term: 2 }))
  const log = cachedLog(asked, other)
  log.handOutCommitted(40)
  log.appliedTo(40)
  t.throws(() => log.slice(1, 5), /entry source returned 1\/2 for 1\/1/)
})
