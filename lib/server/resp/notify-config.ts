// notify-keyspace-events through CONFIG GET / CONFIG SET. Per node and not
// persisted, as in Redis (each server has its own); NOTIFY_KEYSPACE_EVENTS
// sets it at start-up.
import { formatNotifyFlags, parseNotifyFlags } from '../../feeds/notify-flags.js'
import type { CommandContext } from './command-types.js'
import { errorReply, replyOk, type Reply } from './reply-writer.js'

/**
 * CONFIG SET notify-keyspace-events: this node only, until it restarts (as in
 * Redis, where each server has its own). Null for any other parameter.
 */
export function configSetNotify(ctx: CommandContext, args: readonly Buffer[]): Reply | null {
  if (args.length !== 4 || (args[2] as Buffer).toString('latin1').toLowerCase() !== 'notify-keyspace-events' || ctx.server.feeds === null) return null
  const flags = parseNotifyFlags((args[3] as Buffer).toString('latin1'))
  if (flags === null) return errorReply("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
  ctx.server.feeds.notifyFlags = flags
  return replyOk
}

/** CONFIG GET's value of notify-keyspace-events, as Redis prints it; null without feeds. */
export function notifyConfigValue(ctx: CommandContext): string | null {
  return ctx.server.feeds === null ? null : formatNotifyFlags(ctx.server.feeds.notifyFlags)
}
