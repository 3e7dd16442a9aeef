// The fastest a single Node.js process answers RESP on this machine: an
// in-memory map behind redis-parser, one write per reply batch, no log, no
// fsync, no replication. `make bench` runs it next to raftkv as the
// runtime's ceiling: raftkv (three such processes, plus Raft, fsync and
// ReadIndex) cannot pass it, so raftkv/node-floor says how much of the gap
// to Redis is the runtime and how much is raftkv's own work.
// Run alone: node dist/bench/node-floor-server.js <port>
import { createServer, type Socket } from 'node:net'
import RedisParser from 'redis-parser'
import { nil, ok, otherCommandReply } from './lib/floor-replies.js'


function bulk(value: Buffer): Buffer {
  const header = Buffer.from(`$${value.length}\r\n`)
  return Buffer.concat([header, value, Buffer.from('\r\n')])
}

function serve(socket: Socket, store: Map<string, Buffer>): void {
  socket.setNoDelay(true)
  // Replies of one socket read leave in one write, as Redis does.
  let pending: Buffer[] = []
  const reply = (b: Buffer): void => {
    pending.push(b)
  }
  const parser = new RedisParser({
    returnBuffers: true,
    returnReply: (args: Buffer[]) => {
      const name = (args[0] ?? Buffer.alloc(0)).toString('latin1').toLowerCase()
      if (name === 'set' && args.length >= 3) {
        store.set((args[1] as Buffer).toString('latin1'), Buffer.from(args[2] as Buffer))
        reply(ok)
      } else if (name === 'get' && args.length >= 2) {
        const v = store.get((args[1] as Buffer).toString('latin1'))
        reply(v === undefined ? nil : bulk(v))
      } else {
        reply(otherCommandReply(name))
      }
    },
    returnError: () => socket.destroy(),
  })
  socket.on('data', (chunk: Buffer) => {
    parser.execute(chunk)
    if (pending.length === 0) return
    socket.write(pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending))
    pending = []
  })
  socket.on('error', () => socket.destroy())
}

const port = Number(process.argv[2] ?? '0')
const store = new Map<string, Buffer>()
const server = createServer((socket) => serve(socket, store))
server.listen(port, '127.0.0.1', () => {
  const addr = server.address()
  process.stdout.write(`listening on ${typeof addr === 'object' && addr !== null ? addr.port : port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
