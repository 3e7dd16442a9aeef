// Error texts of the key-value layer. Reply texts are Redis' own (the RESP layer
// writes `-${code} ${message}`); clients and tests match on them, so they never
// change. Decode and snapshot failures are typed errors with a stable `code`.

export const MSG_NOT_INTEGER = 'value is not an integer or out of range'
export const MSG_INCR_OVERFLOW = 'increment or decrement would overflow'
export const MSG_DECRBY_OVERFLOW = 'decrement would overflow'
export const MSG_STRING_TOO_LONG = 'string exceeds maximum allowed size (proto-max-bulk-len)'
export const MSG_INVALID_CURSOR = 'invalid cursor'
export const MSG_KEY_TOO_LONG = 'key exceeds maximum allowed size'

/** Redis: "invalid expire time in 'set' command" — the name is the command's, lower-case. */
export function invalidExpireMessage(command: string): string {
  return `invalid expire time in '${command}' command`
}

/** Log entry bytes that are not a valid envelope. Never thrown out of `apply`. */
export class KvDecodeError extends Error {
  readonly code = 'ERR_KV_DECODE'
  constructor(message: string) {
    super(message)
    this.name = 'KvDecodeError'
  }
}

/** A write that cannot be encoded (a programmer error in the caller, e.g. an out-of-range bigint). */
export class KvEncodeError extends Error {
  readonly code = 'ERR_KV_ENCODE'
  constructor(message: string) {
    super(message)
    this.name = 'KvEncodeError'
  }
}

/** Snapshot bytes that fail their checksum or structure checks. */
export class KvSnapshotError extends Error {
  readonly code = 'ERR_KV_SNAPSHOT_CORRUPT'
  constructor(message: string) {
    super(message)
    this.name = 'KvSnapshotError'
  }
}
