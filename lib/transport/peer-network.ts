// What the runtime needs from the network between nodes, as an interface:
// PeerTransport (TCP, Avro frames, handshake) implements it in production,
// the simulator's network in test/sim. The contract is TCP's: a message sent
// to a peer may be lost (a connection broke), but messages on one link are
// never reordered or duplicated by the transport itself.
import type { NodeId } from '../raft/types.js'
import type { WireMessage } from './wire-message.js'

export type PeerState = 'connected' | 'connecting' | 'down'
export type MessageHandler = (msg: WireMessage, from: NodeId, reply: (m: WireMessage) => void) => void

export interface PeerNetwork {
  /** Starts listening for peers; rejects when the address cannot be used. */
  start(): Promise<void>
  /** The peers this node talks to (id → dial address); links to peers no longer listed are closed. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void
  /** Takes effect for handshakes from now on (a joining node learns its cluster id). */
  setClusterId(id: string): void
  /** Queues `msg` for peer `to`; false when dropped at once (unknown peer, full queue). Never throws. */
  send(to: NodeId, msg: WireMessage): boolean
  /** The handler for every message that arrives; `reply` answers on the same connection. */
  onMessage(handler: MessageHandler): void
  /**
   * A one-off exchange with whatever node listens at `addr`: resolves with
   * the first message that comes back; rejects on failure or after `timeoutMs`.
   */
  request(addr: string, msg: WireMessage, timeoutMs: number): Promise<WireMessage>
  /** For metrics: outbound link state per peer. */
  peerState(): Map<NodeId, PeerState>
  close(): Promise<void>
}
