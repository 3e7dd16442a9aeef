import t from 'tap'
import { PeerTransport, TransportError } from '../../lib/transport/peer-transport.js'
import type { WireMessage } from '../../lib/transport/wire-message.js'
import { CLUSTER, SECRET, captureLog, heartbeat, startNode, waitFor } from './fixtures/harness.js'

t.test('two transports exchange messages both ways with the authenticated sender id', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b.addr]]))
  b.transport.setPeers(new Map([['a', a.addr]]))
  t.equal(a.transport.send('b', heartbeat('a', 'b')), true)
  t.equal(b.transport.send('a', heartbeat('b', 'a')), true)
  await waitFor(() => a.received.length === 1 && b.received.length === 1, 'both messages')
  t.same(b.received[0], { msg: heartbeat('a', 'b'), from: 'a' })
  t.same(a.received[0], { msg: heartbeat('b', 'a'), from: 'b' })
  t.same(a.transport.peerState(), new Map([['b', 'connected']]))
})

t.test('many frames sent in one turn arrive complete and in order', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b.addr]]))
  for (let i = 0; i < 5000; i++) a.transport.send('b', heartbeat('a', 'b', i))
  await waitFor(() => b.received.length === 5000, '5000 messages')
  t.ok(b.received.every((r, i) => r.msg.type === 'Heartbeat' && r.msg.readSeq === i))
})

t.test('reply() answers on the connection the message came in on', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  b.transport.onMessage((msg, _from, reply) => {
    if (msg.type === 'ForwardRequest') reply({ type: 'ForwardResponse', requestId: msg.requestId, ok: true, result: Buffer.from('done'), errorCode: '', error: '' })
  })
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', { type: 'ForwardRequest', requestId: 'r1', data: Buffer.from('SET k v') })
  await waitFor(() => a.received.length === 1, 'the forward response')
  t.same(a.received[0]?.from, 'b')
  t.same(a.received[0]?.msg.type, 'ForwardResponse')
})

t.test('a peer that restarts on the same address is reached again', async (t) => {
  const a = await startNode(t, 'a', { backoffMsMax: 100 })
  const b1 = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b1.addr]]))
  a.transport.send('b', heartbeat('a', 'b', 1))
  await waitFor(() => b1.received.length === 1, 'first delivery')
  await b1.transport.close()
  await waitFor(() => a.transport.peerState().get('b') !== 'connected', 'a notices b is gone')
  const b2 = await startNode(t, 'b', { listenAddr: b1.addr })
  // Raft retransmits: keep sending until the restarted node hears one.
  await waitFor(() => {
    a.transport.send('b', heartbeat('a', 'b', 2))
    return b2.received.length > 0
  }, 'delivery after restart')
  t.equal(b2.received[0]?.from, 'a')
  await waitFor(() => a.transport.peerState().get('b') === 'connected', 'link up again')
})

t.test('send() to a dead peer returns at once, never throws, and bounds what it queues', async (t) => {
  const dead = await startNode(t, 'dead')
  const addr = dead.addr
  await dead.transport.close()
  const a = await startNode(t, 'a', { sendQueueBytesMax: 64 * 1024, backoffMsMin: 10, backoffMsMax: 40 })
  a.transport.setPeers(new Map([['dead', addr]]))
  const started = process.hrtime.bigint()
  let accepted = 0
  for (let i = 0; i < 10_000; i++) if (a.transport.send('dead', heartbeat('a', 'dead', i))) accepted++
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6
  // Generous: a send that waited for the dial (backoff 10-40 ms) would take minutes for 10000.
  t.ok(elapsedMs < 10_000, `10000 sends took ${elapsedMs.toFixed(1)} ms`)
  t.ok(accepted > 0 && accepted < 10_000, `queued ${accepted} until the queue bound`)
  t.ok(a.transport.counters.framesDropped > 0)
  await waitFor(() => a.log.lines.some((l) => l.msg === 'peer connection attempt failed'), 'a dial failure')
  t.equal(a.transport.peerState().get('dead') === 'connected', false)
})

t.test('send() to a peer that is not configured returns false', async (t) => {
  const a = await startNode(t, 'a')
  t.equal(a.transport.send('nobody', heartbeat('a', 'nobody')), false)
})

t.test('setPeers() drops a peer that is no longer listed', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  await waitFor(() => b.received.length === 1, 'delivery')
  a.transport.setPeers(new Map())
  t.same(a.transport.peerState(), new Map())
  t.equal(a.transport.send('b', heartbeat('a', 'b')), false)
})

t.test('request() carries a JoinRequest from a node without a cluster id and returns the reply', async (t) => {
  const leader = await startNode(t, 'a')
  leader.transport.onMessage((msg, from, reply) => {
    if (msg.type === 'JoinRequest') {
      reply({ type: 'JoinResponse', requestId: msg.requestId, ok: from === msg.id, error: '', clusterId: CLUSTER, leaderHint: 'a' })
    }
  })
  const joiner = await startNode(t, 'new', { clusterId: '' })
  const answer = await joiner.transport.request(leader.addr, { type: 'JoinRequest', requestId: 'j1', id: 'new', addr: joiner.addr, incarnation: '' }, 2000)
  t.same(answer, { type: 'JoinResponse', requestId: 'j1', ok: true, error: '', clusterId: CLUSTER, leaderHint: 'a' })
})

t.test('a connection without a cluster id may not carry raft messages', async (t) => {
  const a = await startNode(t, 'a')
  const joiner = await startNode(t, 'new', { clusterId: '' })
  const rejected = joiner.transport.request(a.addr, heartbeat('new', 'a'), 2000)
  await t.rejects(rejected, { code: 'ERR_TRANSPORT_CLOSED' })
  t.equal(a.received.length, 0)
  await waitFor(() => a.log.warns().length === 1, 'one warning')
  t.match(a.log.warns()[0], { kind: 'policy', peer: 'new' })
})

t.test('request() to an address where nobody listens rejects', async (t) => {
  const gone = await startNode(t, 'gone')
  const addr = gone.addr
  await gone.transport.close()
  const a = await startNode(t, 'a')
  const error = await a.transport.request(addr, heartbeat('a', 'gone'), 2000).catch((e: unknown) => e)
  t.ok(error instanceof TransportError)
  t.equal((error as TransportError).code, 'ERR_TRANSPORT_CLOSED')
})

t.test('request() times out when no answer comes', async (t) => {
  const silent = await startNode(t, 'silent')
  const a = await startNode(t, 'a')
  await t.rejects(a.transport.request(silent.addr, { type: 'AdminRequest', requestId: 'x', op: 'status', args: [] }, 200), {
    code: 'ERR_TRANSPORT_TIMEOUT',
  })
})

t.test('a raft message whose from differs from the authenticated peer is dropped and logged', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', heartbeat('mallory', 'b'))
  a.transport.send('b', heartbeat('a', 'b', 2))
  await waitFor(() => b.received.length === 1, 'the honest message')
  t.equal(b.received[0]?.msg.type === 'Heartbeat' && b.received[0].msg.readSeq, 2)
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { from: 'mallory', peer: 'a' })
  t.equal(b.transport.counters.messagesMisaddressed, 1)
})

t.test('the link filter drops chosen messages one way only', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b.addr]]))
  b.transport.setPeers(new Map([['a', a.addr]]))
  a.transport.setLinkFilter((to) => (to === 'b' ? 'drop' : 'deliver'))
  t.equal(a.transport.send('b', heartbeat('a', 'b', 1)), true, 'a dropped message looks sent, as on a real network')
  b.transport.send('a', heartbeat('b', 'a', 1))
  await waitFor(() => a.received.length === 1, 'b to a still works')
  a.transport.setLinkFilter(null)
  a.transport.send('b', heartbeat('a', 'b', 2))
  await waitFor(() => b.received.length === 1, 'a to b after healing')
  t.equal(b.received[0]?.msg.type === 'Heartbeat' && b.received[0].msg.readSeq, 2)
  t.equal(a.transport.counters.framesFiltered, 1)
})

t.test('start() rejects when the port is taken', async (t) => {
  const a = await startNode(t, 'a')
  const b = new PeerTransport({ selfId: 'b', clusterId: CLUSTER, secret: SECRET, listenAddr: a.addr, logger: captureLog().logger })
  await t.rejects(b.start(), { code: 'EADDRINUSE' })
  await b.close()
})

t.test('close() ends links, inbound connections and pending requests', async (t) => {
  const a = await startNode(t, 'a')
  const b = await startNode(t, 'b')
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  await waitFor(() => b.received.length === 1, 'delivery')
  const pending = b.transport.request(a.addr, { type: 'AdminRequest', requestId: 'x', op: 'status', args: [] }, 5000)
  await b.transport.close()
  await t.rejects(pending, { code: 'ERR_TRANSPORT_CLOSED' })
  const received: WireMessage[] = []
  b.transport.onMessage((m) => received.push(m))
  t.equal(a.transport.send('b', heartbeat('a', 'b')), true, 'a keeps queueing toward the closed peer')
  t.equal(received.length, 0)
})
