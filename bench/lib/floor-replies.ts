// The replies the two floor servers (node-floor-server.ts,
// replication-floor-server.ts) give to everything but SET and GET: what
// redis-benchmark and ioredis send around their real work, answered just
// well enough for them to proceed (ioredis opens with HELLO 3, then INFO as
// its ready check).
export const ok = Buffer.from('+OK\r\n')
export const nil = Buffer.from('$-1\r\n')
const pong = Buffer.from('+PONG\r\n')
/** redis-benchmark asks for the server's save/appendonly settings. */
const emptyArray = Buffer.from('*0\r\n')
/** NOPROTO makes ioredis fall back to RESP2 (any other error leaves it hung). */
const noproto = Buffer.from('-NOPROTO unsupported protocol version\r\n')
/** ioredis's ready check: INFO must answer, and say it is not loading. */
const infoText = 'loading:0\r\n'
const info = Buffer.from(`$${infoText.length}\r\n${infoText}\r\n`)
const unknown = Buffer.from('-ERR unknown command\r\n')

/** The reply to a command that is neither SET nor GET (lower-case name). */
export function otherCommandReply(name: string): Buffer {
  switch (name) {
    case 'ping':
      return pong
    case 'config':
      return emptyArray
    case 'hello':
      return noproto
    case 'info':
      return info
    default:
      return unknown
  }
}
