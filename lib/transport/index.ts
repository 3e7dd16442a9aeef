// The transport's public surface, for lib/replica and bin/.
export { formatHostPort, parseHostPort, type HostPort } from './address.js'
export { FRAME_BYTES_MAX_DEFAULT, FrameDecoder, FrameError, encodeFrame } from './frame-codec.js'
export { NODE_ID_PATTERN, PROTOCOL_VERSION, type RefusalReason } from './handshake.js'
export { type PeerTlsOptions } from './peer-tls.js'
export type { PeerNetwork } from './peer-network.js'
export {
  PEER_TRANSPORT_DEFAULTS,
  PeerTransport,
  TransportError,
  type LinkFilter,
  type MessageHandler,
  type PeerState,
  type PeerTransportOptions,
  type TransportCounters,
  type TransportSettings,
} from './peer-transport.js'
export { WireDecodeError, decodeWireMessage, encodeWireFrame } from './wire-codec.js'
export * from './wire-message.js'
