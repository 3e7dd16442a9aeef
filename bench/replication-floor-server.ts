// The fastest three Node.js processes on this machine can acknowledge a SET
// that is durable on a majority: a leader and two followers, each with an
// O_DSYNC log, and nothing else. `make bench` / cpu-cost.ts run it next to
// raftkv and Redis to tell how much of raftkv's gap to Redis is physics
// (three processes and their fsyncs on two cores) and how much is raftkv's
// own code. It has none of raftkv's machinery: no Raft core (elections,
// terms, log matching, retries), no Avro, no checksums, no snapshots, no
// client sessions, no metrics, no linearizable reads.
//
// Write path, per event-loop turn on the leader: every SET of the turn's
// socket reads is copied into ONE frame (length-prefixed records), which
// goes to the leader's own log (one O_DSYNC pwrite through the libuv thread
// pool, like lib/storage/log-segment.ts) and, in the same turn, to both
// followers (one socket.write each). Each follower writes the frame to its
// own O_DSYNC log and acks the highest durable sequence number. A frame is
// committed once the leader's write has completed and one follower has
// acked it (2 of 3); then it is applied to the Map and each client gets its
// +OK, in order, one socket.write per connection. Writes are serialized:
// frames arriving while a write is in flight go together in the next one
// (group commit). Logs are 64 MB segments of preallocated zeros with a spare
// made in the background, as raftkv does (an O_DSYNC write that grows the
// file also has to flush the size change).
//
//   node dist/bench/replication-floor-server.js leader <clientPort> <dataDir> <followerPort> <followerPort>
//   node dist/bench/replication-floor-server.js follower <peerPort> <dataDir>
import { close, constants as fsConstants, mkdirSync, openSync, write } from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import RedisParser from 'redis-parser'
import { nil, ok, otherCommandReply } from './lib/floor-replies.js'

const segmentBytes = 64 * 1024 * 1024
const zeroChunk = Buffer.alloc(1024 * 1024)
/** Frames coalesced into one log write, at most (at least one frame). */
const maxWriteBytes = 8 * 1024 * 1024
/** A leader frame is closed early past this size (it is normally one turn's SETs). */
const maxFrameBytes = 8 * 1024 * 1024
/** A follower refuses a frame announcing more than this. */
const maxInboundFrameBytes = 256 * 1024 * 1024
/** The leader stops reading clients while this much is uncommitted, until it drops below the low mark. */
const uncommittedHigh = 64 * 1024 * 1024
const uncommittedLow = 16 * 1024 * 1024

// Frame: u32 length of the rest | u32 seq | u32 record count | records,
// each u32 key length | key | u32 value length | value (all little-endian).
// The same bytes go to the leader's log, over TCP and into the followers' logs.
const frameHeaderBytes = 12

function fatal(error: unknown): never {
  process.stderr.write(`replication-floor: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
}

/** Calls `fn(key, value)` for each record of a frame, as latin1 strings (raftkv's keyspace keeps latin1 strings). */
function forEachRecord(frame: Buffer, fn: (key: string, value: string) => void): void {
  const count = frame.readUInt32LE(8)
  let off = frameHeaderBytes
  for (let i = 0; i < count; i++) {
    const kl = frame.readUInt32LE(off)
    const key = frame.toString('latin1', off + 4, off + 4 + kl)
    off += 4 + kl
    const vl = frame.readUInt32LE(off)
    const value = frame.toString('latin1', off + 4, off + 4 + vl)
    off += 4 + vl
    fn(key, value)
  }
}

/**
 * An append-only log of frames: one O_DSYNC pwrite at a time (the callback
 * API, one thread-pool round trip per write); frames pushed meanwhile are
 * coalesced into the next write. `onDurable(seq)` reports the seq of the
 * last frame of each completed write.
 */
class GroupLog {
  private readonly queue: Buffer[] = []
  private writing = false
  private fd = -1
  private segment = 0
  private position = 0
  private spareReady = false

  private constructor(
    private readonly dir: string,
    private readonly onDurable: (seq: number) => void,
  ) {}

  static async open(dir: string, onDurable: (seq: number) => void): Promise<GroupLog> {
    mkdirSync(dir, { recursive: true })
    const log = new GroupLog(dir, onDurable)
    await log.makeSpare()
    await log.adoptSpare()
    return log
  }

  push(frame: Buffer): void {
    this.queue.push(frame)
  }

  /** Starts a write of everything queued unless one is in flight. */
  kick(): void {
    if (this.writing || this.queue.length === 0) return
    this.writing = true
    let n = 0
    let bytes = 0
    while (n < this.queue.length) {
      const len = (this.queue[n] as Buffer).length
      if (n > 0 && bytes + len > maxWriteBytes) break
      bytes += len
      n++
    }
    const parts = this.queue.splice(0, n)
    const data = n === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes)
    const seq = (parts[n - 1] as Buffer).readUInt32LE(4)
    if (this.position > 0 && this.position + bytes > segmentBytes) {
      this.roll().then(() => this.writeAt(data, 0, seq), fatal)
    } else {
      this.writeAt(data, 0, seq)
    }
  }

  private writeAt(data: Buffer, done: number, seq: number): void {
    write(this.fd, data, done, data.length - done, this.position + done, (error, written) => {
      if (error !== null) fatal(error)
      if (done + written < data.length) {
        this.writeAt(data, done + written, seq)
        return
      }
      this.position += data.length
      this.writing = false
      this.kick() // the disk gets the next group before anything else runs
      this.onDurable(seq)
    })
  }

  private segmentPath(n: number): string {
    return join(this.dir, `segment-${String(n).padStart(8, '0')}.log`)
  }

  /** The next segment: the spare if it is ready (else a new file that grows), the one before the last deleted. */
  private async roll(): Promise<void> {
    const old = this.fd
    if (this.spareReady) {
      await this.adoptSpare()
    } else {
      this.segment++
      this.fd = openSync(this.segmentPath(this.segment), fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_DSYNC, 0o644)
      this.position = 0
      await this.syncDir()
    }
    close(old, () => undefined)
    if (this.segment >= 2) unlink(this.segmentPath(this.segment - 2)).catch(() => undefined)
  }

  private async adoptSpare(): Promise<void> {
    this.segment++
    const name = this.segmentPath(this.segment)
    await rename(join(this.dir, 'spare.log'), name)
    this.spareReady = false
    await this.syncDir()
    this.fd = openSync(name, fsConstants.O_RDWR | fsConstants.O_DSYNC)
    this.position = 0
    this.makeSpare().catch(fatal) // in the background
  }

  /** `segmentBytes` of zeros, fsynced, under spare.log. */
  private async makeSpare(): Promise<void> {
    const tmp = join(this.dir, 'spare.tmp')
    const handle = await open(tmp, 'w')
    try {
      for (let pos = 0; pos < segmentBytes; pos += zeroChunk.length) await handle.write(zeroChunk, 0, zeroChunk.length, pos)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, join(this.dir, 'spare.log'))
    this.spareReady = true
  }

  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
}

// ---------------------------------------------------------------- leader

/** One turn's SETs, encoded as they are parsed into a shared slab (the parser reuses its own buffers). */
class FrameBuilder {
  private slab = Buffer.allocUnsafe(1024 * 1024)
  private start = 0
  private end = 0
  private count = 0

  get bytes(): number {
    return this.end - this.start
  }

  begin(): void {
    this.ensure(frameHeaderBytes)
    this.end = this.start + frameHeaderBytes
    this.count = 0
  }

  add(key: Buffer, value: Buffer): void {
    this.ensure(8 + key.length + value.length)
    this.slab.writeUInt32LE(key.length, this.end)
    this.end += 4 + key.copy(this.slab, this.end + 4)
    this.slab.writeUInt32LE(value.length, this.end)
    this.end += 4 + value.copy(this.slab, this.end + 4)
    this.count++
  }

  finish(seq: number): Buffer {
    this.slab.writeUInt32LE(this.end - this.start - 4, this.start)
    this.slab.writeUInt32LE(seq, this.start + 4)
    this.slab.writeUInt32LE(this.count, this.start + 8)
    const frame = this.slab.subarray(this.start, this.end)
    this.start = this.end
    return frame
  }

  private ensure(n: number): void {
    if (this.end + n <= this.slab.length) return
    // A new slab; frames already handed out keep the old one alive.
    const used = this.end - this.start
    const next = Buffer.allocUnsafe(Math.max(1024 * 1024, (used + n) * 2))
    this.slab.copy(next, 0, this.start, this.end)
    this.slab = next
    this.start = 0
    this.end = used
  }
}

/**
 * What a client connection waits for, in order: a number is a SET's frame
 * seq (+OK once committed), a string a GET that arrived behind SETs (read
 * from the Map once they are applied), a Buffer any other reply held back
 * behind them.
 */
type Waiting = number | string | Buffer

interface Client {
  readonly socket: Socket
  readonly waiting: Waiting[]
  head: number
  /** The frame seq this client's last SET went into (to list it once per frame). */
  lastSeq: number
  /** Replies collected while committing, written once at the end. */
  readonly out: Buffer[]
}

interface Pending {
  readonly seq: number
  readonly frame: Buffer
  readonly clients: Client[]
}

function bulk(value: string): Buffer {
  return Buffer.from(`$${value.length}\r\n${value}\r\n`, 'latin1')
}

async function runLeader(clientPort: number, dataDir: string, followerPorts: number[]): Promise<void> {
  const store = new Map<string, string>()
  const clients = new Set<Client>()
  const builder = new FrameBuilder()
  let seq = 0 // the last frame handed out
  let inFrame: Client[] | null = null // clients with SETs in the frame being built
  let flushScheduled = false
  const uncommitted: Pending[] = []
  let uncommittedBytes = 0
  let paused = false
  let durable = 0 // the leader's own log
  const acked = followerPorts.map(() => 0)
  let applied = 0

  const log = await GroupLog.open(dataDir, (s) => {
    durable = s
    advance()
  })

  const followers = await Promise.all(followerPorts.map((port, i) => new Promise<Socket>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s))
    s.setNoDelay(true)
    s.once('error', reject)
    let rest: Buffer = Buffer.alloc(0)
    s.on('data', (chunk: Buffer) => {
      const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk])
      let off = 0
      for (; off + 4 <= buf.length; off += 4) acked[i] = Math.max(acked[i] as number, buf.readUInt32LE(off))
      rest = buf.subarray(off)
      advance()
    })
    s.on('close', () => process.stderr.write(`replication-floor: follower on port ${port} disconnected\n`))
  })))
  for (const f of followers) f.on('error', () => f.destroy())

  /** Collects into c.out whatever `c` can be answered now that `applied` is, in order. */
  function drain(c: Client): void {
    const w = c.waiting
    while (c.head < w.length) {
      const item = w[c.head] as Waiting
      if (typeof item === 'number') {
        if (item > applied) break
        c.out.push(ok)
      } else if (typeof item === 'string') {
        const v = store.get(item)
        c.out.push(v === undefined ? nil : bulk(v))
      } else {
        c.out.push(item)
      }
      c.head++
    }
    if (c.head === w.length) {
      w.length = 0
      c.head = 0
    }
  }

  /**
   * Commits, applies and answers every frame that is durable here and on a
   * follower. Frame by frame, so a GET queued between two of a client's SETs
   * reads the state between them; each client's replies leave in one write.
   */
  function advance(): void {
    const committed = Math.min(durable, Math.max(...acked))
    if (committed <= applied) return
    const touched = new Set<Client>()
    while (uncommitted.length > 0 && (uncommitted[0] as Pending).seq <= committed) {
      const p = uncommitted.shift() as Pending
      forEachRecord(p.frame, (k, v) => store.set(k, v))
      applied = p.seq
      uncommittedBytes -= p.frame.length
      for (const c of p.clients) {
        touched.add(c)
        drain(c)
      }
    }
    applied = committed
    for (const c of touched) {
      if (c.out.length > 0 && !c.socket.destroyed) c.socket.write(c.out.length === 1 ? (c.out[0] as Buffer) : Buffer.concat(c.out))
      c.out.length = 0
    }
    if (paused && uncommittedBytes < uncommittedLow) {
      paused = false
      for (const c of clients) c.socket.resume()
    }
  }

  /** Hands the frame being built to the log and the followers (end of a turn, or when it gets big). */
  function flush(): void {
    flushScheduled = false
    if (inFrame === null) return
    const frame = builder.finish(seq)
    uncommitted.push({ seq, frame, clients: inFrame })
    uncommittedBytes += frame.length
    inFrame = null
    log.push(frame)
    log.kick()
    for (const f of followers) if (!f.destroyed) f.write(frame)
    if (!paused && uncommittedBytes > uncommittedHigh) {
      paused = true
      for (const c of clients) c.socket.pause()
    }
  }

  function serve(socket: Socket): void {
    socket.setNoDelay(true)
    const c: Client = { socket, waiting: [], head: 0, lastSeq: 0, out: [] }
    clients.add(c)
    if (paused) socket.pause()
    // Replies that need no commit and wait behind nothing: one write per socket read.
    let now: Buffer[] = []
    const reply = (b: Buffer): void => {
      if (c.head < c.waiting.length) c.waiting.push(b)
      else now.push(b)
    }
    const parser = new RedisParser({
      returnBuffers: true,
      returnReply: (args: Buffer[]) => {
        const name = (args[0] ?? Buffer.alloc(0)).toString('latin1').toLowerCase()
        if (name === 'set' && args.length >= 3) {
          // A GET queued behind this client's SET in the open frame must read
          // the state before this SET: start a new frame (mixed pipelines only).
          if (inFrame !== null && c.lastSeq === seq && typeof c.waiting[c.waiting.length - 1] !== 'number') flush()
          if (inFrame === null) {
            inFrame = []
            seq++
            builder.begin()
            if (!flushScheduled) {
              flushScheduled = true
              setImmediate(flush) // after every socket read of this turn
            }
          }
          builder.add(args[1] as Buffer, args[2] as Buffer)
          if (c.lastSeq !== seq) {
            c.lastSeq = seq
            inFrame.push(c)
          }
          if (now.length > 0) { // earlier replies of this read go first
            socket.write(now.length === 1 ? (now[0] as Buffer) : Buffer.concat(now))
            now = []
          }
          c.waiting.push(seq)
          if (builder.bytes > maxFrameBytes) flush()
        } else if (name === 'get' && args.length >= 2) {
          // Answered from the leader's Map: a linearizable GET would also need a
          // quorum round (ReadIndex) to prove this node still leads; the floor
          // skips it, so its GET rows are an upper bound.
          const key = (args[1] as Buffer).toString('latin1')
          if (c.head < c.waiting.length) {
            c.waiting.push(key) // behind this client's own uncommitted SETs
          } else {
            const v = store.get(key)
            now.push(v === undefined ? nil : bulk(v))
          }
        } else {
          reply(otherCommandReply(name))
        }
      },
      returnError: () => socket.destroy(),
    })
    socket.on('data', (chunk: Buffer) => {
      parser.execute(chunk)
      if (now.length === 0) return
      socket.write(now.length === 1 ? (now[0] as Buffer) : Buffer.concat(now))
      now = []
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => clients.delete(c))
  }

  const server = createServer(serve)
  server.listen(clientPort, '127.0.0.1', () => {
    const addr = server.address()
    process.stdout.write(`listening on ${typeof addr === 'object' && addr !== null ? addr.port : clientPort}\n`)
  })
}

// ---------------------------------------------------------------- follower

async function runFollower(peerPort: number, dataDir: string): Promise<void> {
  const store = new Map<string, string>()
  const toApply: Buffer[] = []
  let leader: Socket | null = null
  const log = await GroupLog.open(dataDir, (durable) => {
    // Ack first (one small write per completed disk write), then apply.
    if (leader !== null && !leader.destroyed) {
      const a = Buffer.allocUnsafe(4)
      a.writeUInt32LE(durable, 0)
      leader.write(a)
    }
    let n = 0
    while (n < toApply.length && (toApply[n] as Buffer).readUInt32LE(4) <= durable) {
      forEachRecord(toApply[n] as Buffer, (k, v) => store.set(k, v))
      n++
    }
    toApply.splice(0, n)
  })

  const server = createServer((socket) => {
    leader = socket
    socket.setNoDelay(true)
    // Frames may span socket reads: keep the partial one's pieces until it is whole.
    let parts: Buffer[] = []
    let have = 0
    let need = 4
    socket.on('data', (chunk: Buffer) => {
      let buf = chunk
      if (have > 0) {
        parts.push(chunk)
        have += chunk.length
        if (have < need) return
        buf = Buffer.concat(parts, have)
        parts = []
        have = 0
      }
      let off = 0
      while (buf.length - off >= 4) {
        const len = buf.readUInt32LE(off)
        if (len > maxInboundFrameBytes) {
          socket.destroy()
          return
        }
        if (buf.length - off < 4 + len) break
        const frame = buf.subarray(off, off + 4 + len)
        log.push(frame)
        toApply.push(frame)
        off += 4 + len
      }
      if (off < buf.length) {
        const rest = buf.subarray(off)
        parts = [rest]
        have = rest.length
        need = have >= 4 ? 4 + rest.readUInt32LE(0) : 4
      }
      log.kick() // every whole frame of this read in one write
    })
    socket.on('error', () => socket.destroy())
  })
  server.listen(peerPort, '127.0.0.1', () => {
    const addr = server.address()
    process.stdout.write(`listening on ${typeof addr === 'object' && addr !== null ? addr.port : peerPort}\n`)
  })
}

// ---------------------------------------------------------------- main

process.on('SIGTERM', () => process.exit(0))
const [role, port, dataDir, ...peers] = process.argv.slice(2)
if (role === 'leader' && port !== undefined && dataDir !== undefined && peers.length === 2) {
  runLeader(Number(port), dataDir, peers.map(Number)).catch(fatal)
} else if (role === 'follower' && port !== undefined && dataDir !== undefined) {
  runFollower(Number(port), dataDir).catch(fatal)
} else {
  fatal(new Error('usage: replication-floor-server.js leader <clientPort> <dataDir> <followerPort> <followerPort> | follower <peerPort> <dataDir>'))
}
