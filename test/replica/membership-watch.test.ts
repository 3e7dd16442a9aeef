// A node's view of its own membership: a node started empty with JOIN is
// 'joining' while the configurations it receives do not list it yet (the
// leader's snapshot and log from before its own addition), and only a node
// that was listed and then is not has been removed.
import t from 'tap'
import type { Config, Member } from '../../lib/raft/types.js'
import { encodeMemberAddrs } from '../../lib/replica/member-addr.js'
import { MembershipWatch } from '../../lib/replica/membership-watch.js'
import { silentLogger } from '../../lib/util/logger.js'

const member = (id: string, port: number): Member => ({
  id,
  addr: encodeMemberAddrs({ raft: `127.0.0.1:${port}`, resp: `127.0.0.1:${port + 1}`, http: `127.0.0.1:${port + 2}` }),
  role: 'voter',
})
const n1 = member('n1', 7000)
const n2 = member('n2', 7010)

/** A watch on node n2 whose core reports whatever configuration `config` holds. */
function watchOn(opts: { clusterId: string; join: boolean; meta?: Map<string, string> }): { watch: MembershipWatch; apply: (c: Config) => void } {
  let config: Config = { members: [] }
  const meta = opts.meta ?? new Map<string, string>()
  const ctx = {
    id: 'n2',
    incarnation: 'i2',
    config: { join: opts.join ? { host: '127.0.0.1', port: 7000 } : null, peerAddrOverrides: new Map<string, string>(), electionTimeoutTicks: 10, tickMs: 50 },
    logger: silentLogger(),
    raft: { config: () => config, status: () => ({ config, role: 'follower', leader: 'n1' }), leaderId: () => 'n1' },
    transport: { setPeers: () => undefined },
    events: { emit: () => undefined },
    clusterId: () => opts.clusterId,
    // The data directory's metadata (NodeStorage.getMeta/setMeta), a write landing at once.
    storage: { getMeta: (key: string) => meta.get(key), setMeta: async (key: string, value: string) => void meta.set(key, value) },
  }
  // The watch reads only these members of its context.
  const watch = new MembershipWatch(ctx as unknown as ConstructorParameters<typeof MembershipWatch>[0])
  return {
    watch,
    apply: (c) => {
      config = c
      watch.afterAdvance()
    },
  }
}

t.test('a node started empty with JOIN is joining until a configuration lists it', async (t) => {
  const { watch, apply } = watchOn({ clusterId: '', join: true })
  t.ok(watch.joining, 'at start')
  apply({ members: [n1] })
  t.ok(watch.joining, "after the leader's snapshot, which predates its addition")
  apply({ members: [n1, { ...n2, role: 'learner' }] })
  t.notOk(watch.joining, 'once its log holds its addition')
  apply({ members: [n1] })
  t.notOk(watch.joining, 'a later removal is a removal')
})

t.test('a node restarted with its data, or started without JOIN, is never joining', async (t) => {
  t.notOk(watchOn({ clusterId: 'c1', join: true }).watch.joining, 'restarted: it has a cluster id')
  t.notOk(watchOn({ clusterId: '', join: false }).watch.joining, 'a founding member')
})

t.test('a joiner restarted before a configuration listed it is still joining; once listed, a restart is not', async (t) => {
  const meta = new Map<string, string>()
  const first = watchOn({ clusterId: '', join: true, meta })
  first.apply({ members: [n1] })
  await first.watch.recordJoinPending()
  const restarted = watchOn({ clusterId: 'c1', join: true, meta })
  t.ok(restarted.watch.joining, 'restarted with a cluster id, its addition not yet in its log')
  restarted.apply({ members: [n1, { ...n2, role: 'learner' }] })
  t.notOk(restarted.watch.joining, 'once its log holds its addition')
  restarted.apply({ members: [n1] })
  t.notOk(watchOn({ clusterId: 'c1', join: true, meta }).watch.joining, 'restarted after it was listed: removed, not joining')
})

t.test('a join accepted after the node already saw itself listed records nothing', async (t) => {
  const meta = new Map<string, string>()
  const { watch, apply } = watchOn({ clusterId: '', join: true, meta })
  apply({ members: [n1, { ...n2, role: 'learner' }] })
  await watch.recordJoinPending()
  t.notOk(watchOn({ clusterId: 'c1', join: true, meta }).watch.joining)
})
