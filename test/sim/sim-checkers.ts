// Raft's safety properties, checked incrementally as the simulation runs so
// that a violation is reported at the step that caused it:
//  - election safety: at most one leader per term;
//  - log matching: an (index, term) pair names one entry, always preceded by
//    the same term — by induction, two logs that share an (index, term) share
//    the whole prefix (also cross-checked pairwise every so often);
//  - leader completeness: a new leader's log holds every entry committed in
//    an earlier term;
//  - state-machine safety: every node commits and applies the same entry at
//    each index;
//  - durability: every quorum of the committed configuration still holds the
//    latest committed entry, crashes notwithstanding;
//  - linearizable reads: a ReadIndex read returns a value at least as new as
//    every write committed before the read began.
import { quorumSize } from '../../lib/raft/quorum.js'
import type { Config, Entry, Member, NodeId, SnapshotMeta } from '../../lib/raft/types.js'
import { decodeSet, entryFingerprint } from './sim-kv.js'
import type { DurableStore } from './sim-store.js'

export class SimViolation extends Error {
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`${rule}: ${detail}`)
    this.name = 'SimViolation'
  }
}

interface LogRecord {
  readonly fp: string
  readonly prevTerm: number
  readonly node: NodeId
}

interface CommittedRecord {
  readonly term: number
  readonly fp: string
  readonly node: NodeId
  /**
   * The lowest term in which some node was seen holding this index as
   * committed: never below the term of the leader that committed it, so
   * leaders of higher terms must hold it (leader completeness).
   */
  observedTerm: number
}

/** Terms stay far below this in a simulation, so index * span + term is a unique number key. */
const termSpan = 1 << 20

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>()
  private readonly logRecords = new Map<number, LogRecord>()
  private readonly committed: (CommittedRecord | undefined)[] = []
  /** The highest index seen committed on any node. */
  commitMax = 0
  /** The configuration of the committed prefix, and the index it is known at. */
  committedConfig: Config = { members: [] }
  private committedConfigIndex = -1
  /** value → index of the committed write that produced it. */
  private readonly valueIndex = new Map<string, number>()
  /** key → index of the newest committed write to it. */
  private readonly latestWrite = new Map<string, number>()
  leadersSeen = 0
  maxTerm = 0

  // ---- Election safety ---------------------------------------------------------

  /** Returns true the first time this (term, leader) is seen. */
  observeLeader(term: number, id: NodeId, evidence: string): boolean {
    const known = this.leaderOfTerm.get(term)
    if (known === id) return false
    if (known !== undefined) {
      throw new SimViolation('election safety', `two leaders in term ${term}: ${known} and ${id} (seen through ${evidence})`)
    }
    this.leaderOfTerm.set(term, id)
    this.leadersSeen++
    if (term > this.maxTerm) this.maxTerm = term
    return true
  }

  // ---- Log matching --------------------------------------------------------------

  /** After `entries` were appended to `store`: each (index, term) must always name the same entry and predecessor term. */
  observePersist(node: NodeId, entries: readonly Entry[], store: DurableStore): void {
    for (const e of entries) {
      if (e.term >= termSpan) throw new SimViolation('sanity', `term ${e.term} out of the simulator's range`)
      const prevTerm = store.termAt(e.index - 1)
      if (prevTerm === undefined) throw new SimViolation('log matching', `${node} persisted ${e.index}/${e.term} with no entry before it`)
      const key = e.index * termSpan + e.term
      const known = this.logRecords.get(key)
      if (known === undefined) {
        this.logRecords.set(key, { fp: entryFingerprint(e), prevTerm, node })
        continue
      }
      if (known.prevTerm !== prevTerm) {
        throw new SimViolation('log matching', `entry ${e.index}/${e.term} follows term ${prevTerm} on ${node} but term ${known.prevTerm} on ${known.node}`)
      }
      const fp = entryFingerprint(e)
      if (known.fp !== fp) {
        throw new SimViolation('log matching', `entry ${e.index}/${e.term} is "${fp}" on ${node} but "${known.fp}" on ${known.node}`)
      }
    }
  }

  /** The slow, direct version: any two logs agree on every entry up to the last index where their terms agree. */
  checkLogsPairwise(stores: readonly (readonly [NodeId, DurableStore])[]): void {
    for (let a = 0; a < stores.length; a++) {
      for (let b = a + 1; b < stores.length; b++) {
        const [idA, sa] = stores[a] as readonly [NodeId, DurableStore]
        const [idB, sb] = stores[b] as readonly [NodeId, DurableStore]
        comparePair(idA, sa, idB, sb)
      }
    }
  }

  // ---- Commit and apply ----------------------------------------------------------

  /** A node's commit index moved from `seen` to `commit` while it was in `term`. */
  observeCommit(node: NodeId, seen: number, commit: number, term: number, store: DurableStore): void {
    if (commit > store.lastIndex()) {
      throw new SimViolation('durability', `${node} commit ${commit} beyond its durable log (last ${store.lastIndex()})`)
    }
    const from = Math.max(seen, store.snapshot.meta.index) + 1
    for (let i = from; i <= commit; i++) {
      const e = store.entryAt(i) as Entry
      this.registerCommitted(node, i, e.term, entryFingerprint(e), term, e)
    }
    if (commit > this.commitMax) this.commitMax = commit
  }

  observeApply(node: NodeId, e: Entry): void {
    this.registerCommitted(node, e.index, e.term, entryFingerprint(e), Number.POSITIVE_INFINITY, e)
    if (e.index > this.commitMax) this.commitMax = e.index
  }

  /** A snapshot created or installed: its last entry's term must be the committed one. */
  observeSnapshot(node: NodeId, meta: SnapshotMeta): void {
    const c = this.committed[meta.index]
    if (c !== undefined && c.term !== meta.term) {
      throw new SimViolation('state-machine safety', `${node} holds a snapshot at ${meta.index}/${meta.term} but ${meta.index}/${c.term} was committed (on ${c.node})`)
    }
    if (meta.index > this.committedConfigIndex) {
      this.committedConfig = meta.config
      this.committedConfigIndex = meta.index
    }
    if (meta.index > this.commitMax) this.commitMax = meta.index
  }

  private registerCommitted(node: NodeId, index: number, term: number, fp: string, observedTerm: number, e: Entry): void {
    const known = this.committed[index]
    if (known !== undefined) {
      if (known.term !== term || known.fp !== fp) {
        throw new SimViolation('state-machine safety', `index ${index} committed as ${term} "${fp}" on ${node} but as ${known.term} "${known.fp}" on ${known.node}`)
      }
      if (observedTerm < known.observedTerm) known.observedTerm = observedTerm
      return
    }
    this.committed[index] = { term, fp, node, observedTerm }
    if (e.kind === 'normal') {
      const { key, value } = decodeSet(e.data)
      this.valueIndex.set(value, index)
      if (index > (this.latestWrite.get(key) ?? 0)) this.latestWrite.set(key, index)
    } else if (e.kind === 'config' && index > this.committedConfigIndex) {
      this.committedConfig = e.config
      this.committedConfigIndex = index
    }
  }

  isCommittedValue(value: string): boolean {
    return this.valueIndex.has(value)
  }

  // ---- Leader completeness ---------------------------------------------------------

  /** A node just became leader of `term`: its durable log must hold everything committed in earlier terms. */
  checkLeaderLog(node: NodeId, term: number, store: DurableStore): void {
    const snap = store.snapshot.meta
    // Entries below the snapshot are vouched for by its last entry's term.
    for (let i = Math.max(1, snap.index); i <= this.commitMax; i++) {
      const c = this.committed[i]
      if (c === undefined || c.observedTerm >= term) continue
      const have = i === snap.index ? snap.term : store.entryAt(i)?.term
      if (have !== c.term) {
        throw new SimViolation(
          'leader completeness',
          `${node} leads term ${term} without entry ${i}/${c.term} "${c.fp}" committed by term ${c.observedTerm} (it has ${have === undefined ? 'nothing' : `term ${have}`} there)`,
        )
      }
    }
  }

  // ---- Durability --------------------------------------------------------------------

  /** Every quorum of the committed configuration's voters must include a holder of the latest committed entry. */
  /**
   * `wiped(m)`: the member's disk was lost since it was added (it is listed
   * under an old incarnation). A lost disk is not the algorithm's fault, so
   * each such voter lowers the number of copies required by one: the entry
   * must survive on the rest of the quorum that committed it.
   */
  checkDurability(storeOf: (id: NodeId) => DurableStore | undefined, wiped: (m: Member) => boolean): void {
    const index = this.commitMax
    const c = this.committed[index]
    if (c === undefined) return
    const voters = this.committedConfig.members.filter((m) => m.role === 'voter')
    if (voters.length === 0) return
    let missing = 0
    const without: NodeId[] = []
    for (const m of voters) {
      if (wiped(m)) continue
      const s = storeOf(m.id)
      const holds = s !== undefined && (s.snapshot.meta.index >= index || s.termAt(index) === c.term)
      if (!holds) {
        missing++
        without.push(m.id)
      }
    }
    if (missing >= quorumSize(voters.length)) {
      throw new SimViolation('durability', `committed entry ${index}/${c.term} is missing from the durable logs of ${without.join(', ')}: a quorum of ${voters.length} voters lost it`)
    }
  }

  // ---- Linearizable reads ----------------------------------------------------------------

  /** What a read of `key` starting now must see at least: the newest committed write's index, and the commit index. */
  readFloor(key: string): { writeIndex: number; commitIndex: number } {
    return { writeIndex: this.latestWrite.get(key) ?? 0, commitIndex: this.commitMax }
  }

  checkReadIndex(node: NodeId, ctx: string, readIndex: number, commitFloor: number): void {
    if (readIndex < commitFloor) {
      throw new SimViolation('linearizable reads', `read ${ctx} on ${node} got read index ${readIndex}, below index ${commitFloor} committed before it began`)
    }
  }

  checkReadValue(node: NodeId, ctx: string, key: string, value: string | undefined, writeFloor: number): void {
    const index = value === undefined ? 0 : this.valueIndex.get(value)
    if (index === undefined) {
      throw new SimViolation('linearizable reads', `read ${ctx} on ${node} returned ${key}=${value}, which no committed write produced`)
    }
    if (index < writeFloor) {
      const shown = value === undefined ? 'nothing' : `${value} (written at ${index})`
      throw new SimViolation('linearizable reads', `read ${ctx} on ${node} returned ${key}=${shown}, older than the write at ${writeFloor} committed before the read began`)
    }
  }
}

function comparePair(idA: NodeId, a: DurableStore, idB: NodeId, b: DurableStore): void {
  const lo = Math.max(a.firstIndex(), b.firstIndex())
  let agreeAt = 0
  for (let i = Math.min(a.lastIndex(), b.lastIndex()); i >= lo; i--) {
    if (a.termAt(i) === b.termAt(i)) {
      agreeAt = i
      break
    }
  }
  for (let i = lo; i <= agreeAt; i++) {
    const ea = a.entryAt(i) as Entry
    const eb = b.entryAt(i) as Entry
    if (ea === eb) continue
    if (ea.term !== eb.term || entryFingerprint(ea) !== entryFingerprint(eb)) {
      throw new SimViolation(
        'log matching',
        `${idA} and ${idB} agree at ${agreeAt}/${a.termAt(agreeAt)} but differ at ${i}: ${ea.term} "${entryFingerprint(ea)}" vs ${eb.term} "${entryFingerprint(eb)}"`,
      )
    }
  }
}
