// A key-value command's reply slot, which is also where the backend hands its
// outcome (WriteTarget) and where the Sequencer hands a read's result: the
// outcome is formatted into RESP and the slot filled, with no promise and no
// closure per command. Formatting runs inside the runtime's apply loop, so
// nothing here may throw.
import type { KvApplyResult, KvOpResult } from '../../kv/command.js'
import type { WriteTarget } from '../../replica/client-api.js'
import type { Logger } from '../../util/logger.js'
import { backendErrorReply } from './backend-errors.js'
import type { CommandContext, KvCommandSpec } from './command-types.js'
import { keySlot } from './key-slot.js'
import { ReplySlot } from './reply-queue.js'
import { encodeResult } from './result-encoder.js'
import { bulk, errorReply, integer, replyNil, replyNilArray, replyOk, simpleString, type Reply } from './reply-writer.js'
import type { SequencedRead, SequencedWrite, WorkGroup } from './sequencer.js'

/** A KvOpResult as the RESP reply Redis would give. */
export function formatResult(result: KvOpResult): Reply {
  switch (result.t) {
    case 'ok':
      return replyOk
    case 'status':
      return simpleString(result.value)
    case 'nil':
      return replyNil
    case 'nilArray':
      return replyNilArray
    case 'int':
      return integer(result.value)
    case 'bulk':
      return bulk(result.value)
    case 'array':
      return encodeResult(result)
    case 'error':
      return errorReply(`${result.code} ${result.message}`)
  }
}

/** Maps an apply outcome to a reply; `results` formats the per-op results. */
export function applyReply(outcome: KvApplyResult, results: (results: readonly KvOpResult[]) => Reply): Reply {
  switch (outcome.t) {
    case 'results':
      return results(outcome.results)
    case 'watchAborted':
      return replyNilArray
    case 'duplicate':
      return outcome.outcome === null
        ? errorReply('ERR the write was applied, but its result is no longer known')
        : applyReply(outcome.outcome, results)
    case 'rejected':
      return errorReply(`ERR ${outcome.error.message}`)
  }
}

const nilResult: KvOpResult = Object.freeze({ t: 'nil' })

/** The command whose custom reply (PUBLISH) answers a successful write, with what it needs. */
export interface CustomReply {
  readonly spec: KvCommandSpec
  readonly context: CommandContext
  readonly args: readonly Buffer[]
}

export class CommandReply extends ReplySlot implements WriteTarget, SequencedWrite, SequencedRead {
  group: WorkGroup | null = null
  private done = false

  constructor(
    private readonly logger: Logger,
    /** The key whose hash slot a -MOVED reply names (computed only for an error reply). */
    private readonly key: Buffer | undefined,
    private readonly custom: CustomReply | null,
  ) {
    super()
  }

  writeDone(outcome: KvApplyResult): void {
    let reply: Reply
    try {
      reply = this.formatWrite(outcome)
    } catch (error) {
      reply = backendErrorReply(error, this.logger, this.keySlot())
    }
    this.finish(reply)
  }

  writeFailed(error: unknown): void {
    this.finish(this.errorReply(error))
  }

  readResult(result: KvOpResult): void {
    let reply: Reply
    try {
      reply = formatResult(result)
    } catch (error) {
      reply = backendErrorReply(error, this.logger, this.keySlot())
    }
    this.finish(reply)
  }

  readFailed(error: unknown): void {
    this.finish(this.errorReply(error))
  }

  private errorReply(error: unknown): Reply {
    try {
      return backendErrorReply(error, this.logger, this.keySlot())
    } catch {
      return errorReply('ERR internal error; see the server log')
    }
  }

  private keySlot(): number {
    return this.key === undefined ? 0 : keySlot(this.key)
  }

  private finish(reply: Reply): void {
    if (this.done) return
    this.done = true
    const group = this.group
    this.group = null
    group?.settleOne()
    this.settle(reply)
  }

  private formatWrite(outcome: KvApplyResult): Reply {
    switch (outcome.t) {
      case 'results': {
        const first = outcome.results[0]
        const custom = this.custom
        if (custom !== null && first?.t !== 'error') return (custom.spec.reply as NonNullable<KvCommandSpec['reply']>)(custom.context, custom.args)
        return formatResult(first ?? nilResult)
      }
      case 'duplicate':
        if (outcome.outcome !== null) return this.formatWrite(outcome.outcome)
        return errorReply('ERR the write was applied, but its result is no longer known')
      case 'watchAborted':
        return replyNilArray
      case 'rejected':
        return errorReply(`ERR ${outcome.error.message}`)
    }
  }
}
