// A callback at the next microtask checkpoint, without what Node's
// queueMicrotask adds to every call: an AsyncResource (an async id and the
// init-hook check), a bound function, and a closure and runInAsyncScope
// when it runs. Cold, as every call is at one client, that is ~2.4 µs a
// call against ~0.6 for a reaction to a resolved promise (medians,
// bench/README.md section 46), which runs at the same checkpoint, in the
// same order with the other microtasks. A throw still ends the process: the reaction's
// promise rejects unhandled, which Node treats as an uncaught exception.
const resolved = Promise.resolve()

export function atMicrotask(fn: () => void): void {
  void resolved.then(fn)
}
