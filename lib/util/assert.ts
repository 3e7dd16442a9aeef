// Assertions for programmer errors: an impossible state throws at once, loudly,
// instead of letting a node go on with corrupt state. Operating errors (a
// peer gone, a full disk) are handled where they happen, not asserted.

export class AssertionError extends Error {
  readonly code = 'ERR_ASSERTION'
  constructor(message: string) {
    super(message)
    this.name = 'AssertionError'
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'function' ? message() : message)
  }
}

/**
 * Throws for an impossible state found by the caller's own check. On paths
 * run per entry or per request, `if (<impossible>) fail(`...`)` builds the
 * message only on failure: an eager template made a string per call (and
 * V8's number-string cache kept every index's string past its scavenge,
 * bench/README section 28), and a lazy `() =>` message a closure per call.
 */
export function fail(message: string): never {
  throw new AssertionError(message)
}

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable: unexpected ${what}: ${JSON.stringify(value)}`)
}
