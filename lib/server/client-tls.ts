// Optional TLS for client ports (CLIENT_TLS_CERT / _KEY / _CA): the RESP
// listener (`redis-cli --tls`) and the HTTP shim (https). With a CA, clients
// must present a certificate it signed, as Redis' `tls-auth-clients yes`;
// without one, any client may connect and REQUIREPASS does the gatekeeping.
import type { TlsOptions } from 'node:tls'

export interface ClientTlsOptions {
  readonly cert: Buffer
  readonly key: Buffer
  /** When set, client certificates are required and checked against it. */
  readonly ca?: Buffer | null
}

/** A client that opens TCP and never finishes TLS is dropped after this long. */
export const TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT = 10_000

export function clientTlsServerOptions(tls: ClientTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  const verifyClients = tls.ca !== undefined && tls.ca !== null
  return {
    cert: tls.cert,
    key: tls.key,
    ...(verifyClients ? { ca: tls.ca as Buffer } : {}),
    requestCert: verifyClients,
    rejectUnauthorized: verifyClients,
    minVersion: 'TLSv1.2',
    handshakeTimeout: handshakeTimeoutMs,
  }
}
