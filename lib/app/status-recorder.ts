// What GET /status adds to ClientBackend.info() for the status page and for
// scripts: each member's replication progress and connection, request and
// fsync rates with latency quantiles (one sample a second, read from the
// /metrics histograms), leader changes and term bumps, snapshot counts.
// Everything is bounded: a fixed number of samples and of changes.
import type { Replica } from '../replica/replica.js'
import type { LeaderChange, LoadSample, MemberDetail, SnapshotCount, StatusDetail } from '../server/http/status-body.js'
import { countBetween, quantileBetween, readingFrom, type HistogramReading } from './histogram-window.js'
import type { NodeMetrics } from './node-metrics.js'

export interface StatusRecorderOptions {
  readonly sampleIntervalMs: number
  /** Samples kept for loadHistory: a minute at one a second. */
  readonly historySamplesMax: number
  /** GET /status's `load` spans this many sample intervals, so one quiet second does not read as zero. */
  readonly loadWindowSamples: number
  readonly leaderChangesMax: number
}

export const statusRecorderOptionsDefault: StatusRecorderOptions = Object.freeze({
  sampleIntervalMs: 1000,
  historySamplesMax: 60,
  loadWindowSamples: 5,
  leaderChangesMax: 64,
})

interface Reading {
  readonly atMs: number
  readonly writes: HistogramReading
  readonly reads: HistogramReading
  readonly fsyncs: HistogramReading
}

type SnapshotKind = 'saved' | 'installed' | 'sent'

/** Appends a change when (term, leader) differs from the newest; drops the oldest beyond `max`. */
export function recordLeaderChange(changes: LeaderChange[], change: LeaderChange, max: number): void {
  const newest = changes.at(-1)
  if (newest !== undefined && newest.term === change.term && newest.leader === change.leader) return
  changes.push(change)
  if (changes.length > max) changes.splice(0, changes.length - max)
}

/** One load sample between two readings; latencies converted from the histograms' seconds to ms. */
export function loadSampleBetween(earlier: Reading, later: Reading): LoadSample {
  const intervalMs = Math.max(1, later.atMs - earlier.atMs)
  const perSec = (a: HistogramReading, b: HistogramReading): number => (countBetween(a, b) * 1000) / intervalMs
  const quantileMs = (a: HistogramReading, b: HistogramReading, q: number): number | null => {
    const s = quantileBetween(a, b, q)
    return s === null ? null : Math.round(s * 1e6) / 1e3
  }
  return {
    atMs: later.atMs,
    intervalMs,
    writesPerSec: round1(perSec(earlier.writes, later.writes)),
    readsPerSec: round1(perSec(earlier.reads, later.reads)),
    writeP50Ms: quantileMs(earlier.writes, later.writes, 0.5),
    writeP99Ms: quantileMs(earlier.writes, later.writes, 0.99),
    readP50Ms: quantileMs(earlier.reads, later.reads, 0.5),
    readP99Ms: quantileMs(earlier.reads, later.reads, 0.99),
    fsyncsPerSec: round1(perSec(earlier.fsyncs, later.fsyncs)),
    fsyncP50Ms: quantileMs(earlier.fsyncs, later.fsyncs, 0.5),
    fsyncP99Ms: quantileMs(earlier.fsyncs, later.fsyncs, 0.99),
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10
}

export class StatusRecorder {
  private readonly options: StatusRecorderOptions
  private readonly startedAtMs = Date.now()
  /** Oldest first; at most historySamplesMax + 1 (a sample needs two readings). */
  private readonly readings: Reading[] = []
  private readonly leaderChanges: LeaderChange[] = []
  private readonly snapshots: Record<SnapshotKind, { count: number; lastAtMs: number | null }> = {
    saved: { count: 0, lastAtMs: null },
    installed: { count: 0, lastAtMs: null },
    sent: { count: 0, lastAtMs: null },
  }
  private timer: NodeJS.Timeout | null = null
  private sampling = false
  private readonly onLeaderChange = (): void => this.observeLeader()
  private readonly onSnapshot = (kind: SnapshotKind): void => {
    this.snapshots[kind].count++
    this.snapshots[kind].lastAtMs = Date.now()
  }

  constructor(
    private readonly replica: Replica,
    private readonly metrics: NodeMetrics,
    options: Partial<StatusRecorderOptions> = {},
  ) {
    this.options = { ...statusRecorderOptionsDefault, ...options }
  }

  start(): void {
    this.observeLeader()
    this.replica.on('leaderChange', this.onLeaderChange)
    this.replica.on('snapshot', this.onSnapshot)
    void this.sample()
    this.timer = setInterval(() => void this.sample(), this.options.sampleIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.replica.off('leaderChange', this.onLeaderChange)
    this.replica.off('snapshot', this.onSnapshot)
  }

  detail(): StatusDetail {
    const st = this.replica.status()
    // A term bump without a new leader (a failed election) fires no leaderChange.
    this.observeLeader(st)
    const peers = this.replica.peerStates()
    const tickMs = this.replica.tickMs()
    const members = new Map<string, MemberDetail>()
    for (const m of st.config.members) {
      const pr = st.progress.get(m.id)
      members.set(m.id, {
        match: pr?.match ?? null,
        lag: pr === undefined ? null : Math.max(0, st.lastIndex - pr.match),
        lastContactMs: pr === undefined ? null : pr.lastContactTicks * tickMs,
        state: pr?.state ?? null,
        connection: m.id === st.id ? 'self' : (peers.get(m.id) ?? 'down'),
      })
    }
    const history = this.history()
    return {
      nowMs: Date.now(),
      startedAtMs: this.startedAtMs,
      incarnation: st.incarnation,
      firstIndex: st.firstIndex,
      lastIndex: st.lastIndex,
      members,
      load: this.windowLoad(),
      loadHistory: history,
      leaderChanges: [...this.leaderChanges],
      snapshots: { saved: this.snapshotCount('saved'), installed: this.snapshotCount('installed'), sent: this.snapshotCount('sent') },
    }
  }

  private snapshotCount(kind: SnapshotKind): SnapshotCount {
    return { count: this.snapshots[kind].count, lastAtMs: this.snapshots[kind].lastAtMs }
  }

  private observeLeader(st = this.replica.status()): void {
    recordLeaderChange(this.leaderChanges, { atMs: Date.now(), term: st.term, leader: st.leader }, this.options.leaderChangesMax)
  }

  private history(): LoadSample[] {
    const samples: LoadSample[] = []
    for (let i = 1; i < this.readings.length; i++) samples.push(loadSampleBetween(this.readings[i - 1] as Reading, this.readings[i] as Reading))
    return samples
  }

  private windowLoad(): LoadSample | null {
    const n = this.readings.length
    if (n < 2) return null
    const earlier = this.readings[Math.max(0, n - 1 - this.options.loadWindowSamples)] as Reading
    return loadSampleBetween(earlier, this.readings[n - 1] as Reading)
  }

  private async sample(): Promise<void> {
    // prom-client's get() is async; a slow one must not let readings pile up.
    if (this.sampling) return
    this.sampling = true
    try {
      const [writes, reads, fsyncs] = await Promise.all([reading(this.metrics.writeLatency), reading(this.metrics.readLatency), reading(this.metrics.fsyncLatency)])
      this.readings.push({ atMs: Date.now(), writes, reads, fsyncs })
      if (this.readings.length > this.options.historySamplesMax + 1) this.readings.shift()
      this.observeLeader()
    } finally {
      this.sampling = false
    }
  }
}

/** prom-client's histograms and ours (request-meters.ts) answer get() alike. */
async function reading(histogram: { get(): Promise<{ values: Parameters<typeof readingFrom>[0] }> }): Promise<HistogramReading> {
  return readingFrom((await histogram.get()).values)
}
