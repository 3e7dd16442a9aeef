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

/**
 * A node of the list. Three quarters of nodes have one level only, so level 0
 * lives in fields of the node and only the levels above it in an array
 * (`upper`): one heap object per node for most, where a pair of arrays per
 * node (next pointers, spans) cost about 100 bytes more each.
 */
export class SkipNode {
  /** The following node on level 0, and how many ranks it skips (1, but for the head). */
  next0: SkipNode | null = null
  span0 = 0
  prev: SkipNode | null = null
  /** Levels 1 and up: upper[2(i-1)] is the following node on level i, upper[2(i-1)+1] its span; null for a one-level node. */
  private readonly upper: (SkipNode | null | number)[] | null

  constructor(
    readonly score: number,
    readonly member: string,
    level: number,
  ) {
    this.upper = level > 1 ? new Array<SkipNode | null | number>(2 * (level - 1)).fill(null) : null
    if (this.upper !== null) for (let i = 1; i < this.upper.length; i += 2) this.upper[i] = 0
  }

  next(i: number): SkipNode | null {
    return i === 0 ? this.next0 : ((this.upper as (SkipNode | null)[])[2 * (i - 1)] ?? null)
  }

  setNext(i: number, node: SkipNode | null): void {
    if (i === 0) this.next0 = node
    else (this.upper as (SkipNode | null)[])[2 * (i - 1)] = node
  }

  span(i: number): number {
    return i === 0 ? this.span0 : ((this.upper as number[])[2 * (i - 1) + 1] as number)
  }

  setSpan(i: number, span: number): void {
    if (i === 0) this.span0 = span
    else (this.upper as number[])[2 * (i - 1) + 1] = span
  }
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

export class SkipList {
  private readonly head: SkipNode = new SkipNode(-Infinity, '', SKIP_LEVEL_MAX)
  private tail: SkipNode | null = null
  private level = 1
  length = 0

  insert(score: number, member: string): void {
    const update = new Array<SkipNode>(SKIP_LEVEL_MAX)
    const rank = new Array<number>(SKIP_LEVEL_MAX).fill(0)
    let x = this.head
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : (rank[i + 1] as number)
      for (let n = x.next(i); n != null && compareEntry(n.score, n.member, score, member) < 0; n = x.next(i)) {
        rank[i] = (rank[i] as number) + x.span(i)
        x = n
      }
      update[i] = x
    }
    const level = levelOf(member)
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0
        update[i] = this.head
        this.head.setSpan(i, this.length)
      }
      this.level = level
    }
    const node = new SkipNode(score, member, level)
    for (let i = 0; i < level; i++) {
      const u = update[i] as SkipNode
      node.setNext(i, u.next(i))
      u.setNext(i, node)
      const skipped = (rank[0] as number) - (rank[i] as number)
      node.setSpan(i, u.span(i) - skipped)
      u.setSpan(i, skipped + 1)
    }
    for (let i = level; i < this.level; i++) (update[i] as SkipNode).setSpan(i, (update[i] as SkipNode).span(i) + 1)
    node.prev = update[0] === this.head ? null : (update[0] as SkipNode)
    const after = node.next0
    if (after != null) after.prev = node
    else this.tail = node
    this.length++
  }

  delete(score: number, member: string): boolean {
    const update = new Array<SkipNode>(SKIP_LEVEL_MAX)
    let x = this.head
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next(i); n != null && compareEntry(n.score, n.member, score, member) < 0; n = x.next(i)) x = n
      update[i] = x
    }
    const target = x.next0
    if (target == null || target.score !== score || target.member !== member) return false
    for (let i = 0; i < this.level; i++) {
      const u = update[i] as SkipNode
      if (u.next(i) === target) {
        u.setSpan(i, u.span(i) + target.span(i) - 1)
        u.setNext(i, target.next(i))
      } else u.setSpan(i, u.span(i) - 1)
    }
    const after = target.next0
    if (after != null) after.prev = target.prev
    else this.tail = target.prev
    while (this.level > 1 && this.head.next(this.level - 1) == null) this.level--
    this.length--
    return true
  }

  /** 0-based rank of an element known to be present. */
  rank(score: number, member: string): number {
    let x = this.head
    let rank = 0
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next(i); n != null && compareEntry(n.score, n.member, score, member) <= 0; n = x.next(i)) {
        rank += x.span(i)
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
      for (let n = x.next(i); n != null && traversed + x.span(i) <= target; n = x.next(i)) {
        traversed += x.span(i)
        x = n
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
      for (let n = x.next(i); n != null && !after(n); n = x.next(i)) {
        rank += x.span(i)
        x = n
      }
    }
    const node = x.next0
    return node == null ? null : { node, rank }
  }

  /** The last node for which `within` holds (true for a prefix, then false), and its rank; null if none. */
  lastWhere(within: (node: SkipNode) => boolean): { node: SkipNode; rank: number } | null {
    let x = this.head
    let rank = 0
    for (let i = this.level - 1; i >= 0; i--) {
      for (let n = x.next(i); n != null && within(n); n = x.next(i)) {
        rank += x.span(i)
        x = n
      }
    }
    return x === this.head ? null : { node: x, rank: rank - 1 }
  }

  first(): SkipNode | null {
    return this.head.next0
  }

  last(): SkipNode | null {
    return this.tail
  }
}
