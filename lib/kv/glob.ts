// Redis' glob matching (util.c stringmatchlen) for SCAN MATCH, over latin1
// strings so that each char is one byte of a binary-safe key. Supported:
// `*`, `?`, `[abc]`, `[^abc]`, `[a-z]`, and `\x` to match x literally.
// Recursion on `*` is bounded by the pattern's star count, and a nesting
// limit stops pathological patterns the way Redis does.

const NESTING_MAX = 1000

export function globMatch(pattern: string, subject: string): boolean {
  return matchAt(pattern, 0, subject, 0, 0) === Match.Yes
}

const enum Match {
  No,
  Yes,
  // The subject ran out while stars remain: no later star position can match either.
  Abort,
}

function matchAt(p: string, pi: number, s: string, si: number, nesting: number): Match {
  if (nesting > NESTING_MAX) return Match.Abort
  const pLen = p.length
  const sLen = s.length
  while (pi < pLen && si < sLen) {
    const c = p.charCodeAt(pi)
    if (c === 0x2a /* * */) {
      while (pi + 1 < pLen && p.charCodeAt(pi + 1) === 0x2a) pi++
      if (pi + 1 === pLen) return Match.Yes
      for (let k = si; k < sLen; k++) {
        const m = matchAt(p, pi + 1, s, k, nesting + 1)
        if (m !== Match.No) return m
      }
      return Match.Abort
    } else if (c === 0x3f /* ? */) {
      si++
    } else if (c === 0x5b /* [ */) {
      const r = matchClass(p, pi + 1, s.charCodeAt(si))
      if (!r.matched) return Match.No
      pi = r.end
      si++
    } else {
      let lit = c
      if (c === 0x5c /* \ */ && pi + 1 < pLen) {
        pi++
        lit = p.charCodeAt(pi)
      }
      if (lit !== s.charCodeAt(si)) return Match.No
      si++
    }
    pi++
  }
  if (si === sLen) {
    while (pi < pLen && p.charCodeAt(pi) === 0x2a) pi++
  }
  return pi === pLen && si === sLen ? Match.Yes : Match.No
}

/**
 * Matches one char against a bracket class starting after `[`. Returns the
 * index of the closing `]` (or the pattern's last char when unterminated, as
 * Redis does) so the caller's `pi++` steps past it.
 */
function matchClass(p: string, start: number, ch: number): { matched: boolean; end: number } {
  const pLen = p.length
  let pi = start
  const not = pi < pLen && p.charCodeAt(pi) === 0x5e /* ^ */
  if (not) pi++
  let match = false
  for (;;) {
    if (pi >= pLen) {
      // Unterminated class: Redis steps back so the outer loop ends at the pattern's end.
      pi = pLen - 1
      break
    }
    const c = p.charCodeAt(pi)
    if (c === 0x5c /* \ */ && pi + 1 < pLen) {
      pi++
      if (p.charCodeAt(pi) === ch) match = true
    } else if (c === 0x5d /* ] */) {
      break
    } else if (pi + 2 < pLen && p.charCodeAt(pi + 1) === 0x2d /* - */) {
      let lo = c
      let hi = p.charCodeAt(pi + 2)
      if (lo > hi) [lo, hi] = [hi, lo]
      pi += 2
      if (ch >= lo && ch <= hi) match = true
    } else if (c === ch) {
      match = true
    }
    pi++
  }
  return { matched: not ? !match : match, end: pi }
}
