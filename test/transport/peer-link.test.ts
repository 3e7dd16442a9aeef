import { randomBytes } from 'node:crypto'
import { type Server, type Socket, createServer } from 'node:net'
import t from 'tap'
import { formatHostPort } from '../../lib/transport/address.js'
import { FrameDecoder } from '../../lib/transport/frame-codec.js'
import { ListenerHandshake, NONCE_BYTES } from '../../lib/transport/handshake.js'
import { backoffMs } from '../../lib/transport/peer-link.js'
import { Prng } from '../../lib/util/prng.js'
import { CLUSTER, SECRET, heartbeat, startNode, waitFor } from './fixtures/harness.js'

t.test('backoff doubles from the minimum, is capped, and keeps half of each step fixed', async (t) => {
  const prng = new Prng(5)
  for (let attempt = 1; attempt <= 40; attempt++) {
    const ceiling = Math.min(1000, 50 * 2 ** (attempt - 1))
    const delay = backoffMs(attempt, 50, 1000, () => prng.next())
    if (delay < ceiling / 2 || delay > ceiling) {
      t.fail(`attempt ${attempt}: ${delay} outside [${ceiling / 2}, ${ceiling}]`)
      return
    }
  }
  t.equal(backoffMs(1, 50, 1000, () => 0), 25)
  t.equal(backoffMs(99, 50, 1000, () => 1), 1000)
})

/** A peer that completes the handshake as `id`, then never reads again. */
async function deafPeer(t: { teardown(fn: () => unknown): void }, id: string): Promise<string> {
  const sockets: Socket[] = []
  const server: Server = createServer((socket) => {
    sockets.push(socket)
    const handshake = new ListenerHandshake({ selfId: id, clusterId: CLUSTER, secret: SECRET, nonce: randomBytes(NONCE_BYTES) })
    const decoder = new FrameDecoder(4096)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      const frames = decoder.push(chunk)
      if (!Array.isArray(frames)) return
      for (const frame of frames) {
        const step = handshake.receive(frame)
        if (step.frame !== null) socket.write(step.frame)
        if (step.kind === 'done') socket.pause()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return formatHostPort(addr.address, addr.port)
}

t.test('a peer that stops reading fills only a bounded queue, then its connection is dropped', async (t) => {
  const addr = await deafPeer(t, 'deaf')
  const a = await startNode(t, 'a', { sendQueueBytesMax: 1024 * 1024, writeStallTimeoutMs: 300 })
  a.transport.setPeers(new Map([['deaf', addr]]))
  const big = { type: 'ForwardRequest' as const, requestId: 'r', data: Buffer.alloc(64 * 1024) }
  a.transport.send('deaf', big)
  await waitFor(() => a.transport.peerState().get('deaf') === 'connected', 'the handshake')
  let refused = false
  for (let round = 0; round < 2000 && !refused; round++) {
    refused = !a.transport.send('deaf', big)
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(refused, 'send() returned false once the queue was full')
  t.equal(a.transport.send('deaf', big), false, 'and keeps dropping')
  await waitFor(() => a.log.warns().some((l) => l.kind === 'stall'), 'the stall to be detected')
  t.equal(a.transport.peerState().get('deaf') === 'connected', false)
})

t.test('a node that has not joined yet accepts peers of any cluster that prove the secret', async (t) => {
  const joiner = await startNode(t, 'new', { clusterId: '' })
  const leader = await startNode(t, 'a')
  leader.transport.setPeers(new Map([['new', joiner.addr]]))
  leader.transport.send('new', heartbeat('a', 'new'))
  await waitFor(() => joiner.received.length === 1, 'the leader to reach the joiner')
  t.equal(joiner.received[0]?.from, 'a')
})
