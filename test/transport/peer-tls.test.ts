// Mutual TLS under the peer protocol: only a peer with a certificate from the
// cluster's CA gets as far as the CLUSTER_SECRET handshake, and that
// handshake still has to succeed inside TLS. Every refusal is one warning.
import { randomBytes } from 'node:crypto'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import t, { type Test } from 'tap'
import { FrameDecoder } from '../../lib/transport/frame-codec.js'
import { DialerHandshake, NONCE_BYTES, handshakeCodec } from '../../lib/transport/handshake.js'
import type { PeerTlsOptions } from '../../lib/transport/peer-tls.js'
import { makePki, type TestPki } from '../security/tls-certs.js'
import { CLUSTER, SECRET, heartbeat, rawConnect, startNode, waitFor } from './fixtures/harness.js'

function tlsFor(pki: TestPki, name: string): PeerTlsOptions {
  const files = pki.issue(name)
  return { cert: files.cert, key: files.key, ca: pki.ca }
}

const fast = { backoffMsMin: 5, backoffMsMax: 20 }

interface RawTls {
  socket: TLSSocket
  received: Buffer[]
  closed: boolean
}

function rawTls(t: Test, addr: string, options: { cert?: Buffer; key?: Buffer; ca: Buffer }): RawTls {
  const [host, port] = addr.split(':') as [string, string]
  const socket = tlsConnect({ host, port: Number(port), ...options, checkServerIdentity: () => undefined })
  const raw: RawTls = { socket, received: [], closed: false }
  socket.on('data', (chunk: Buffer) => raw.received.push(chunk))
  socket.on('error', () => {})
  socket.on('close', () => (raw.closed = true))
  t.teardown(() => socket.destroy())
  return raw
}

t.test('two nodes with certificates from the cluster CA exchange messages over TLS', async (t) => {
  const pki = makePki(t)
  const a = await startNode(t, 'a', { tls: tlsFor(pki, 'a') })
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b') })
  a.transport.setPeers(new Map([['b', b.addr]]))
  b.transport.setPeers(new Map([['a', a.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  b.transport.send('a', heartbeat('b', 'a'))
  await waitFor(() => a.received.length === 1 && b.received.length === 1, 'a message each way')
  t.same(b.received[0], { msg: heartbeat('a', 'b'), from: 'a' })
  t.equal(a.log.warns().length + b.log.warns().length, 0)
})

t.test('a TLS peer without a certificate is refused with one warning', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b') })
  for (let i = 0; i < 3; i++) {
    const raw = rawTls(t, b.addr, { ca: pki.ca })
    await waitFor(() => raw.closed, 'the node to drop the certificate-less peer')
  }
  t.equal(b.transport.counters.connectionsRefused, 3)
  t.equal(b.log.warns().length, 1, 'one line however often it tries')
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'tls', detail: /CERTIFICATE/i })
})

t.test('a peer with a certificate from another CA is refused with one warning on each side', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b') })
  // The stranger trusts our CA (so it would talk to us) but its own certificate is not ours.
  const stranger = await startNode(t, 's', { ...fast, tls: { cert: pki.foreign.cert, key: pki.foreign.key, ca: pki.ca } })
  stranger.transport.setPeers(new Map([['b', b.addr]]))
  await waitFor(() => {
    stranger.transport.send('b', heartbeat('s', 'b'))
    return b.transport.counters.connectionsRefused >= 3
  }, 'three refused attempts')
  t.equal(b.received.length, 0)
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'tls' })
  t.equal(stranger.log.warns().length, 1)
  t.match(stranger.log.warns()[0], { msg: 'peer refused our connection', reason: 'tls', peer: 'b' })
})

t.test('a node refuses a listener whose certificate comes from another CA', async (t) => {
  const pki = makePki(t)
  const impostor = await startNode(t, 'b', { tls: { cert: pki.foreign.cert, key: pki.foreign.key, ca: pki.ca } })
  const a = await startNode(t, 'a', { ...fast, tls: tlsFor(pki, 'a') })
  a.transport.setPeers(new Map([['b', impostor.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  await waitFor(() => a.transport.counters.connectionsRefused >= 2, 'refused dials')
  t.equal(impostor.received.length, 0, 'nothing reached the impostor')
  t.equal(a.log.warns().length, 1)
  t.match(a.log.warns()[0], { msg: 'refused connection to peer', reason: 'tls', peer: 'b' })
})

t.test('a plaintext peer at a TLS listener is refused with one warning', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b') })
  const plain = await startNode(t, 'a', fast)
  plain.transport.setPeers(new Map([['b', b.addr]]))
  await waitFor(() => {
    plain.transport.send('b', heartbeat('a', 'b'))
    return b.transport.counters.connectionsRefused >= 2
  }, 'refused attempts')
  t.equal(b.received.length, 0)
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'tls' })
})

t.test('a peer with a good certificate but the wrong secret is refused inside TLS with one warning', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b') })
  const rogue = await startNode(t, 'rogue', { ...fast, secret: 'not-the-secret', tls: tlsFor(pki, 'rogue') })
  rogue.transport.setPeers(new Map([['b', b.addr]]))
  await waitFor(() => {
    rogue.transport.send('b', heartbeat('rogue', 'b'))
    return b.transport.counters.connectionsRefused >= 3
  }, 'three refused attempts')
  t.equal(b.received.length, 0)
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'secret', peer: 'rogue' })
})

t.test('a handshake replayed inside TLS with a good certificate is refused with one warning', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b') })
  const own = pki.issue('a')
  // Record a genuine handshake.
  const first = rawTls(t, b.addr, { cert: own.cert, key: own.key, ca: pki.ca })
  const dialer = new DialerHandshake({ selfId: 'a', clusterId: CLUSTER, secret: SECRET, expectedPeerId: '', nonce: randomBytes(NONCE_BYTES) })
  const hello = dialer.hello()
  const recorded: Buffer[] = [hello]
  first.socket.write(hello)
  const decoder = new FrameDecoder(4096)
  await new Promise<void>((resolve) => {
    first.socket.on('data', (chunk: Buffer) => {
      const frames = decoder.push(chunk)
      if (!Array.isArray(frames)) return
      for (const frame of frames) {
        const step = dialer.receive(frame)
        if (step.kind === 'send') {
          recorded.push(step.frame)
          first.socket.write(step.frame)
        } else if (step.kind === 'done') resolve()
      }
    })
  })
  t.equal(b.log.warns().length, 0, 'the original handshake succeeded')
  const replay = rawTls(t, b.addr, { cert: own.cert, key: own.key, ca: pki.ca })
  for (const frame of recorded) replay.socket.write(frame)
  await waitFor(() => replay.closed, 'the replay to be cut off')
  const answers = new FrameDecoder(4096).push(Buffer.concat(replay.received))
  t.same(Array.isArray(answers) ? answers.map((f) => handshakeCodec.decode(f).type) : answers, ['Challenge', 'Refuse'])
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { reason: 'secret', peer: 'a' })
})

t.test('a TLS node dialing a plaintext listener is cut off there, and nothing is delivered', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b')
  const raw = await rawConnect(t, b.addr)
  const a = await startNode(t, 'a', { ...fast, tls: tlsFor(pki, 'a') })
  a.transport.setPeers(new Map([['b', b.addr]]))
  a.transport.send('b', heartbeat('a', 'b'))
  await waitFor(() => b.transport.counters.connectionsRefused + b.log.warns().length >= 1, 'the plaintext node to refuse')
  t.equal(b.received.length, 0)
  raw.socket.destroy()
})

t.test('a connection that never starts TLS is dropped after the handshake timeout with one warning', async (t) => {
  const pki = makePki(t)
  const b = await startNode(t, 'b', { tls: tlsFor(pki, 'b'), handshakeTimeoutMs: 150 })
  const raw = await rawConnect(t, b.addr)
  await waitFor(() => raw.closed, 'the silent connection to be dropped')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { msg: 'refused peer connection', reason: 'tls', detail: /TIMEOUT/ })
})
