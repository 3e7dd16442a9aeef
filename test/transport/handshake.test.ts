import { randomBytes } from 'node:crypto'
import t from 'tap'
import { FRAME_HEADER_BYTES, FrameDecoder } from '../../lib/transport/frame-codec.js'
import {
  DialerHandshake,
  type HandshakeFrame,
  ListenerHandshake,
  NONCE_BYTES,
  PROTOCOL_VERSION,
  handshakeCodec,
} from '../../lib/transport/handshake.js'
import { SECRET, heartbeat, rawAuthenticated, rawConnect, startNode, waitFor } from './fixtures/harness.js'

function framesOf(chunks: Buffer[]): HandshakeFrame[] {
  const frames = new FrameDecoder(4096).push(Buffer.concat(chunks))
  return Array.isArray(frames) ? frames.map((f) => handshakeCodec.decode(f)) : []
}

t.test('a peer with the wrong secret is refused with one warning, and the node keeps serving', async (t) => {
  const b = await startNode(t, 'b', { backoffMsMin: 5, backoffMsMax: 20 })
  const rogue = await startNode(t, 'rogue', { secret: 'not-the-secret', backoffMsMin: 5, backoffMsMax: 20 })
  rogue.transport.setPeers(new Map([['b', b.addr]]))
  await waitFor(() => {
    rogue.transport.send('b', heartbeat('rogue', 'b'))
    return b.transport.counters.connectionsRefused >= 3
  }, 'three refused attempts')
  t.equal(b.received.length, 0, 'nothing from the rogue reached the handler')
  t.equal(b.log.warns().length, 1, 'one line however often it redials')
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'secret', peer: 'rogue' })
  t.equal(rogue.log.warns().length, 1)
  t.match(rogue.log.warns()[0], { msg: 'peer refused our connection', reason: 'secret' })
  const a = await startNode(t, 'a')
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  await waitFor(() => b.received.length === 1, 'an honest peer still gets through')
})

t.test('a peer from another cluster is refused with one warning', async (t) => {
  const b = await startNode(t, 'b')
  const other = await startNode(t, 'x', { clusterId: 'cluster-b' })
  other.transport.setPeers(new Map([['b', b.addr]]))
  other.transport.send('b', heartbeat('x', 'b'))
  await waitFor(() => b.transport.counters.connectionsRefused >= 1, 'a refusal')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'cluster', peer: 'x' })
  t.equal(b.received.length, 0)
})

t.test('a Hello with an unknown protocol version is refused with a Refuse frame and one warning', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawConnect(t, b.addr)
  raw.socket.write(
    handshakeCodec.encodeFrame({ type: 'Hello', protocolVersion: PROTOCOL_VERSION + 1, clusterId: 'cluster-a', fromId: 'future', toId: '', nonce: randomBytes(NONCE_BYTES) }),
  )
  await waitFor(() => raw.closed, 'the node to close the connection')
  t.match(framesOf(raw.received)[0], { type: 'Refuse', reason: 'version', protocolVersion: PROTOCOL_VERSION })
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { reason: 'version' })
})

t.test('a replayed handshake is refused because the listener nonce differs', async (t) => {
  const b = await startNode(t, 'b')
  const recorded = await rawAuthenticated(t, b.addr, { selfId: 'a' })
  t.equal(b.log.warns().length, 0, 'the original handshake succeeded')
  const replay = await rawConnect(t, b.addr)
  for (const frame of recorded.handshakeBytes) replay.socket.write(frame)
  await waitFor(() => replay.closed, 'the replay to be cut off')
  t.same(framesOf(replay.received).map((f) => f.type), ['Challenge', 'Refuse'], 'a fresh challenge, then the refusal')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { reason: 'secret', peer: 'a' })
})

t.test('a connection that never completes the handshake is closed after the timeout', async (t) => {
  const b = await startNode(t, 'b', { handshakeTimeoutMs: 150 })
  const raw = await rawConnect(t, b.addr)
  await waitFor(() => raw.closed, 'the timeout')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { kind: 'timeout' })
})

t.test('dialing an address that turns out to be another node is refused', async (t) => {
  const b = await startNode(t, 'b')
  const a = await startNode(t, 'a')
  a.transport.setPeers(new Map([['c', b.addr]]))
  a.transport.send('c', heartbeat('a', 'c'))
  await waitFor(() => b.transport.counters.connectionsRefused >= 1, 'a refusal')
  t.match(b.log.warns()[0], { reason: 'node' })
  t.equal(b.received.length, 0)
})

// ---- the state machines alone ------------------------------------------------

function pair(dialerSecret: string, listenerSecret: string): { dialer: DialerHandshake; listener: ListenerHandshake } {
  return {
    dialer: new DialerHandshake({ selfId: 'a', clusterId: 'c', secret: dialerSecret, expectedPeerId: 'b', nonce: randomBytes(NONCE_BYTES) }),
    listener: new ListenerHandshake({ selfId: 'b', clusterId: 'c', secret: listenerSecret, nonce: randomBytes(NONCE_BYTES) }),
  }
}

const payload = (frame: Buffer): Buffer => frame.subarray(FRAME_HEADER_BYTES)

t.test('matching secrets complete the handshake on both sides', async (t) => {
  const { dialer, listener } = pair(SECRET, SECRET)
  const challenge = listener.receive(payload(dialer.hello()))
  t.equal(challenge.kind, 'send')
  const proof = dialer.receive(payload((challenge as { frame: Buffer }).frame))
  const accept = listener.receive(payload((proof as { frame: Buffer }).frame))
  t.match(accept, { kind: 'done', peer: { id: 'a', clusterId: 'c', clusterIdKnown: true } })
  const done = dialer.receive(payload((accept as { frame: Buffer }).frame))
  t.match(done, { kind: 'done', peer: { id: 'b', clusterId: 'c' } })
})

t.test('a dialer refuses a listener whose answer does not prove the secret', async (t) => {
  const { dialer, listener } = pair(SECRET, SECRET)
  const challenge = listener.receive(payload(dialer.hello())) as { frame: Buffer }
  const proof = dialer.receive(payload(challenge.frame)) as { frame: Buffer }
  const accept = Buffer.from((listener.receive(payload(proof.frame)) as { frame: Buffer }).frame)
  accept[accept.length - 1] = (accept[accept.length - 1] as number) ^ 1 // flip a bit of the MAC
  t.match(dialer.receive(payload(accept)), { kind: 'refused', reason: 'secret', byPeer: false })
})

t.test('the secret never appears in handshake bytes', async (t) => {
  const secret = 'a-very-recognisable-secret'
  const { dialer, listener } = pair(secret, secret)
  const frames = [dialer.hello()]
  const challenge = listener.receive(payload(frames[0] as Buffer)) as { frame: Buffer }
  const proof = dialer.receive(payload(challenge.frame)) as { frame: Buffer }
  const accept = listener.receive(payload(proof.frame)) as { frame: Buffer }
  frames.push(challenge.frame, proof.frame, accept.frame)
  t.notOk(Buffer.concat(frames).includes(secret))
})
