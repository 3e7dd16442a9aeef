// Prometheus metrics for one node (prom-client: the standard text format and
// histograms without hand-written bucketing). Each node gets its own registry
// so that several nodes can live in one test process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FeedHub } from '../feeds/feed-hub.js'
import { registerFeedMetrics } from '../feeds/feed-metrics.js'
import { PlainHistogram, RequestCounter } from './request-meters.js'
import { unsafeSwitchNames } from '../config/node-config.js'
import type { Replica } from '../replica/replica.js'

const roleCodes = { follower: 0, precandidate: 1, candidate: 2, leader: 3 } as const

export class NodeMetrics {
  readonly registry = new Registry()
  readonly requests: RequestCounter
  readonly writeLatency: PlainHistogram
  readonly readLatency: PlainHistogram
  readonly fsyncLatency: PlainHistogram
  private clientCount: () => number = () => 0

  constructor(replica: Replica, withProcessMetrics: boolean) {
    const registry = this.registry
    registry.setDefaultLabels({ node: replica.id })
    if (withProcessMetrics) collectDefaultMetrics({ register: registry })
    const status = (): ReturnType<Replica['status']> => replica.status()
    new Gauge({ name: 'raftkv_role', help: 'Raft role: 0 follower, 1 pre-candidate, 2 candidate, 3 leader', registers: [registry], collect() { this.set(roleCodes[status().role]) } })
    new Gauge({ name: 'raftkv_term', help: 'Current Raft term', registers: [registry], collect() { this.set(status().term) } })
    new Gauge({ name: 'raftkv_commit_index', help: 'Highest log index known committed', registers: [registry], collect() { this.set(status().commit) } })
    new Gauge({ name: 'raftkv_applied_index', help: 'Highest log index applied to the state machine', registers: [registry], collect() { this.set(replica.appliedIndex()) } })
    new Gauge({ name: 'raftkv_snapshot_index', help: 'Index of the newest snapshot', registers: [registry], collect() { this.set(replica.snapshotIndexNow()) } })
    new Gauge({ name: 'raftkv_members', help: 'Members in the configuration, by role', labelNames: ['role'], registers: [registry], collect() {
      const members = status().config.members
      this.set({ role: 'voter' }, members.filter((m) => m.role === 'voter').length)
      this.set({ role: 'learner' }, members.filter((m) => m.role === 'learner').length)
    } })
    new Gauge({ name: 'raftkv_peer_connected', help: '1 when the outbound connection to a peer is up', labelNames: ['peer'], registers: [registry], collect() {
      this.reset()
      for (const [peer, state] of replica.peerStates()) this.set({ peer }, state === 'connected' ? 1 : 0)
    } })
    const switchesOn = replica.unsafeSwitches()
    new Gauge({ name: 'raftkv_unsafe_switch', help: '1 when a test-only switch (RAFTKV_TEST_MODE) is on: this node is not safe for production', labelNames: ['switch'], registers: [registry], collect() {
      for (const name of unsafeSwitchNames) this.set({ switch: name }, switchesOn.includes(name) ? 1 : 0)
    } })
    new Gauge({ name: 'raftkv_keys', help: 'Keys in the state machine', registers: [registry], collect() { this.set(replica.keyCount()) } })
    this.requests = new RequestCounter(registry)
    const latencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    this.writeLatency = new PlainHistogram('raftkv_write_latency_seconds', 'Client write latency from request to committed and applied', latencyBuckets, registry)
    this.readLatency = new PlainHistogram('raftkv_read_latency_seconds', 'Client read latency, ReadIndex barrier included', latencyBuckets, registry)
    // Observed once per persist: with one client, once per write on every node.
    this.fsyncLatency = new PlainHistogram('raftkv_fsync_seconds', 'Time to write and fsync one batch of the log', [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1], registry)
    const batchEntries = new PlainHistogram('raftkv_batch_entries', 'Entries per fsynced batch (group commit)', [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registry)
    const fsync = this.fsyncLatency
    replica.on('persisted', (ms, entries) => {
      fsync.observe(ms / 1000)
      batchEntries.observe(entries)
    })
    const snapshots = new Counter({ name: 'raftkv_snapshots_total', help: 'Snapshots saved locally, installed from the leader, or sent to a follower (completed transfers)', labelNames: ['kind'], registers: [registry] })
    const snapshotSeconds = new Histogram({ name: 'raftkv_snapshot_seconds', help: 'Time to save, install or send a snapshot', labelNames: ['kind'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30], registers: [registry] })
    replica.on('snapshot', (kind, ms) => {
      snapshots.inc({ kind })
      snapshotSeconds.observe({ kind }, ms / 1000)
    })
    const self = this
    new Gauge({ name: 'raftkv_client_connections', help: 'Open RESP client connections', registers: [registry], collect() { this.set(self.clientCount()) } })
  }

  /** Counts one request (every client request: see request-meters.ts). */
  countRequest(command: string, outcome: string): void {
    this.requests.count(command, outcome)
  }

  /** The RESP server exists after the metrics: it hands over its counter here. */
  countClientsWith(count: () => number): void {
    this.clientCount = count
  }

  /** Gauges and counters of the change feeds (read from the hub when scraped). */
  countFeeds(feeds: FeedHub): void {
    registerFeedMetrics(this.registry, feeds)
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}
