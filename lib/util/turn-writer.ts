// Everything written to one socket by one run of code leaves in one
// socket.write() once that code, and the promise continuations queued before
// the first write, are done (a microtask, lib/util/microtask.ts). Not at
// the end of the event loop's callback (process.nextTick), as before: the
// Ready loop resumes after an fsync as a chain of promise continuations,
// and a tick waited for the whole chain: a follower's ack of one batch
// left only after the next batch's apply and the hand-off of its log
// write, a leader's replies and appends after the hand-off of its next log
// write.
//
// Why not socket.cork()/uncork(): uncork hands the corked chunks to the
// stream's writev path, which builds a request object and a callback array
// per flush and runs Writable's buffered-write bookkeeping; under 50 clients
// that path (clearBuffer, writevGeneric) was ~15 % of a node's main thread.
// Small chunks are cheaper to copy into one buffer and write once. Large
// batches (rare: snapshots, big values) keep writev and skip the copy.
//
// Every writer with bytes waiting is flushed by one shared microtask: a
// leader answering a batch writes to dozens of sockets at once, and a tick
// and a closure for each was a cost per socket for nothing.
import type { Socket } from 'node:net'
import { atMicrotask } from './microtask.js'

/** Above this many bytes in one flush the chunks are handed to the socket as they are (writev) instead of copied. */
const copyBytesMax = 64 * 1024

/** Writers with bytes waiting, in the order they were first written to. */
const due: TurnWriter[] = []
let flushScheduled = false

function flushDue(): void {
  // A flush may write to another writer (its `flushed` callback): that one
  // joins the list and is flushed in this same pass.
  for (let i = 0; i < due.length; i++) (due[i] as TurnWriter).flush()
  due.length = 0
  flushScheduled = false
}

export class TurnWriter {
  private chunks: Buffer[] = []
  private pendingBytes = 0
  private scheduled = false

  constructor(
    private readonly socket: Socket,
    /** Called after the waiting bytes were handed to the socket; `accepted` is socket.write()'s answer (false: the kernel buffer is full). */
    private readonly flushed: (accepted: boolean) => void = () => {},
  ) {}

  /** Bytes written and not yet handed to the socket, plus what the socket still holds. */
  get queuedBytes(): number {
    return this.pendingBytes + this.socket.writableLength
  }

  write(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.pendingBytes += chunk.length
    if (this.scheduled) return
    this.scheduled = true
    due.push(this)
    if (flushScheduled) return
    flushScheduled = true
    atMicrotask(flushDue)
  }

  /** Hands the waiting bytes to the socket now (also called by the scheduled flush). */
  flush(): void {
    this.scheduled = false
    const chunks = this.chunks
    const bytes = this.pendingBytes
    if (chunks.length === 0) return
    this.chunks = []
    this.pendingBytes = 0
    if (this.socket.destroyed || this.socket.writableEnded) return
    let accepted: boolean
    if (chunks.length === 1) {
      accepted = this.socket.write(chunks[0] as Buffer)
    } else if (bytes <= copyBytesMax) {
      accepted = this.socket.write(Buffer.concat(chunks, bytes))
    } else {
      this.socket.cork()
      accepted = true
      for (const chunk of chunks) accepted = this.socket.write(chunk) && accepted
      this.socket.uncork()
    }
    this.flushed(accepted)
  }
}
