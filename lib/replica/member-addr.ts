// A member's addresses as stored in the replicated configuration. The raft
// core treats Member.addr as opaque; we pack the peer address and the client
// addresses into it so every node can point clients at the leader
// (-MOVED, CLUSTER SLOTS) without another round of gossip.
// Format: "raftHost:port" optionally followed by ",resp=host:port,http=host:port".
import { parseHostPort } from '../config/node-config.js'

export interface MemberAddrs {
  readonly raft: string
  readonly resp: string | null
  readonly http: string | null
}

export function encodeMemberAddrs(a: MemberAddrs): string {
  let s = a.raft
  if (a.resp !== null) s += `,resp=${a.resp}`
  if (a.http !== null) s += `,http=${a.http}`
  return s
}

/** Returns null when the text is not a valid member address. */
export function decodeMemberAddrs(text: string): MemberAddrs | null {
  const [raft, ...rest] = text.split(',')
  if (raft === undefined || parseHostPort(raft) === null) return null
  let resp: string | null = null
  let http: string | null = null
  for (const part of rest) {
    const eq = part.indexOf('=')
    const key = part.slice(0, eq)
    const value = part.slice(eq + 1)
    if (eq < 0 || parseHostPort(value) === null) return null
    if (key === 'resp') resp = value
    else if (key === 'http') http = value
    else return null
  }
  return { raft, resp, http }
}
