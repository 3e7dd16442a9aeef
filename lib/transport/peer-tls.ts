// Optional TLS under the peer protocol (PEER_TLS_CERT / _KEY / _CA). Both
// sides present a certificate and both check the other's against the
// cluster's CA: mutual TLS. The CLUSTER_SECRET handshake still runs inside
// the encrypted stream, so a stolen certificate alone does not let anyone in,
// and a leaked secret alone does not either.
//
// Host names are not checked: peers are addressed by IP and by NODE_ID, and
// the node id is proven by the HMAC handshake. The CA is what is trusted, so
// it should be a CA dedicated to this cluster (see SECURITY.md).
import type { TlsOptions, ConnectionOptions } from 'node:tls'

export interface PeerTlsOptions {
  /** PEM certificate chain of this node. */
  readonly cert: Buffer
  /** PEM private key of this node. */
  readonly key: Buffer
  /** PEM certificate(s) of the CA that signs every peer's certificate. */
  readonly ca: Buffer
}

/** TLS 1.2 is the oldest version without known protocol-level breaks. */
const MIN_VERSION = 'TLSv1.2'

export function peerTlsServerOptions(tls: PeerTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: MIN_VERSION,
    handshakeTimeout: handshakeTimeoutMs,
  }
}

export function peerTlsClientOptions(tls: PeerTlsOptions, host: string, port: number): ConnectionOptions {
  return {
    host,
    port,
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    rejectUnauthorized: true,
    minVersion: MIN_VERSION,
    // The chain is checked against the CA; the node's identity is checked by the handshake.
    checkServerIdentity: () => undefined,
  }
}

/** TLS-level failures (a bad certificate, a plaintext peer, an alert) as opposed to plain socket errors. */
export function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? ''
  return (
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
  )
}

/** One short line for a TLS failure: the OpenSSL reason without its stack. */
export function tlsFailureDetail(error: NodeJS.ErrnoException): string {
  const reason = (error as { reason?: unknown }).reason
  const code = error.code ?? 'TLS error'
  return typeof reason === 'string' && reason !== '' ? `${code}: ${reason}` : `${code}: ${error.message.split('\n')[0] ?? ''}`
}
