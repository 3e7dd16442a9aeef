// Issue 15, finding 2, as a constructed scenario on the runtime simulator's
// clock, disk and network: a node has one staging slot for received
// snapshots. The core accepts snapshot A; before the next Ready installs it,
// another snapshot completes that the core drops (an older term). That one
// must not take A's slot, or installing A finds the wrong bytes and the node
// stops on an assertion.
import t from 'tap'
import { parseNodeConfig } from '../../lib/config/node-config.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Replica } from '../../lib/replica/replica.js'
import type { SnapshotChunk } from '../../lib/transport/wire-message.js'
import { crc32c } from '../../lib/util/checksum.js'
import { silentLogger } from '../../lib/util/logger.js'
import { Prng } from '../../lib/util/prng.js'
import { seededRandom } from '../../lib/util/random-source.js'
import { emptyDiskStats, SimDisk } from './runtime/sim-disk.js'
import { SimPeerHub, type SimEndpoint } from './runtime/sim-peer-network.js'
import { SimProcess, SimScheduler } from './runtime/sim-scheduler.js'

const calmDisk = { metaLatencyMsMax: 0.1, syncLatencyMsMin: 0.5, syncLatencyMsMax: 1, stallProbability: 0, stallMsMax: 0, faultProbability: 0, loseAllUnsyncedProbability: 0 }
const calmNet = { dropProbability: 0, duplicateProbability: 0, latencyMsMin: 1, latencyMsMax: 1 }

t.test('a snapshot the core drops does not replace the staged one it accepted (issue 15, finding 2)', async (t) => {
  const scheduler = new SimScheduler()
  const process = new SimProcess('n2#1')
  const disk = new SimDisk('/sim/n2', scheduler, new Prng(1), calmDisk, emptyDiskStats())
  disk.attach(process)
  const hub = new SimPeerHub(scheduler, new Prng(2), calmNet, null)
  const clock = scheduler.clockFor(process)
  let endpoint: SimEndpoint | null = null
  const io = {
    clock,
    random: seededRandom(new Prng(3)),
    fs: disk,
    connect: () => (endpoint = hub.endpoint('n2', 'n2.sim:7000', clock, process)),
  }
  const config = {
    ...parseNodeConfig({ NODE_ID: 'n2', RAFT_ADDR: '127.0.0.1:7000', RESP_ADDR: '127.0.0.1:6379', HTTP_ADDR: '127.0.0.1:8080', DATA_DIR: '/sim/n2', JOIN: '127.0.0.1:7001', CLUSTER_SECRET: 'simulated-cluster-secret', HIGH_WATER_FILE: 'off' }),
    raftAddr: { host: 'n2.sim', port: 7000 },
    join: { host: 'n1.sim', port: 7000 },
  }
  let replica: Replica | null = null
  void Replica.start(config, silentLogger(), io).then((r) => {
    replica = r
  })
  await scheduler.runUntil(50, () => replica !== null)
  if (replica === null || endpoint === null) return t.fail('the node did not start')
  const node: Replica = replica
  const net: SimEndpoint = endpoint
  let fatal: Error | null = null
  node.on('fatal', (err) => {
    fatal = err
  })
  const data = new KvStateMachine().snapshot()
  const members = [{ id: 'n1', addr: 'n1.sim:7000', role: 'voter' as const }, { id: 'n2', addr: 'n2.sim:7000', role: 'voter' as const }]
  const chunk = (index: number, term: number): SnapshotChunk => ({
    type: 'SnapshotChunk', term, from: 'n1', to: 'n2', meta: { index, term, config: { members } },
    offset: 0, totalBytes: data.length, data, crc: crc32c(data), fromIncarnation: '', toIncarnation: '',
  })
  // Both complete in one event-loop turn, before the Ready loop runs.
  scheduler.at(0, null, () => {
    net.receive(chunk(10, 3), 'n1', () => {})
    net.receive(chunk(8, 2), 'n1', () => {})
  })
  await scheduler.runUntil(scheduler.elapsedMs + 200)
  t.equal(fatal === null ? null : (fatal as Error).message, null, 'the node keeps running')
  t.equal(node.snapshotIndexNow(), 10, 'the snapshot the core accepted is installed')
  t.equal(node.appliedIndex(), 10)
  await node.stop().catch(() => undefined)
})
