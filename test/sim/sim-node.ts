// One node of the core-only profile: a real RaftNode core, its durable
// store, its state machine, and the documented Ready loop in its plainest
// form (send messagesNow → install snapshot, persist → send
// messagesAfterPersist → apply, serve reads → advance), run synchronously,
// as etcd's rafttest drives its core. A crash can be armed at a point inside
// that loop, so that it loses exactly what a real process would: everything
// not yet persisted; and deliberate bugs can be switched on to show the
// checkers catch them.
//
// It stands in for no duty of the runtime: group commit, interim applies,
// held hard state, stepped and chunked snapshots, join and promotion, the
// watchdogs and sweeps are lib/replica's, and the runtime simulator
// (runtime/) runs them as they ship. This driver exists so the core alone
// can be run for thousands of seeds in a minute or two, with crash points between
// every step of a Ready, which the real, asynchronous loop cannot offer.
import { assert } from '../../lib/util/assert.js'
import { RaftNode, type RaftOptions } from '../../lib/raft/raw-node.js'
import type { Entry, EntrySource, InitialState, Message, NodeId, Ready, ReadState, SnapshotMeta } from '../../lib/raft/types.js'
import { KvModel } from './sim-kv.js'
import { DurableStore, type StoredSnapshot } from './sim-store.js'

export type CrashPoint = 'beforePersist' | 'tornPersist' | 'afterPersist' | 'beforeApply' | 'beforeAdvance'
export const crashPoints: readonly CrashPoint[] = ['beforePersist', 'tornPersist', 'afterPersist', 'beforeApply', 'beforeAdvance']

/** Deliberate runtime bugs, for showing that the checkers notice them. */
export interface RuntimeBugs {
  /** The store keeps the term but loses the vote across a restart. */
  readonly forgetVoteOnRestart: boolean
  /** messagesAfterPersist go out before the batch is durable. */
  readonly sendBeforePersist: boolean
}

export const noBugs: RuntimeBugs = Object.freeze({ forgetVoteOnRestart: false, sendBeforePersist: false })

export type CoreFactory = (options: RaftOptions, initial: InitialState) => RaftNode

export const realCore: CoreFactory = (options, initial) => new RaftNode(options, initial)

/** What a node needs from the cluster around it. */
export interface SimNodeEnv {
  send(from: SimNode, m: Message): void
  onPersist(node: SimNode, entries: readonly Entry[]): void
  onSnapshotInstalled(node: SimNode, meta: SnapshotMeta): void
  onApply(node: SimNode, e: Entry): void
  onReadState(node: SimNode, rs: ReadState): void
  /** Called after each Ready's applies, so waiting reads can be served. */
  onApplied(node: SimNode): void
  onCrash(node: SimNode, how: string): void
  /** A draw from the seed, in [0, n). */
  random(n: number): number
}

/** A bound on Ready rounds per input: the core must go quiet. */
const readyRoundsMax = 1000

export class SimNode {
  core: RaftNode | null = null
  store: DurableStore
  kv = new KvModel()
  /** Counts starts, so that replies meant for an earlier process are recognised. */
  boot = 0
  crashArmed: CrashPoint | null = null
  /** Simulated time of the last wipe: packets sent to the node before it are lost. */
  wipedAt = -1
  /** Wipes so far: each gives the data directory a new incarnation, as the runtime's does. */
  private wipes = 0
  /**
   * Wiped while a member: like a runtime started empty with JOIN set, it
   * asks the leader to replace its old incarnation until the committed
   * configuration lists the new one.
   */
  rejoinPending = false
  /** The commit index last registered with the checker, this boot. */
  commitSeen = 0
  /** Snapshot bytes received with Snapshot messages, waiting for the core to install them. */
  private readonly staged = new Map<string, StoredSnapshot>()

  constructor(
    readonly id: NodeId,
    private readonly options: Omit<RaftOptions, 'id' | 'random'>,
    initial: InitialState,
    private readonly env: SimNodeEnv,
    private readonly factory: CoreFactory,
    private readonly bugs: RuntimeBugs,
  ) {
    this.store = DurableStore.fromInitial(initial)
  }

  /** The incarnation of this node's data directory (the runtime draws a random one; here it counts wipes). */
  get incarnation(): string {
    return `${this.id}.${this.wipes + 1}`
  }

  alive(): boolean {
    return this.core !== null
  }

  // ---- Process lifecycle ----------------------------------------------------------

  start(): void {
    assert(this.core === null, `sim-node: ${this.id} started twice`)
    this.boot++
    let initial = this.store.initialState()
    if (this.bugs.forgetVoteOnRestart && this.boot > 1) initial = { ...initial, hardState: { ...initial.hardState, vote: '' } }
    this.kv = KvModel.restore(this.store.snapshot.bytes)
    this.commitSeen = 0
    // Released entries are read back from what this node stored (the store as it is when asked: a wipe replaces it).
    const entrySource: EntrySource = { entries: (lo, hi) => this.store.durableRange(lo, hi) }
    this.core = this.factory({ ...this.options, id: this.id, incarnation: this.incarnation, random: (n) => this.env.random(n), entrySource }, initial)
    this.drain()
  }

  crash(how: string): void {
    if (this.core === null) return
    this.core = null
    this.crashArmed = null
    this.staged.clear()
    this.env.onCrash(this, how)
  }

  /** Crash and lose the disk: the node comes back knowing nothing, like a replaced machine. */
  wipe(now: number): void {
    this.crash('wiped')
    this.store = DurableStore.fromInitial(RaftNode.emptyState())
    this.wipedAt = now
    this.wipes++
  }

  // ---- Inputs (each followed by the Ready loop) ------------------------------------------

  deliver(m: Message, snapshotBytes: Buffer | null): void {
    const core = this.core
    if (core === null) return
    if (m.type === 'Snapshot') {
      assert(snapshotBytes !== null, 'sim-node: a Snapshot message arrived without its bytes')
      this.staged.set(snapshotKey(m.snapshot), { meta: m.snapshot, bytes: snapshotBytes })
    }
    core.step(m)
    this.drain()
  }

  /** Saves a snapshot of the state machine at its applied index and compacts the log up to it. */
  takeSnapshot(): SnapshotMeta | null {
    const core = this.core
    if (core === null) return null
    const index = this.kv.appliedIndex
    if (index <= this.store.snapshot.meta.index) return null
    const meta = core.snapshotMeta(index)
    this.store.saveSnapshotAndCompact({ meta, bytes: this.kv.serialize() })
    core.compact(index)
    this.drain()
    return meta
  }

  /** Runs Ready rounds until the core has nothing more (or the node crashed on the way). */
  drain(): void {
    let rounds = 0
    for (let core = this.core; core !== null && core.hasReady(); core = this.core) {
      rounds++
      assert(rounds <= readyRoundsMax, `sim-node: ${this.id} still has a Ready after ${readyRoundsMax} rounds`)
      this.handleReady(core, core.ready())
    }
  }

  // ---- The Ready loop -------------------------------------------------------------------

  private handleReady(core: RaftNode, rd: Ready): void {
    for (const m of rd.messagesNow) this.env.send(this, m)
    if (this.bugs.sendBeforePersist) for (const m of rd.messagesAfterPersist) this.env.send(this, m)
    if (this.crashArmed === 'beforePersist') return this.crash('crash before persisting a Ready')
    if (this.crashArmed === 'tornPersist') return this.tornPersist(rd)
    this.persist(rd)
    if (this.crashArmed === 'afterPersist') return this.crash('crash after persisting, before sending')
    if (!this.bugs.sendBeforePersist) for (const m of rd.messagesAfterPersist) this.env.send(this, m)
    if (this.crashArmed === 'beforeApply') return this.crash('crash before applying')
    for (const e of rd.committed) {
      this.kv.apply(e)
      this.env.onApply(this, e)
    }
    for (const rs of rd.readStates) this.env.onReadState(this, rs)
    this.env.onApplied(this)
    if (this.crashArmed === 'beforeAdvance') return this.crash('crash before advance')
    core.advance(rd)
  }

  private persist(rd: Ready): void {
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot)
    if (rd.hardState !== null) this.store.hardState = rd.hardState
    if (rd.entries.length > 0) {
      this.store.append(rd.entries)
      this.env.onPersist(this, rd.entries)
    }
  }

  private installSnapshot(meta: SnapshotMeta): void {
    const staged = this.staged.get(snapshotKey(meta))
    assert(staged !== undefined, `sim-node: ${this.id} was told to install snapshot ${meta.index}/${meta.term} that never arrived`)
    this.staged.clear()
    const kv = KvModel.restore(staged.bytes)
    assert(kv.appliedIndex === meta.index, `sim-node: snapshot bytes at ${kv.appliedIndex} shipped as ${meta.index}`)
    this.kv = kv
    this.store.installSnapshot(staged)
    this.env.onSnapshotInstalled(this, meta)
  }

  /** A crash in the middle of the write: a prefix of the entries reached the disk, the hard state did not. */
  private tornPersist(rd: Ready): void {
    if (rd.snapshot === null && rd.entries.length > 0) {
      const kept = rd.entries.slice(0, this.env.random(rd.entries.length))
      if (kept.length > 0) {
        this.store.append(kept)
        this.env.onPersist(this, kept)
      }
    }
    this.crash('crash during persist (torn write)')
  }
}

function snapshotKey(meta: SnapshotMeta): string {
  return `${meta.index}/${meta.term}`
}
