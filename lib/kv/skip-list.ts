// A sorted set's order: (score, member) ascending, members compared by their
// bytes (latin1 strings compare char by char, which is byte order). A skip
// list with spans, as Redis' zskiplist (t_zset.c): insert, delete, rank and
// the element at a rank are O(log n) expected.
//
// A node's level comes from a hash of its member, not from a random draw: the
// list's shape is then a function of its content alone, the same on every
// replica however it was built (by writes, or from a snapshot). For ordered
// ranges the shape changes nothing, but a lexicographic range over members
// with different scores (which Redis leaves unspecified) follows the shape,
// and ZREMRANGEBYLEX must still remove the same members everywhere.

import { elementHash } from './element-hash.js'

export const SKIP_LEVEL_MAX = 32

export interface SkipNode {
  readonly score: number
  readonly member: string
  /** next[i]: the following node on level i; span[i]: how many ranks it skips. */
  readonly next: (SkipNode | null)[]
  readonly span: number[]
  prev: SkipNode | null
}

/** A quarter of nodes go up a level, as in Redis (ZSKIPLIST_P), by two bits of the member's hash at a time. */
function levelOf(member: string): number {
  let h = elementHash(member)
  let level = 1
  while ((h & 3) === 0 && level < 16) {
    h >>>= 2
    level++
  }
  return level
}

export function compareEntry(scoreA: number, memberA: string, scoreB: number, memberB: string): number {
  if (scoreA !== scoreB) return scoreA < scoreB ? -1 : 1
  return memberA === memberB ? 0 : memberA < memberB ? -1 : 1
}

function makeNode(level: number, score: number, member: string): SkipNode {
  return { score, member, next: new Array<SkipNode | null>(level).fill(null), span: new Array<number>(level).fill(0), prev: null }
}

export class SkipList {
  private readonly head: SkipNode = makeNode(SKIP_LEVEL_MAX, -Infinity, '')
  private tail: SkipNode | null = null
  private level = 1
  length = 0

  insert(score: number, member: string): void {
    const update = new Array<SkipNode>(SKIP_LEVEL_MAX)
    const rank = new Array<number>(SKIP_LEVEL_MAX).fill(0)
    let x = this.head
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : (rank[i + 1] as number)
      for (let n = x.next[i]; n != null && compareEntry(n.score, n.member, score, member) < 0; n = x.next[i]) {
        rank[i] = (rank[i] as number) + (x.span[i] as number)
        x = n
      }
      update[i] = x
    }
    const level = levelOf(member)
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0
        update[i] = this.head
        this.head.span[i] = this.length
      }
      this.level = level
    }
    const node = makeNode(level, score, member)
    for (let i = 0; i < level; i++) {
      const u = update[i] as SkipNode
      node.next[i] = u.next[i] as SkipNode | null
      u.next[i] = node
      const skipped = (rank[0] as number) - (rank[i] as number)
      node.span[i] = (u.span[i] as number) - skipped
      u.span[i] = skipped + 1
    }
    for (let i = level; i < this.level; i++) (update[i] as SkipNode).span[i] = ((update[i] as SkipNode).span[i] as number) + 1
    node.prev = update[0] === this.head ? null : (update[0] as SkipNode)
    const after = node.next[0]
    if (after != null) after.prev = node
    else this.tail = node
    this.length++
  }

  delete(score: number, member: string): boolean {
    const update = new Array<SkipNode>(SKIP_LEVEL_MAX)
    let x = this.head
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next[i]; n != null && compareEntry(n.score, n.member, score, member) < 0; n = x.next[i]) x = n
      update[i] = x
    }
    const target = x.next[0]
    if (target == null || target.score !== score || target.member !== member) return false
    for (let i = 0; i < this.level; i++) {
      const u = update[i] as SkipNode
      if (u.next[i] === target) {
        u.span[i] = (u.span[i] as number) + (target.span[i] as number) - 1
        u.next[i] = target.next[i] as SkipNode | null
      } else u.span[i] = (u.span[i] as number) - 1
    }
    const after = target.next[0]
    if (after != null) after.prev = target.prev
    else this.tail = target.prev
    while (this.level > 1 && this.head.next[this.level - 1] == null) this.level--
    this.length--
    return true
  }

  /** 0-based rank of an element known to be present. */
  rank(score: number, member: string): number {
    let x = this.head
    let rank = 0
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next[i]; n != null && compareEntry(n.score, n.member, score, member) <= 0; n = x.next[i]) {
        rank += x.span[i] as number
        x = n
      }
      if (x !== this.head && x.score === score && x.member === member) return rank - 1
    }
    return -1
  }

  /** The node at 0-based `rank`, or null. */
  at(rank: number): SkipNode | null {
    if (rank < 0 || rank >= this.length) return null
    let x = this.head
    let traversed = 0
    const target = rank + 1
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.next[i] != null && traversed + (x.span[i] as number) <= target) {
        traversed += x.span[i] as number
        x = x.next[i] as SkipNode
      }
      if (traversed === target) return x
    }
    return null
  }

  /**
   * The first node for which `after` holds, and its rank, where `after` is
   * false for a prefix of the order and true for the rest; null if none.
   */
  firstWhere(after: (node: SkipNode) => boolean): { node: SkipNode; rank: number } | null {
    let x = this.head
    let rank = 0
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next[i]; n != null && !after(n); n = x.next[i]) {
        rank += x.span[i] as number
        x = n
      }
    }
    const node = x.next[0]
    return node == null ? null : { node, rank }
  }

  /** The last node for which `within` holds (true for a prefix, then false), and its rank; null if none. */
  lastWhere(within: (node: SkipNode) => boolean): { node: SkipNode; rank: number } | null {
    let x = this.head
    let rank = 0
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next[i]; n != null && within(n); n = x.next[i]) {
        rank += x.span[i] as number
        x = n
      }
    }
    return x === this.head ? null : { node: x, rank: rank - 1 }
  }

  first(): SkipNode | null {
    return this.head.next[0] ?? null
  }

  last(): SkipNode | null {
    return this.tail
  }
}
