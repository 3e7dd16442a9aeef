// The ordered reply queue of one connection. Commands of a pipeline may finish
// out of order (a PING after a replicated SET is ready at once); their replies
// must still leave in the order the commands arrived. Each command takes a
// slot; a slot's reply is written once every slot before it is written.
//
// Replies written by one run of code leave in one socket write (TurnWriter). The
// bytes waiting in the socket are bounded: a client that does not read its replies is closed
// (Redis' client-output-buffer-limit; CVE-2025-21605 for clients before AUTH).
import type { Socket } from 'node:net'
import { TurnWriter } from '../../util/turn-writer.js'
import type { Reply } from './reply-writer.js'

/**
 * One command's place in the reply queue: a record, not a closure. The
 * command's name and arrival time ride along for INFO commandstats. Slots
 * for replies known later are settled through `settle` (or a subclass that
 * formats a backend's outcome first: command-reply.ts).
 */
export class ReplySlot {
  reply: Reply | null = null
  /** The queue it waits in; null when it was dropped (the queue was ending). */
  queue: ReplyQueue | null = null
  command: string | null = null
  startedMs = 0

  /** Fills the slot; later calls are ignored. */
  settle(reply: Reply): void {
    if (this.reply !== null) return
    this.reply = reply
    this.queue?.flush()
  }
}

export class ReplyQueue {
  private slots: ReplySlot[] = []
  private head = 0
  private readonly writer: TurnWriter
  private closed = false
  private ending = false
  /** The command whose replies are being queued now (INFO commandstats); null outside one. */
  command: string | null = null
  /** When that command arrived (turnMonotonicMs()). */
  startedMs = 0

  constructor(
    private readonly socket: Socket,
    private readonly outputBytesMax: () => number,
    private readonly events: {
      /** The client is not reading: its socket holds more than outputBytesMax. */
      overflow(): void
      /** Some replies left the queue (reading may resume). */
      flushed(): void
      /** `command` is null for replies no command run owns. */
      written(reply: Reply, command: string | null, startedMs: number): void
    },
  ) {
    // Bytes held for the flush count against the pause threshold too: once
    // they reach the socket, reading may resume (a full socket says so with 'drain').
    this.writer = new TurnWriter(socket, () => this.events.flushed())
  }

  /** Reply bytes not yet taken by the kernel (those waiting for the flush and the socket's). */
  get queuedBytes(): number {
    return this.writer.queuedBytes
  }

  /** Replies reserved but not yet written. */
  get pendingCount(): number {
    return this.slots.length - this.head
  }

  /** Appends a reply that is known now. */
  push(reply: Reply): void {
    if (this.ending) return
    if (this.pendingCount === 0) {
      this.write(reply, this.command, this.startedMs)
      return
    }
    const slot = new ReplySlot()
    slot.reply = reply
    this.add(slot)
  }

  /** Reserves the next position for a reply that will be known later. */
  reserve(): ReplySlot {
    return this.reserveSlot(new ReplySlot())
  }

  /** reserve() with a slot of the caller's own kind (one that formats an outcome: command-reply.ts). */
  reserveSlot<S extends ReplySlot>(slot: S): S {
    if (!this.ending) this.add(slot)
    return slot
  }

  private add(slot: ReplySlot): void {
    slot.queue = this
    slot.command = this.command
    slot.startedMs = this.startedMs
    this.slots.push(slot)
  }

  /**
   * Closes the connection once every reply reserved so far is written (QUIT,
   * protocol errors). Closed, not half-closed: as Redis does, the socket is
   * destroyed once the last reply is handed to the kernel, so a client that
   * goes on writing gets an error at once instead of writing into a socket
   * nobody reads (and the server side does not linger in FIN-WAIT-2).
   */
  end(): void {
    this.ending = true
    if (this.pendingCount === 0 && !this.closed) {
      this.closed = true
      this.writer.flush()
      this.socket.end(() => this.socket.destroy())
    }
  }

  /** Stops writing; later replies are dropped. */
  close(): void {
    this.closed = true
    this.slots = []
    this.head = 0
  }

  /** Writes the settled replies at the head (ReplySlot.settle). */
  flush(): void {
    while (this.head < this.slots.length) {
      const slot = this.slots[this.head] as ReplySlot
      if (slot.reply === null) break
      this.head++
      slot.queue = null
      this.write(slot.reply, slot.command, slot.startedMs)
    }
    if (this.head === this.slots.length) {
      this.slots = []
      this.head = 0
      if (this.ending) this.end()
    } else if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head)
      this.head = 0
    }
    this.events.flushed()
  }

  private write(reply: Reply, command: string | null, startedMs: number): void {
    if (this.closed || this.socket.destroyed) return
    this.writer.write(reply)
    this.events.written(reply, command, startedMs)
    if (this.writer.queuedBytes > this.outputBytesMax()) {
      this.closed = true
      this.events.overflow()
    }
  }
}
