// The key-value layer's public surface: what the runtime and the servers use.
export * from './command.js'
export { encodeEnvelope, decodeEnvelope, stampTime, NOW_OFFSET, CLIENT_ID_BYTES_MAX } from './command-codec.js'
export {
  KvDecodeError,
  KvEncodeError,
  KvSnapshotError,
  MSG_DECRBY_OVERFLOW,
  MSG_INCR_OVERFLOW,
  MSG_NOT_INTEGER,
  MSG_STRING_TOO_LONG,
  invalidExpireMessage,
} from './errors.js'
export { globMatch } from './glob.js'
export { NO_KEY_EVENTS, type KvEventClass, type KvEventSink, type NotifyKeyEvent } from './key-events.js'
export { KvStateMachine } from './state-machine.js'
export { SCAN_COUNT_MAX } from './keyspace-scan.js'
export { VALUE_BYTES_MAX, KEY_BYTES_MAX, type KvReadOnlyOp } from './ops.js'
