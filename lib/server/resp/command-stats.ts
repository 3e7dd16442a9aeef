// INFO commandstats and errorstats, as Redis 7 counts them:
// - calls: commands run (a command queued in MULTI is counted as EXEC, not itself);
// - rejected_calls: refused before running (wrong arity, NOAUTH, unknown in MULTI);
// - failed_calls: run, and answered with an error;
// - usec: from the command's arrival to its reply being written, so on raftkv
//   it includes the Raft round of a write or a linearizable read (Redis times
//   only the execution; there is no execution without the round here);
// - errorstat_<PREFIX>: every error reply written, by its first word (ERR,
//   WRONGTYPE, MOVED, ...), errors inside an EXEC array not included.

import { turnMonotonicMs } from '../../util/turn-time.js'

export interface CommandCounts {
  calls: number
  usec: number
  /** usec before rounding (many sub-µs commands still add up). */
  usecExact: number
  rejectedCalls: number
  failedCalls: number
}

/** Error prefixes are bounded so a client cannot grow the table: Redis caps it at 128 too. */
const errorPrefixesMax = 128

export class CommandStats {
  readonly commands = new Map<string, CommandCounts>()
  readonly errors = new Map<string, number>()

  private counts(command: string): CommandCounts {
    let c = this.commands.get(command)
    if (c === undefined) {
      c = { calls: 0, usec: 0, usecExact: 0, rejectedCalls: 0, failedCalls: 0 }
      this.commands.set(command, c)
    }
    return c
  }

  rejected(command: string): void {
    this.counts(command).rejectedCalls++
  }

  /**
   * One reply written: `command` is null for replies no command run owns
   * (rejections, protocol errors); `startedMs` is when it arrived, from
   * turnMonotonicMs() (a double: no BigInt per command; replies written in
   * one turn share one reading of the clock).
   */
  written(reply: Buffer, command: string | null, startedMs: number): void {
    const error = reply[0] === 0x2d // '-'
    if (error) this.countError(reply)
    if (command === null) return
    const c = this.counts(command)
    c.calls++
    // usec stays an integer, as Redis prints it; the fractions are summed in usecExact.
    c.usecExact += (turnMonotonicMs() - startedMs) * 1000
    c.usec = Math.round(c.usecExact)
    if (error) c.failedCalls++
  }

  private countError(reply: Buffer): void {
    let end = 1
    while (end < reply.length && end < 64 && reply[end] !== 0x20 && reply[end] !== 0x0d) end++
    const prefix = reply.toString('latin1', 1, end)
    const count = this.errors.get(prefix)
    if (count !== undefined) this.errors.set(prefix, count + 1)
    else if (this.errors.size < errorPrefixesMax) this.errors.set(prefix, 1)
    else this.errors.set('ERRORSTATS_OVERFLOW', (this.errors.get('ERRORSTATS_OVERFLOW') ?? 0) + 1)
  }

  /** `cmdstat_<name>:calls=…` lines, as INFO commandstats prints them. */
  commandLines(): string[] {
    return [...this.commands.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, c]) => `cmdstat_${name}:calls=${c.calls},usec=${c.usec},usec_per_call=${(c.calls === 0 ? 0 : c.usec / c.calls).toFixed(2)},rejected_calls=${c.rejectedCalls},failed_calls=${c.failedCalls}`)
  }

  /** `errorstat_<PREFIX>:count=…` lines, as INFO errorstats prints them. */
  errorLines(): string[] {
    return [...this.errors.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([prefix, count]) => `errorstat_${prefix}:count=${count}`)
  }
}
