// The peer network of a test cluster: one LinkProxy per ordered pair of
// nodes, and partitions expressed in terms of them. Client traffic (RESP,
// HTTP) and JOIN requests do not go through the proxies.
import { LinkProxy, type LinkFaults } from './fault-proxy.js'

export class Network {
  private constructor(private readonly links: Map<string, LinkProxy>) {}

  static async start(nodes: readonly { id: string; raftPort: number }[], random: () => number): Promise<Network> {
    const links = new Map<string, LinkProxy>()
    for (const a of nodes) {
      for (const b of nodes) {
        if (a.id !== b.id) links.set(`${a.id}>${b.id}`, await LinkProxy.start(a.id, b.id, b.raftPort, random))
      }
    }
    return new Network(links)
  }

  link(from: string, to: string): LinkProxy {
    const l = this.links.get(`${from}>${to}`)
    if (l === undefined) throw new Error(`no link ${from} -> ${to}`)
    return l
  }

  /** PEER_ADDR_OVERRIDES for node `id`: every peer through its proxy. */
  overridesFor(id: string): string {
    return [...this.links.values()]
      .filter((l) => l.from === id)
      .map((l) => `${l.to}=127.0.0.1:${l.port}`)
      .join(',')
  }

  /** No traffic between a and b, either way, over either node's connections. */
  cutBetween(a: string, b: string): void {
    this.link(a, b).set({ cut: true })
    this.link(b, a).set({ cut: true })
  }

  /** Every pair in different groups is cut; within a group traffic flows. */
  partition(groups: readonly (readonly string[])[]): void {
    groups.forEach((g, i) => {
      for (const h of groups.slice(i + 1)) for (const a of g) for (const b of h) this.cutBetween(a, b)
    })
  }

  /**
   * Bytes from `from` never reach `to`, while `to`'s bytes reach `from`:
   * on from's own connection the forward direction is discarded, on to's
   * connection the backward one (from's replies).
   */
  blockOneWay(from: string, to: string): void {
    this.link(from, to).set({ blockForward: true })
    this.link(to, from).set({ blockBackward: true })
  }

  setAll(faults: Partial<LinkFaults>): void {
    for (const l of this.links.values()) l.set(faults)
  }

  heal(): void {
    for (const l of this.links.values()) l.heal()
  }

  stats(): { connectionsRefused: number; connectionsDropped: number; chunksBlocked: number } {
    const s = { connectionsRefused: 0, connectionsDropped: 0, chunksBlocked: 0 }
    for (const l of this.links.values()) {
      s.connectionsRefused += l.stats.connectionsRefused
      s.connectionsDropped += l.stats.connectionsDropped
      s.chunksBlocked += l.stats.chunksBlocked
    }
    return s
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()))
  }
}
