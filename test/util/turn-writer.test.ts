// TurnWriter: what one run of code writes to a socket leaves in one write, once that code is done.
import type { Socket } from 'node:net'
import t from 'tap'
import { TurnWriter } from '../../lib/util/turn-writer.js'

/** The parts of a Socket TurnWriter uses, recording each call. */
class RecordingSocket {
  writes: Buffer[] = []
  corks = 0
  destroyed = false
  writableEnded = false
  writableLength = 0
  accept = true
  write(chunk: Buffer): boolean {
    this.writes.push(chunk)
    return this.accept
  }
  cork(): void {
    this.corks++
  }
  uncork(): void {}
  asSocket(): Socket {
    return this as unknown as Socket
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('the chunks written in one turn reach the socket as one write, in order', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  writer.write(Buffer.from('+OK\r\n'))
  writer.write(Buffer.from(':1\r\n'))
  writer.write(Buffer.from('$-1\r\n'))
  t.equal(socket.writes.length, 0, 'nothing is written before the turn ends')
  await nextTurn()
  t.same(socket.writes.map((b) => b.toString()), ['+OK\r\n:1\r\n$-1\r\n'])
})

t.test('a single chunk is handed over as it is, without a copy', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  const chunk = Buffer.from('+PONG\r\n')
  writer.write(chunk)
  await nextTurn()
  t.equal(socket.writes[0], chunk)
})

t.test('a large turn is written chunk by chunk under cork (writev), not copied', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  const big = Buffer.alloc(48 * 1024)
  writer.write(big)
  writer.write(big)
  await nextTurn()
  t.equal(socket.corks, 1)
  t.equal(socket.writes.length, 2)
  t.equal(socket.writes[0], big)
})

t.test('each turn gets its own write', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  writer.write(Buffer.from('a'))
  await nextTurn()
  writer.write(Buffer.from('b'))
  await nextTurn()
  t.same(socket.writes.map((b) => b.toString()), ['a', 'b'])
})

t.test('queuedBytes counts the bytes held for the turn and those the socket still holds', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  socket.writableLength = 100
  writer.write(Buffer.alloc(7))
  t.equal(writer.queuedBytes, 107)
  await nextTurn()
  t.equal(writer.queuedBytes, 100)
})

t.test('flushed reports whether the socket accepted the bytes (false: wait for drain)', async (t) => {
  const socket = new RecordingSocket()
  const answers: boolean[] = []
  const writer = new TurnWriter(socket.asSocket(), (accepted) => answers.push(accepted))
  writer.write(Buffer.from('x'))
  await nextTurn()
  socket.accept = false
  writer.write(Buffer.from('y'))
  await nextTurn()
  t.same(answers, [true, false])
})

t.test('nothing is written to a socket destroyed or ended before the turn ended', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  writer.write(Buffer.from('late'))
  socket.destroyed = true
  await nextTurn()
  t.equal(socket.writes.length, 0)
  t.equal(writer.queuedBytes, 0, 'and the held bytes are let go')
})

t.test('flush() writes at once (before the socket is ended)', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  writer.write(Buffer.from('bye'))
  writer.flush()
  t.same(socket.writes.map((b) => b.toString()), ['bye'])
  await nextTurn()
  t.equal(socket.writes.length, 1, 'the scheduled flush finds nothing left')
})

t.test('writers written in the same turn each send their own bytes once', async (t) => {
  const sockets = [new RecordingSocket(), new RecordingSocket(), new RecordingSocket()]
  const writers = sockets.map((s) => new TurnWriter(s.asSocket()))
  writers.forEach((w, i) => w.write(Buffer.from(`a${i}`)))
  writers.forEach((w, i) => w.write(Buffer.from(`b${i}`)))
  await nextTurn()
  t.same(sockets.map((s) => s.writes.map((b) => b.toString())), [['a0b0'], ['a1b1'], ['a2b2']])
})

t.test('a writer flushed early and written again in the same turn sends the later bytes at the turn end, once', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  writer.write(Buffer.from('a'))
  writer.flush()
  writer.write(Buffer.from('b'))
  t.same(socket.writes.map((b) => b.toString()), ['a'])
  await nextTurn()
  t.same(socket.writes.map((b) => b.toString()), ['a', 'b'])
})

t.test('a write made while the turn is being flushed leaves in that same flush', async (t) => {
  const first = new RecordingSocket()
  const second = new RecordingSocket()
  const secondWriter = new TurnWriter(second.asSocket())
  let wrote = false
  const firstWriter = new TurnWriter(first.asSocket(), () => {
    if (wrote) return
    wrote = true
    secondWriter.write(Buffer.from('from the flush'))
  })
  firstWriter.write(Buffer.from('x'))
  // Queued right behind the turn's flush: a later tick of its own would run after this one.
  const seen = await new Promise<string[]>((resolve) => process.nextTick(() => resolve(second.writes.map((b) => b.toString()))))
  t.same(seen, ['from the flush'])
})

t.test('the bytes leave before promise continuations queued after the write, still as one write', async (t) => {
  const socket = new RecordingSocket()
  const writer = new TurnWriter(socket.asSocket())
  const seenByLaterContinuation: number[] = []
  // Inside a continuation, as the Ready loop runs after an fsync resolved:
  // a flush at the end of the callback (process.nextTick) would come after `later`.
  await Promise.resolve()
  writer.write(Buffer.from('a'))
  writer.write(Buffer.from('b'))
  const later = Promise.resolve().then(() => seenByLaterContinuation.push(socket.writes.length))
  t.equal(socket.writes.length, 0, 'nothing leaves while the writing code runs')
  await later
  t.same(seenByLaterContinuation, [1])
  t.same(socket.writes.map((b) => b.toString()), ['ab'])
})
