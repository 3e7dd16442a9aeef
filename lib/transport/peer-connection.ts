// One TCP connection to or from a peer: the handshake, then frames both ways.
// Socket callbacks never throw: every malformed input (bad length, broken
// Avro, an unexpected frame) closes this connection with one reported
// failure, and the node goes on serving everyone else.
//
// Writes never block. Frames written by one run of code leave in one socket
// write once it is done (TurnWriter), so a Ready batch with many small
// messages costs one syscall. The bytes waiting in the socket are bounded by
// `sendQueueBytesMax`: beyond that a frame is dropped (raft retransmits).
import type { Socket } from 'node:net'
import { FrameDecoder, FrameError } from './frame-codec.js'
import {
  DialerHandshake,
  HANDSHAKE_FRAME_BYTES_MAX,
  type HandshakeStep,
  type ListenerHandshake,
  type PeerIdentity,
  type RefusalReason,
} from './handshake.js'
import { TurnWriter } from '../util/turn-writer.js'
import { isTlsError, tlsFailureDetail } from './peer-tls.js'
import { WireDecodeError, decodeWireMessage, wireCodec } from './wire-codec.js'
import type { WireMessage } from './wire-message.js'

export type FailureKind =
  | 'refused' // the handshake failed; `reason` says why, `byPeer` who refused
  | 'frame' // a bad frame length
  | 'decode' // a frame that is not a valid message of the expected kind
  | 'timeout' // no completed handshake in time
  | 'stall' // the peer stopped reading our writes
  | 'policy' // a valid message not allowed on this connection
  | 'socket' // a socket error (refused, reset, unreachable)
  | 'ended' // the peer closed the connection
  | 'local' // we closed it

export interface ConnectionFailure {
  readonly kind: FailureKind
  readonly detail: string
  readonly reason?: RefusalReason
  readonly byPeer?: boolean
  readonly claimedId?: string
}

export interface PeerConnectionEvents {
  onOpen(conn: PeerConnection): void
  onMessage(conn: PeerConnection, msg: WireMessage): void
  /** Called exactly once. */
  onClose(conn: PeerConnection, failure: ConnectionFailure): void
}

export interface PeerConnectionOptions {
  readonly socket: Socket
  readonly handshake: DialerHandshake | ListenerHandshake
  readonly frameBytesMax: number
  readonly sendQueueBytesMax: number
  readonly handshakeTimeoutMs: number
  readonly writeStallTimeoutMs: number
  readonly events: PeerConnectionEvents
}

/** A complete frame: one buffer, or parts written back to back (a large Append's shared entries: wire-codec.ts). */
export type OutboundFrame = Buffer | readonly Buffer[]

export function outboundFrameBytes(frame: OutboundFrame): number {
  if (Buffer.isBuffer(frame)) return frame.length
  let bytes = 0
  for (const part of frame as readonly Buffer[]) bytes += part.length
  return bytes
}

/** How long a refused peer gets to read our Refuse frame before the socket is destroyed. */
const REFUSE_LINGER_MS = 1000

export class PeerConnection {
  state: 'handshaking' | 'open' | 'closed' = 'handshaking'
  /** Set once the handshake succeeded. */
  peer: PeerIdentity | null = null
  readonly remoteAddress: string
  framesDropped = 0

  private readonly socket: Socket
  private readonly handshake: DialerHandshake | ListenerHandshake
  private readonly decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX)
  private handshakeTimer: NodeJS.Timeout | null
  private stallTimer: NodeJS.Timeout | null = null
  private readonly writer: TurnWriter

  constructor(private readonly options: PeerConnectionOptions) {
    this.socket = options.socket
    this.handshake = options.handshake
    this.remoteAddress = `${options.socket.remoteAddress ?? '?'}:${options.socket.remotePort ?? '?'}`
    this.writer = new TurnWriter(this.socket, (accepted) => {
      if (accepted || this.stallTimer !== null || this.state === 'closed') return
      this.stallTimer = setTimeout(() => this.onStall(), options.writeStallTimeoutMs)
      this.stallTimer.unref()
    })
    this.socket.setNoDelay(true)
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('drain', () => this.clearStallTimer())
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.onSocketError(error))
    this.socket.on('close', () => this.onSocketClose())
    this.handshakeTimer = setTimeout(
      () => this.fail({ kind: 'timeout', detail: `no handshake within ${options.handshakeTimeoutMs} ms` }),
      options.handshakeTimeoutMs,
    )
    this.handshakeTimer.unref()
    // A dialer speaks first; writes before 'connect' are buffered by the socket.
    if (this.handshake instanceof DialerHandshake) this.socket.write(this.handshake.hello())
  }

  /** Queues a complete frame; false when it was dropped (not open, or the send queue is full). */
  send(frame: OutboundFrame): boolean {
    if (this.state !== 'open') return false
    if (this.writer.queuedBytes + outboundFrameBytes(frame) > this.options.sendQueueBytesMax) {
      this.framesDropped++
      return false
    }
    // All parts or none: the check above counted them together.
    if (Buffer.isBuffer(frame)) this.writer.write(frame)
    else for (const part of frame as readonly Buffer[]) this.writer.write(part)
    return true
  }

  /** Bytes written but not yet taken by the kernel. */
  queuedBytes(): number {
    return this.writer.queuedBytes
  }

  close(failure: ConnectionFailure = { kind: 'local', detail: 'closed locally' }): void {
    this.fail(failure)
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return
    try {
      const frames = this.decoder.push(chunk)
      if (frames instanceof FrameError) {
        this.fail({ kind: 'frame', detail: frames.message, claimedId: this.peer?.id ?? '' })
        return
      }
      for (const payload of frames) {
        if (this.isClosed()) return // an earlier frame in this chunk closed us
        if (this.state === 'handshaking') this.onHandshakeFrame(payload)
        else this.onMessageFrame(payload)
      }
    } catch (error) {
      // Not expected (decoding errors are handled below): keep the node alive, drop this peer.
      this.fail({ kind: 'decode', detail: `internal error: ${(error as Error).stack ?? String(error)}` })
    }
  }

  private onSocketError(error: NodeJS.ErrnoException): void {
    if (!isTlsError(error)) {
      this.fail({ kind: 'socket', detail: error.code ?? error.message })
      return
    }
    // An alert means the other side refused our certificate; anything else, we refused theirs.
    const byPeer = (error.code ?? '').includes('ALERT')
    this.fail({ kind: 'refused', reason: 'tls', detail: tlsFailureDetail(error), byPeer })
  }

  private onSocketClose(): void {
    if (this.state === 'handshaking' && (this.socket as Socket & { encrypted?: boolean }).encrypted === true) {
      // Under TLS 1.3 a listener that rejects our certificate often just
      // closes, after our side already considered TLS established.
      this.fail({ kind: 'refused', reason: 'tls', detail: 'peer closed the TLS connection before the handshake (did it refuse our certificate?)', byPeer: true })
      return
    }
    const partialBytes = this.decoder.bufferedBytes()
    if (partialBytes > 0) this.fail({ kind: 'frame', detail: `connection ended inside a frame (${partialBytes} bytes held)` })
    else this.fail({ kind: 'ended', detail: 'connection closed by peer' })
  }

  private onHandshakeFrame(payload: Buffer): void {
    const step: HandshakeStep = this.handshake.receive(payload)
    if (step.kind === 'send') {
      this.socket.write(step.frame)
      return
    }
    if (step.kind === 'refused') {
      if (step.frame !== null) this.socket.end(step.frame)
      const { reason, detail, byPeer, claimedId } = step
      this.fail({ kind: 'refused', reason, detail, byPeer, claimedId })
      return
    }
    if (step.frame !== null) this.socket.write(step.frame)
    this.peer = step.peer
    this.state = 'open'
    this.decoder.setFrameBytesMax(this.options.frameBytesMax)
    this.clearHandshakeTimer()
    this.options.events.onOpen(this)
  }

  private onMessageFrame(payload: Buffer): void {
    let msg: WireMessage
    try {
      msg = decodeWireMessage(payload)
    } catch (error) {
      if (!(error instanceof WireDecodeError)) throw error
      const claimed = wireCodec.typeNameOf(payload)
      this.fail({ kind: 'decode', detail: `${error.message}${claimed === null ? '' : ` (claimed type ${claimed})`}` })
      return
    }
    this.options.events.onMessage(this, msg)
  }

  isClosed(): boolean {
    return this.state === 'closed'
  }

  private onStall(): void {
    this.stallTimer = null
    const detail = `peer read nothing for ${this.options.writeStallTimeoutMs} ms (${this.socket.writableLength} bytes waiting)`
    this.fail({ kind: 'stall', detail })
  }

  private fail(failure: ConnectionFailure): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.clearHandshakeTimer()
    this.clearStallTimer()
    if (failure.kind === 'refused' && !failure.byPeer && !this.socket.writableEnded) {
      this.socket.end()
    }
    if (this.socket.writableEnded && !this.socket.destroyed) {
      // Let a Refuse frame reach the peer, but never hold the socket for long.
      setTimeout(() => this.socket.destroy(), REFUSE_LINGER_MS).unref()
    } else {
      this.socket.destroy()
    }
    this.options.events.onClose(this, failure)
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = null
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer)
    this.stallTimer = null
  }
}
