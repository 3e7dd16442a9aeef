// `host:port` strings as used in RAFT_ADDR and member addresses; IPv6 hosts
// are bracketed (`[::1]:7001`).

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** null when `addr` is not `host:port` with a port in 0..65535. */
export function parseHostPort(addr: string): HostPort | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr)
  if (match === null) return null
  const host = match[1] ?? match[2] ?? ''
  const port = Number(match[3])
  return port <= 65535 && host !== '' ? { host, port } : null
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
