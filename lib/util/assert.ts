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

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable: unexpected ${what}: ${JSON.stringify(value)}`)
}
