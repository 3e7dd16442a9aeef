// The core simulator's safety checks (sim-checkers.ts) applied to the real
// nodes of the runtime simulator, from what each Replica shows: the entries
// it stores (storedObserver), the entries it applies (applyObserver), its
// leadership, and its ReadIndex answers.
//  - election safety: one leader per term;
//  - log matching: an (index, term) pair names one entry, and one
//    predecessor term, on every node that ever stores it;
//  - state-machine safety: every node applies the same entry at an index;
//  - leader completeness: a node that leads term T holds every entry seen
//    committed (applied somewhere) while that node's term was below T;
//  - the read floor: a ReadIndex answer is at least the highest index any
//    node had applied when the read began.
import type { Entry, NodeId } from '../../../lib/raft/types.js'
import type { Replica } from '../../../lib/replica/replica.js'
import { crc32c } from '../../../lib/util/checksum.js'
import { SimViolation } from '../sim-checkers.js'
import { ownEntry } from '../sim-store.js'

// Records keep a copy of the entry (the bytes a node hands out are valid only
// until its Ready is advanced: lib/raft/entry-ring.ts): comparing is a byte
// compare, and a fingerprint is computed only for a violation's message.
interface StoredRecord {
  readonly entry: Entry
  readonly prevTerm: number
  readonly node: NodeId
}

interface CommittedRecord {
  readonly entry: Entry
  readonly node: NodeId
  /** The lowest term of a node seen applying it: a leader of a higher term must hold it. */
  observedTerm: number
}

/** Terms stay far below this in a simulation, so index * span + term is a unique number key. */
const termSpan = 1 << 20

export class RuntimeSafety {
  private readonly leaderOfTerm = new Map<number, NodeId>()
  private readonly stored = new Map<number, StoredRecord>()
  private readonly committed: (CommittedRecord | undefined)[] = []
  /** The highest index any node applied (or installed a snapshot at). */
  appliedMax = 0
  leadersElected = 0
  leaderLogsChecked = 0
  readFloorsChecked = 0

  /** Returns true the first time `id` is seen leading `term`. */
  observeLeader(term: number, id: NodeId): boolean {
    const known = this.leaderOfTerm.get(term)
    if (known === id) return false
    if (known !== undefined) throw new SimViolation('election safety', `two leaders in term ${term}: ${known} and ${id}`)
    this.leaderOfTerm.set(term, id)
    this.leadersElected++
    return true
  }

  /** A batch of entries is durable on `node`; `prevTerm` is the term of the entry before the first (undefined if compacted). */
  observeStored(node: NodeId, entries: readonly Entry[], batchPrevTerm: number | undefined): void {
    let prevTerm = batchPrevTerm
    for (const e of entries) {
      if (e.term >= termSpan) throw new SimViolation('sanity', `term ${e.term} out of the simulator's range`)
      const key = e.index * termSpan + e.term
      const known = this.stored.get(key)
      if (known === undefined) {
        // Unknown when the entry before it is compacted away: the first holder's record stands.
        if (prevTerm !== undefined) this.stored.set(key, { entry: ownEntry(e), prevTerm, node })
      } else if (!sameEntry(known.entry, e)) {
        throw new SimViolation('log matching', `entry ${e.index}/${e.term} is "${fingerprint(e)}" on ${node} but "${fingerprint(known.entry)}" on ${known.node}`)
      } else if (prevTerm !== undefined && known.prevTerm !== prevTerm) {
        throw new SimViolation('log matching', `entry ${e.index}/${e.term} follows term ${prevTerm} on ${node} but term ${known.prevTerm} on ${known.node}`)
      }
      prevTerm = e.term
    }
  }

  /** `node`, in `term`, applied `e`: one entry per index, whoever applies it. */
  observeApply(node: NodeId, term: number, e: Entry): void {
    const known = this.committed[e.index]
    if (known === undefined) {
      this.committed[e.index] = { entry: ownEntry(e), node, observedTerm: term }
    } else if (!sameEntry(known.entry, e)) {
      throw new SimViolation('state-machine safety', `${node} applied ${e.term} "${fingerprint(e)}" at ${e.index}, ${known.node} applied ${known.entry.term} "${fingerprint(known.entry)}"`)
    } else if (term < known.observedTerm) {
      known.observedTerm = term
    }
    if (e.index > this.appliedMax) this.appliedMax = e.index
  }

  /** `node` just became leader of `term`: its log must hold everything committed while terms were lower. */
  checkLeaderLog(node: NodeId, term: number, r: Replica): void {
    const st = r.status()
    this.leaderLogsChecked++
    for (let i = st.snapshotIndex + 1; i <= this.appliedMax; i++) {
      const c = this.committed[i]
      if (c === undefined || c.observedTerm >= term) continue
      const have = r.termAt(i)
      if (have !== c.entry.term) {
        throw new SimViolation(
          'leader completeness',
          `${node} leads term ${term} without entry ${i}/${c.entry.term} "${fingerprint(c.entry)}", applied by ${c.node} in term ${c.observedTerm} (it has ${have === undefined ? 'nothing' : `term ${have}`} there)`,
        )
      }
    }
  }

  /** A ReadIndex answer on `node`: -1 (no answer) or at least what was applied anywhere when the read began. */
  checkReadIndex(node: NodeId, readIndex: number, floor: number): void {
    if (readIndex < 0) return
    this.readFloorsChecked++
    if (readIndex < floor) {
      throw new SimViolation('linearizable reads', `a ReadIndex on ${node} answered ${readIndex}, below index ${floor} applied before the read began`)
    }
  }
}

function sameEntry(a: Entry, b: Entry): boolean {
  if (a === b) return true
  if (a.term !== b.term || a.kind !== b.kind) return false
  if (a.kind === 'normal' && b.kind === 'normal') return a.data.equals(b.data)
  return fingerprint(a) === fingerprint(b)
}

function fingerprint(e: Entry): string {
  if (e.kind === 'normal') return `normal:${crc32c(e.data)}`
  if (e.kind === 'config') return `config:${e.config.members.map((m) => `${m.id}:${m.role}:${m.incarnation ?? ''}`).join(',')}`
  return e.kind
}
