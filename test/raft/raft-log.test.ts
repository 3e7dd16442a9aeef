// RaftLog guards its own positions (etcd's raftLog.appliedTo/stableTo): the
// algorithm moves them only through methods that check the rule, and a
// caller that breaks one stops on an assertion instead of corrupting state.
// Also: only raw-node.ts, the API, is imported from lib/raft's algorithm
// files by the rest of lib.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RaftLog } from '../../lib/raft/raft-log.js'
import type { Entry } from '../../lib/raft/types.js'

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
