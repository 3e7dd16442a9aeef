// Every limit of the RESP listener, with Redis' defaults where Redis has one.
import { TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT } from '../client-tls.js'
import { requestLimitsDefault, type RequestLimits } from './request-reader.js'

export interface RespLimits extends RequestLimits {
  /** Connections served at once; one more is told `-ERR max number of clients reached`. */
  readonly clientsMax: number
  /** Reply bytes waiting in a socket before the client is closed (it does not read). */
  readonly outputBytesMax: number
  /** The same before AUTH (CVE-2025-21605). */
  readonly unauthOutputBytesMax: number
  /** Replies pending on one connection before reading from it pauses. */
  readonly pipelineCommandsMax: number
  /** Reply bytes waiting in a socket before reading from it pauses. */
  readonly outputPauseBytes: number
  /** Close a connection idle this long; 0 keeps idle connections (Redis' `timeout 0`). */
  readonly idleTimeoutMs: number
  /** Delay before answering a failed AUTH; failures on one connection queue behind each other. */
  readonly authFailDelayMs: number
  /** Each further failure from one address within a minute doubles the delay, up to this. */
  readonly authFailDelayMsMax: number
  /**
   * With REQUIREPASS: a connection not authenticated this long after it
   * opened is closed, however many bytes it trickles (slow-loris). 0: never.
   */
  readonly unauthTimeoutMs: number
  /** With client TLS: a connection that has not finished the TLS handshake by then is dropped. */
  readonly tlsHandshakeTimeoutMs: number
}

export const respLimitsDefault: RespLimits = Object.freeze({
  ...requestLimitsDefault,
  clientsMax: 10_000,
  outputBytesMax: 256 * 1024 * 1024,
  unauthOutputBytesMax: 1024 * 1024,
  pipelineCommandsMax: 16_384,
  outputPauseBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 0,
  authFailDelayMs: 100,
  authFailDelayMsMax: 5_000,
  unauthTimeoutMs: 30_000,
  tlsHandshakeTimeoutMs: TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT,
})
