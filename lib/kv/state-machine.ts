// The replicated state machine: applies committed log entries to the keyspace.
//
// Contract (what keeps replicas identical): `apply` is deterministic. It reads
// time only from the entry (the leader's stamp), never from a clock; it never
// throws on entry bytes (undecodable data is rejected and the index still
// advances); and every piece of state it consults — keyspace, versions,
// sessions — is in the snapshot. Local reads (`read`, `scan`, `version`) take
// the node's own time and change nothing.

import {
  OK,
  type KvApplyResult,
  type KvOp,
  type KvOpResult,
  type KvScanResult,
  type KvWrite,
  type KvWriteOutcome,
} from './command.js'
import { PlainSetReader, decodeEnvelope } from './command-codec.js'
import { KvDecodeError, KvSnapshotError } from './errors.js'
import type { KvEventClass, KvEventSink, NotifyKeyEvent } from './key-events.js'
import { Keyspace, type StoredValue } from './keyspace.js'
import { scanKeys } from './keyspace-scan.js'
import { KEY_BYTES_MAX, applyOp, applySetFields, isReadOnlyOp, readOp } from './ops.js'
import { SessionTable } from './session-table.js'
import { SnapshotDecoder, SnapshotEncoder, decodeSnapshot, encodeSnapshot, keysSectionBytes, type SnapshotState } from './snapshot-codec.js'
import { fail } from '../util/assert.js'

/** SCAN never returns more than this many keys per call, whatever COUNT says. */

/** What most writes answer; shared, so a plain SET allocates no outcome. */
const PUBLISH_RESULT: KvOpResult = Object.freeze({ t: 'int', value: 0 })
const OK_OUTCOME: KvWriteOutcome = Object.freeze({ t: 'results', results: Object.freeze([OK]) })

export class KvStateMachine {
  /** Index of the last log entry applied (or skipped as not ours). */
  appliedIndex = 0
  private keyspace = new Keyspace()
  private sessions = new SessionTable()
  /** Reused for every entry (apply is synchronous and not re-entered). */
  private readonly plainSet = new PlainSetReader()
  /** Where keyspace events go (key-events.ts); null: none are produced. */
  private sink: KvEventSink | null = null
  /** The index of the entry being applied, for the events it produces. */
  private applyingIndex = 0
  /** The data of the plain SET being applied (PlainSetReader read it), else null: its event's key and value are this entry's. */
  private plainSetData: Buffer | null = null
  /** Bound once, so ops report events without an allocation per entry. */
  private readonly notify: NotifyKeyEvent = Object.assign(
    (event: string, typeClass: KvEventClass, key: string, value: StoredValue | null): void => {
      this.sink?.keyEvent(this.applyingIndex, event, typeClass, key, value)
    },
    {
      bytes: (event: string, typeClass: KvEventClass, key: string, bytes: Buffer, start: number, end: number): void => {
        this.sink?.keyEventBytes(this.applyingIndex, event, typeClass, key, bytes, start, end, bytes === this.plainSetData)
      },
    },
  )
  private readonly notifyLazyExpire = (key: string): void => {
    this.sink?.keyEvent(this.applyingIndex, 'expired', 'x', key, null)
  }

  private readonly notifyConfig = (name: string, value: string): void => {
    this.sink?.config?.(this.applyingIndex, name, value)
  }

  constructor() {
    this.keyspace.onLazyExpire = this.notifyLazyExpire
    this.keyspace.onConfig = this.notifyConfig
  }

  /** A replicated CONFIG parameter as applied here, or undefined when never set (replicated-config.ts has the defaults). */
  configValue(name: string): string | undefined {
    return this.keyspace.config.get(name)
  }

  /**
   * Sends every keyspace event of the entries applied from now on to `sink`,
   * in log order (null stops it). The runtime moves the sink to the state
   * machine that replaces this one after a snapshot install. The sink is told
   * at once of every replicated CONFIG parameter this state already holds:
   * one set before a snapshot (installed, or restored at start) is never
   * applied again, and the sink would otherwise keep an older value.
   */
  setEventSink(sink: KvEventSink | null): void {
    this.sink = sink
    for (const [name, value] of this.keyspace.config) sink?.config?.(this.appliedIndex, name, value)
  }

  eventSink(): KvEventSink | null {
    return this.sink
  }

  /**
   * Applies the entry at `index`. Indexes must increase; gaps are allowed
   * (the runtime skips no-op and config entries).
   */
  apply(index: number, data: Buffer): KvApplyResult {
    if (index <= this.appliedIndex) fail(`apply: index ${index} <= appliedIndex ${this.appliedIndex}`)
    this.appliedIndex = index
    this.applyingIndex = index
    const set = this.plainSet
    if (set.read(data) && set.keyEnd - set.keyStart <= KEY_BYTES_MAX) {
      this.keyspace.noteStamp(set.nowMs)
      return this.applyPlainSet(index, data, set)
    }
    let envelope
    try {
      envelope = decodeEnvelope(data)
    } catch (err) {
      if (err instanceof KvDecodeError) return { t: 'rejected', error: { code: err.code, message: err.message } }
      // Anything else escaping the decoder is still about the bytes, not our state: reject, don't diverge.
      return { t: 'rejected', error: { code: 'ERR_KV_DECODE', message: String(err) } }
    }
    const { clientId, seq, nowMs, write } = envelope
    this.keyspace.noteStamp(nowMs)
    // An empty clientId opts out of deduplication (the leader's expiry sweeps).
    if (clientId !== '') {
      const check = this.sessions.check(clientId, seq)
      if (check.t === 'duplicate') return { t: 'duplicate', outcome: check.outcome }
    }
    const outcome = this.applyWrite(write, nowMs)
    if (clientId !== '') this.sessions.remember(clientId, seq, index, outcome)
    return outcome
  }

  /**
   * A plain SET, read in place by PlainSetReader: the same steps as the
   * general path (dedupe, apply, remember) with the same results, minus the
   * decoded objects. A single OK is answered with one shared outcome.
   */
  private applyPlainSet(index: number, data: Buffer, set: PlainSetReader): KvApplyResult {
    const { clientId, seq } = set
    if (clientId !== '') {
      const check = this.sessions.check(clientId, seq)
      if (check.t === 'duplicate') return { t: 'duplicate', outcome: check.outcome }
    }
    const key = data.toString('latin1', set.keyStart, set.keyEnd)
    this.plainSetData = data
    let result: KvOpResult
    try {
      result = applySetFields(this.keyspace, key, data, set.valueStart, set.valueEnd, set.condition, set.expiry, set.get, set.nowMs, this.notify)
    } finally {
      this.plainSetData = null
    }
    const outcome: KvWriteOutcome = result === OK ? OK_OUTCOME : { t: 'results', results: [result] }
    if (clientId !== '') this.sessions.remember(clientId, seq, index, outcome)
    return outcome
  }

  /** Advances the applied index past an entry that is not a kv write (a no-op or config change). */
  skip(index: number): void {
    if (index <= this.appliedIndex) fail(`skip: index ${index} <= appliedIndex ${this.appliedIndex}`)
    this.appliedIndex = index
  }

  private applyWrite(write: KvWrite, nowMs: number): KvWriteOutcome {
    for (const watch of write.watches) {
      if (this.keyspace.version(watch.key.toString('latin1'), nowMs) !== watch.version) return { t: 'watchAborted' }
    }
    const results: KvOpResult[] = new Array(write.ops.length)
    for (let i = 0; i < write.ops.length; i++) {
      const op = write.ops[i] as KvOp
      results[i] = op.t === 'publish' ? this.publish(op.channel, op.message) : applyOp(this.keyspace, op, nowMs, this.notify)
    }
    return { t: 'results', results }
  }

  /** PUBLISH: no state changes; every node's sink sees the message at the same index. */
  private publish(channel: Buffer, message: Buffer): KvOpResult {
    this.sink?.message(this.applyingIndex, channel, message)
    return PUBLISH_RESULT
  }

  isReadOnly(op: KvOp): boolean {
    return isReadOnlyOp(op)
  }

  /**
   * Answers a read-only op from local state at `nowMs`, the cluster clock the runtime passes (after the
   * runtime's read barrier). A key past its deadline reads as absent even if
   * its sweep has not been applied yet.
   */
  read(op: KvOp, nowMs: number): KvOpResult {
    if (!isReadOnlyOp(op)) fail(`read: '${op.t}' is not a read-only op`)
    return readOp(this.keyspace, op, nowMs)
  }

  /**
   * The key's WATCH version: any write to it, its expiry, or its deletion
   * changes it. Identical on every replica at the same applied index and time.
   */
  version(key: Buffer, nowMs: number): number {
    return this.keyspace.version(key.toString('latin1'), nowMs)
  }

  /** Up to `max` keys expired at `nowMs`, for the leader to propose as an expireSweep. */
  expiredKeys(nowMs: number, max: number): Buffer[] {
    return this.keyspace.expiredKeys(nowMs, max).map((key) => Buffer.from(key, 'latin1'))
  }

  /** One page of SCAN (keyspace-scan.ts). */
  scan(cursor: string, match: string | null, count: number, nowMs: number): KvScanResult {
    return scanKeys(this.keyspace, cursor, match, count, nowMs)
  }

  /** Keys held; with `nowMs`, only those not yet expired then. */
  size(nowMs?: number): number {
    if (nowMs === undefined) return this.keyspace.size
    return this.keyspace.size - this.keyspace.expiredCount(nowMs)
  }

  /** The bytes the keys take in a snapshot (all but its small tail sections), in O(1). */
  snapshotKeysBytes(): number {
    return keysSectionBytes(this.keyspace)
  }

  /** An estimate of the memory the keyspace holds (keys, values, per-key overhead). */
  memoryBytes(): number {
    return this.keyspace.memoryBytes
  }

  /** The latest cluster time a leader stamped on an applied write (Keyspace.stampedMs); 0 when none. */
  stampedMs(): number {
    return this.keyspace.stampedMs
  }

  /** Clients remembered for deduplication. */
  sessionCount(): number {
    return this.sessions.size
  }

  /** The full state, checksummed, in one buffer (see snapshot-codec.ts). */
  snapshot(): Buffer {
    return encodeSnapshot({ appliedIndex: this.appliedIndex, keyspace: this.keyspace, sessions: this.sessions })
  }

  /**
   * The same snapshot, of the state as it is now, encoded in steps while
   * entries go on being applied (SnapshotEncoder). The caller must finish
   * or abort it; until then writes keep a copy of what they change. With
   * `chunk`, it is encoded into that buffer piece by piece (SnapshotEncoder).
   */
  beginSnapshot(chunk?: Buffer): SnapshotEncoder {
    return new SnapshotEncoder({ appliedIndex: this.appliedIndex, keyspace: this.keyspace, sessions: this.sessions }, chunk)
  }

  /** Rebuilds a state machine from `snapshot()` bytes. Throws KvSnapshotError on corruption. */
  static restore(data: Buffer): KvStateMachine {
    return KvStateMachine.of(decodeSnapshot(data))
  }

  /**
   * Rebuilds one from a snapshot read in order, `chunkBytes` at a time,
   * through one reused buffer: a restart holds the state being built and a
   * chunk, not the snapshot as well. Throws KvSnapshotError on corruption,
   * and what `source` throws.
   */
  static async restoreFrom(source: SnapshotSource, chunkBytes: number): Promise<KvStateMachine> {
    const decoder = new SnapshotDecoder(source.dataBytes)
    const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(chunkBytes, source.dataBytes)))
    for (let offset = 0; offset < source.dataBytes;) {
      const part = await source.readInto(offset, chunk)
      if (part.length === 0) throw new KvSnapshotError(`snapshot source ended at byte ${offset} of ${source.dataBytes}`)
      decoder.push(part)
      offset += part.length
    }
    return KvStateMachine.of(decoder.finish())
  }

  /** The machine `decoder` rebuilt, once every byte came. Throws KvSnapshotError as SnapshotDecoder.finish does. */
  static restored(decoder: SnapshotDecoder): KvStateMachine {
    return KvStateMachine.of(decoder.finish())
  }

  /**
   * This state's snapshot bytes, made a chunk at a time in one reused
   * buffer of `chunkBytes` as they are iterated (each part must be used
   * before the next is asked for): a snapshot installed from the leader is
   * written to its file from the restored state this way. Nothing may
   * write to the state meanwhile.
   */
  encodedParts(chunkBytes: number): { readonly dataBytes: number } & Iterable<Buffer> {
    const encoder = this.beginSnapshot(Buffer.allocUnsafe(chunkBytes))
    return {
      dataBytes: encoder.bytes,
      *[Symbol.iterator]() {
        try {
          let done = false
          while (!done) {
            done = encoder.step(KEYS_PER_PART_STEP)
            if (encoder.full) yield encoder.takeChunk()
          }
          yield* encoder.finishChunks()
        } finally {
          encoder.abort() // a no-op once finishChunks() ran
        }
      },
    }
  }

  private static of(state: SnapshotState): KvStateMachine {
    const machine = new KvStateMachine()
    machine.appliedIndex = state.appliedIndex
    machine.keyspace = state.keyspace
    machine.keyspace.onLazyExpire = machine.notifyLazyExpire
    machine.keyspace.onConfig = machine.notifyConfig
    machine.sessions = state.sessions
    return machine
  }
}

/** Keys encoded per step of encodedParts: a step also ends when the chunk is full. */
const KEYS_PER_PART_STEP = 4096

/** Where a snapshot's bytes are read from in order (a snapshot file: lib/storage's SnapshotFileReader). */
export interface SnapshotSource {
  readonly dataBytes: number
  /** Fills `into` from `offset`, or as much of it as the data has left; answers the part filled. */
  readInto(offset: number, into: Buffer): Promise<Buffer>
}
