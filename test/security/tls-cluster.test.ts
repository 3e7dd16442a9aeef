// Real processes with PEER_TLS_*: a three-node cluster forms and replicates
// over mutual TLS, and a node whose certificate comes from another CA cannot
// join even though it knows CLUSTER_SECRET.
import t from 'tap'
import { ProcessCluster } from '../cluster/process-cluster.js'
import { makePki } from './tls-certs.js'

t.test('a cluster over peer TLS replicates, and a node with a foreign certificate cannot join', async (t) => {
  const pki = makePki(t)
  const cluster = new ProcessCluster({ PEER_TLS_CA: pki.caPath })
  t.teardown(() => cluster.stop())
  for (let i = 1; i <= 3; i++) {
    const own = pki.issue(`n${i}`)
    const node = await cluster.addNode(`n${i}`)
    node.start({ PEER_TLS_CERT: own.certPath, PEER_TLS_KEY: own.keyPath })
    if (i === 1) await cluster.waitFor(async () => (await node.status())?.role === 'leader', 'n1 to lead')
  }
  await cluster.waitForVoters(3)
  const leader = await cluster.waitForLeader()
  const writer = leader.redis()
  t.teardown(() => writer.disconnect())
  t.equal(await writer.set('over-tls', 'yes'), 'OK')
  for (const node of cluster.nodes) {
    const reader = node.redis()
    t.equal(await reader.get('over-tls'), 'yes', `read on ${node.spec.id}`)
    reader.disconnect()
  }

  const stranger = await cluster.addNode('n4')
  stranger.start({ PEER_TLS_CERT: pki.foreign.certPath, PEER_TLS_KEY: pki.foreign.keyPath })
  await cluster.waitFor(async () => cluster.nodes.slice(0, 3).some((n) => /refused peer connection.*"reason":"tls"|"reason":"tls".*refused peer connection/.test(n.output)), 'a TLS refusal in a member log')
  const status = await leader.status()
  t.notOk(status?.members.some((m) => m.id === 'n4'), 'n4 is not a member')
})
