// The handshake that opens every peer connection, as two pure state machines
// (no sockets, no timers) so every refusal can be tested frame by frame.
//
//   dialer -> listener  Hello     {protocolVersion, clusterId, fromId, toId, nonceD}
//   listener -> dialer  Challenge {nonceL}                      | Refuse
//   dialer -> listener  Proof     {mac = HMAC(secret, "dialer" transcript)}
//   listener -> dialer  Accept    {nodeId, clusterId, mac = HMAC(secret, "listener" transcript)} | Refuse
//
// Both MACs cover both fresh random nonces, so a recorded handshake cannot be
// replayed (the other side's nonce differs), and carry distinct labels, so a
// listener's answer is never usable as a dialer's proof. The secret itself
// never crosses the wire. The dialer proves first: a listener computes nothing
// with the secret for a stranger. This authenticates the peer, not the bytes
// that follow; against an active man in the middle use TLS (issue 9).
//
// Cluster id rule: the listener accepts a Hello whose clusterId equals its own.
// A dialer that does not know the cluster id yet ('': a node joining, an
// operator's CLI) is accepted too, but the connection is marked
// `clusterIdKnown: false` and the transport lets only JoinRequest and
// AdminRequest through it. A listener that has no cluster id yet (it is
// joining) accepts any cluster id that proves the secret: the cluster's leader
// may start replicating to it before the JoinResponse arrives.
import { createHmac, timingSafeEqual } from 'node:crypto'
import avro from 'avsc'
import { UnionCodec, WireDecodeError } from './wire-codec.js'
import { handshakeBranchTypes, transcriptType } from './wire-schema.js'

export const PROTOCOL_VERSION = 3
/** Handshake frames are tiny; before authentication a peer gets no more than this per frame. */
export const HANDSHAKE_FRAME_BYTES_MAX = 4096
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5000
export const NONCE_BYTES = 32
/** DESIGN.md: NODE_ID is `[A-Za-z0-9_-]{1,64}`. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** 'tls': the TLS layer refused (no certificate, another CA, a plaintext peer); see peer-tls.ts. */
export type RefusalReason = 'version' | 'cluster' | 'secret' | 'node' | 'protocol' | 'tls'

interface Hello {
  readonly type: 'Hello'
  readonly protocolVersion: number
  readonly clusterId: string
  readonly fromId: string
  readonly toId: string
  readonly nonce: Buffer
}
interface Refuse {
  readonly type: 'Refuse'
  readonly protocolVersion: number
  readonly reason: string
  readonly detail: string
}
interface Challenge {
  readonly type: 'Challenge'
  readonly nonce: Buffer
}
interface Proof {
  readonly type: 'Proof'
  readonly mac: Buffer
}
interface Accept {
  readonly type: 'Accept'
  readonly nodeId: string
  readonly clusterId: string
  readonly mac: Buffer
}
export type HandshakeFrame = Hello | Refuse | Challenge | Proof | Accept

export const handshakeCodec: UnionCodec<HandshakeFrame> = new UnionCodec<HandshakeFrame>(handshakeBranchTypes)

/** Who is at the other end, once the handshake succeeded. */
export interface PeerIdentity {
  readonly id: string
  readonly clusterId: string
  /** False when the dialer sent clusterId '': only join/admin requests may follow. */
  readonly clusterIdKnown: boolean
}

export type HandshakeStep =
  | { readonly kind: 'send'; readonly frame: Buffer }
  /** `frame` (the listener's Accept) is sent before any message. */
  | { readonly kind: 'done'; readonly frame: Buffer | null; readonly peer: PeerIdentity }
  /** `frame` (a Refuse) is sent, then the connection closes. `byPeer`: the other side refused us. */
  | {
      readonly kind: 'refused'
      readonly reason: RefusalReason
      readonly detail: string
      readonly frame: Buffer | null
      readonly byPeer: boolean
      /** The id the peer claimed, when known; for log lines. */
      readonly claimedId: string
    }

interface Transcript {
  readonly label: 'dialer' | 'listener'
  readonly dialerClusterId: string
  readonly dialerId: string
  readonly requestedId: string
  readonly listenerId: string
  readonly listenerClusterId: string
  readonly dialerNonce: Buffer
  readonly listenerNonce: Buffer
}

function mac(secret: string, transcript: Transcript): Buffer {
  const bytes = transcriptType.toBuffer({ ...transcript, label: `raftkv ${transcript.label}`, protocolVersion: PROTOCOL_VERSION })
  return createHmac('sha256', secret).update(bytes).digest()
}

function macEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

function refuseFrame(reason: RefusalReason, detail: string): Buffer {
  return handshakeCodec.encodeFrame({ type: 'Refuse', protocolVersion: PROTOCOL_VERSION, reason, detail })
}

function decodeFrame(payload: Buffer): HandshakeFrame | string {
  try {
    return handshakeCodec.decode(payload)
  } catch (error) {
    return error instanceof WireDecodeError ? error.message : String(error)
  }
}

const longType = avro.Type.forSchema('long')

/** The protocol version of a Hello frame, read without trusting the rest (Hello is branch 0 forever). */
export function peekHelloVersion(payload: Buffer): number | null {
  if (payload[0] !== 0) return null
  try {
    const { value, offset } = longType.decode(payload, 1)
    return offset < 0 ? null : (value as number)
  } catch {
    return null
  }
}

function refusedByPeer(frame: Refuse, claimedId: string): HandshakeStep {
  const reason = (['version', 'cluster', 'secret', 'node', 'protocol'] as const).find((r) => r === frame.reason) ?? 'protocol'
  return { kind: 'refused', reason, detail: `refused by peer: ${frame.detail}`, frame: null, byPeer: true, claimedId }
}

export interface DialerParams {
  readonly selfId: string
  readonly clusterId: string
  readonly secret: string
  /** The node we mean to reach; '' for a one-off request to an address. */
  readonly expectedPeerId: string
  readonly nonce: Buffer
}

export class DialerHandshake {
  private state: 'hello' | 'challenge' | 'accept' | 'finished' = 'hello'
  private listenerNonce: Buffer = Buffer.alloc(0)

  constructor(private readonly params: DialerParams) {}

  hello(): Buffer {
    this.state = 'challenge'
    const p = this.params
    return handshakeCodec.encodeFrame({
      type: 'Hello',
      protocolVersion: PROTOCOL_VERSION,
      clusterId: p.clusterId,
      fromId: p.selfId,
      toId: p.expectedPeerId,
      nonce: p.nonce,
    })
  }

  receive(payload: Buffer): HandshakeStep {
    const frame = decodeFrame(payload)
    const claimed = this.params.expectedPeerId
    if (typeof frame === 'string') return this.protocolError(frame)
    if (frame.type === 'Refuse') return this.finish(refusedByPeer(frame, claimed))
    if (this.state === 'challenge' && frame.type === 'Challenge') return this.onChallenge(frame)
    if (this.state === 'accept' && frame.type === 'Accept') return this.onAccept(frame)
    return this.protocolError(`unexpected ${frame.type} during handshake`)
  }

  private onChallenge(frame: Challenge): HandshakeStep {
    this.state = 'accept'
    this.listenerNonce = frame.nonce
    const proof = mac(this.params.secret, this.transcript('dialer', '', ''))
    return { kind: 'send', frame: handshakeCodec.encodeFrame({ type: 'Proof', mac: proof }) }
  }

  private onAccept(frame: Accept): HandshakeStep {
    const p = this.params
    const expected = mac(p.secret, this.transcript('listener', frame.nodeId, frame.clusterId))
    if (!macEqual(expected, frame.mac)) {
      return this.refuse('secret', 'peer failed to prove CLUSTER_SECRET', frame.nodeId)
    }
    if (p.expectedPeerId !== '' && frame.nodeId !== p.expectedPeerId) {
      return this.refuse('node', `expected node '${p.expectedPeerId}', reached '${frame.nodeId}'`, frame.nodeId)
    }
    this.state = 'finished'
    const peer = { id: frame.nodeId, clusterId: frame.clusterId, clusterIdKnown: true }
    return { kind: 'done', frame: null, peer }
  }

  private transcript(label: Transcript['label'], listenerId: string, listenerClusterId: string): Transcript {
    const p = this.params
    return {
      label,
      dialerClusterId: p.clusterId,
      dialerId: p.selfId,
      requestedId: p.expectedPeerId,
      listenerId,
      listenerClusterId,
      dialerNonce: p.nonce,
      listenerNonce: this.listenerNonce,
    }
  }

  private protocolError(detail: string): HandshakeStep {
    return this.refuse('protocol', detail, this.params.expectedPeerId)
  }

  // The dialer refuses by closing: the listener learns nothing it could use.
  private refuse(reason: RefusalReason, detail: string, claimedId: string): HandshakeStep {
    return this.finish({ kind: 'refused', reason, detail, frame: null, byPeer: false, claimedId })
  }

  private finish(step: HandshakeStep): HandshakeStep {
    this.state = 'finished'
    return step
  }
}

export interface ListenerParams {
  readonly selfId: string
  /** '' while this node is joining and does not know its cluster yet. */
  readonly clusterId: string
  readonly secret: string
  readonly nonce: Buffer
}

export class ListenerHandshake {
  private state: 'hello' | 'proof' | 'finished' = 'hello'
  private hello: Hello | null = null

  constructor(private readonly params: ListenerParams) {}

  receive(payload: Buffer): HandshakeStep {
    if (this.state === 'hello') return this.onHello(payload)
    const frame = decodeFrame(payload)
    const claimed = this.hello?.fromId ?? ''
    if (typeof frame === 'string') return this.refuse('protocol', frame, claimed)
    if (this.state === 'proof' && frame.type === 'Proof') return this.onProof(frame)
    return this.refuse('protocol', `unexpected ${frame.type} during handshake`, claimed)
  }

  private onHello(payload: Buffer): HandshakeStep {
    const version = peekHelloVersion(payload)
    if (version === null) return this.refuse('protocol', 'first frame is not a Hello', '')
    if (version !== PROTOCOL_VERSION) {
      return this.refuse('version', `peer speaks protocol version ${version}, this node ${PROTOCOL_VERSION}`, '')
    }
    const frame = decodeFrame(payload)
    if (typeof frame === 'string' || frame.type !== 'Hello') return this.refuse('protocol', 'undecodable Hello', '')
    const p = this.params
    if (!NODE_ID_PATTERN.test(frame.fromId)) return this.refuse('protocol', 'invalid node id in Hello', '')
    if (frame.toId !== '' && frame.toId !== p.selfId) {
      return this.refuse('node', `dialed node '${frame.toId}' but this is '${p.selfId}'`, frame.fromId)
    }
    if (frame.clusterId !== '' && p.clusterId !== '' && frame.clusterId !== p.clusterId) {
      return this.refuse('cluster', `peer is in cluster '${frame.clusterId}', not this node's cluster`, frame.fromId)
    }
    this.hello = frame
    this.state = 'proof'
    return { kind: 'send', frame: handshakeCodec.encodeFrame({ type: 'Challenge', nonce: p.nonce }) }
  }

  private onProof(frame: Proof): HandshakeStep {
    const hello = this.hello as Hello
    const p = this.params
    const base = {
      dialerClusterId: hello.clusterId,
      dialerId: hello.fromId,
      requestedId: hello.toId,
      dialerNonce: hello.nonce,
      listenerNonce: p.nonce,
    }
    const expected = mac(p.secret, { ...base, label: 'dialer', listenerId: '', listenerClusterId: '' })
    if (!macEqual(expected, frame.mac)) {
      return this.refuse('secret', 'wrong CLUSTER_SECRET (proof did not verify)', hello.fromId)
    }
    this.state = 'finished'
    const answer = mac(p.secret, { ...base, label: 'listener', listenerId: p.selfId, listenerClusterId: p.clusterId })
    const accept = handshakeCodec.encodeFrame({ type: 'Accept', nodeId: p.selfId, clusterId: p.clusterId, mac: answer })
    const peer = { id: hello.fromId, clusterId: hello.clusterId, clusterIdKnown: hello.clusterId !== '' }
    return { kind: 'done', frame: accept, peer }
  }

  private refuse(reason: RefusalReason, detail: string, claimedId: string): HandshakeStep {
    this.state = 'finished'
    return { kind: 'refused', reason, detail, frame: refuseFrame(reason, detail), byPeer: false, claimedId }
  }
}
