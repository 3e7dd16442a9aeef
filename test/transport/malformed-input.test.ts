// Hostile or broken bytes on a peer connection: each case closes that one
// connection with one warning, and the node goes on serving its peers.
import t from 'tap'
import { encodeFrame } from '../../lib/transport/frame-codec.js'
import { handshakeCodec } from '../../lib/transport/handshake.js'
import { encodeWireFrame } from '../../lib/transport/wire-codec.js'
import { Prng } from '../../lib/util/prng.js'
import { type Node, type Teardown, heartbeat, rawAuthenticated, rawConnect, startNode, waitFor } from './fixtures/harness.js'

async function stillServes(t: Teardown, b: Node): Promise<void> {
  const a = await startNode(t, 'a')
  a.transport.setPeers(new Map([['b', b.addr]]))
  const before = b.received.length
  a.transport.send('b', heartbeat('a', 'b'))
  await waitFor(() => b.received.length === before + 1, 'an honest peer to get through')
}

t.test('random bytes before the handshake close the connection with one warning', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawConnect(t, b.addr)
  raw.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  await waitFor(() => raw.closed, 'the connection to close')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { kind: 'frame' })
  await stillServes(t, b)
})

t.test('a frame length over frameBytesMax closes the connection before allocating', async (t) => {
  const b = await startNode(t, 'b', { frameBytesMax: 1024 * 1024 })
  const raw = await rawAuthenticated(t, b.addr, { selfId: 'a' })
  const header = Buffer.alloc(4)
  header.writeUInt32BE(0xfffffff0)
  raw.socket.write(header)
  await waitFor(() => raw.closed, 'the connection to close')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { kind: 'frame', peer: 'a', detail: /exceeds frameBytesMax/ })
  await stillServes(t, b)
})

t.test('a frame over the handshake limit before authentication is refused', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawConnect(t, b.addr)
  raw.socket.write(encodeFrame(Buffer.alloc(64 * 1024)))
  await waitFor(() => raw.closed, 'the connection to close')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { kind: 'frame' })
})

t.test('a connection that ends inside a frame is logged once', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawAuthenticated(t, b.addr, { selfId: 'a' })
  const frame = encodeWireFrame(heartbeat('a', 'b'))
  raw.socket.end(frame.subarray(0, frame.length - 3))
  await waitFor(() => b.log.warns().length === 1, 'a warning')
  t.match(b.log.warns()[0], { kind: 'frame', detail: /ended inside a frame/ })
  t.equal(b.received.length, 0)
  await stillServes(t, b)
})

t.test('a valid message frame in place of the Hello is refused', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawConnect(t, b.addr)
  raw.socket.write(encodeWireFrame({ type: 'JoinRequest', requestId: 'r', id: 'x', addr: 'h:1', incarnation: '' }))
  await waitFor(() => raw.closed, 'the connection to close')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { reason: 'protocol' })
})

t.test('a handshake frame after the handshake closes the connection', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawAuthenticated(t, b.addr, { selfId: 'a' })
  raw.socket.write(handshakeCodec.encodeFrame({ type: 'Refuse', protocolVersion: 1, reason: 'x', detail: 'y' }))
  await waitFor(() => raw.closed, 'the connection to close')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { kind: 'decode', peer: 'a' })
  t.equal(b.received.length, 0)
})

t.test('undecodable Avro after the handshake closes the connection', async (t) => {
  const b = await startNode(t, 'b')
  const raw = await rawAuthenticated(t, b.addr, { selfId: 'a' })
  // Union index of Append (4 -> byte 8), then a string length far past the frame.
  raw.socket.write(encodeFrame(Buffer.from([8, 0xfe, 0xff, 0xff, 0x7f, 1, 2])))
  await waitFor(() => raw.closed, 'the connection to close')
  t.equal(b.log.warns().length, 1)
  t.match(b.log.warns()[0], { kind: 'decode', detail: /claimed type Append/ })
  await stillServes(t, b)
})

t.test('seeded garbage on 60 authenticated connections never takes the node down', async (t) => {
  const b = await startNode(t, 'b', { frameBytesMax: 64 * 1024 })
  const prng = new Prng(2024)
  for (let i = 0; i < 60; i++) {
    const raw = await rawAuthenticated(t, b.addr, { selfId: `g${i}` })
    const garbage = Buffer.alloc(1 + prng.int(300))
    for (let j = 0; j < garbage.length; j++) garbage[j] = prng.int(256)
    // Half the cases: a plausible length prefix, so the garbage reaches the Avro decoder.
    const bytes = prng.chance(0.5) ? encodeFrame(garbage) : garbage
    raw.socket.end(bytes)
    await waitFor(() => raw.closed, `connection ${i} to close`)
  }
  t.equal(b.received.length, 0, 'garbage never reached the handler as a message')
  await stillServes(t, b)
})
