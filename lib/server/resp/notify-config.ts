// notify-keyspace-events through CONFIG GET / CONFIG SET. NOTIFY_KEYSPACE_EVENTS
// sets it at start-up; CONFIG SET changes it on every node through the log
// (lib/kv/replicated-config.ts), and each node's feed hub follows the applied
// value (KvEventSink.config).
import { formatNotifyFlags } from '../../feeds/notify-flags.js'
import type { CommandContext } from './command-types.js'

/** CONFIG GET's value of notify-keyspace-events, as Redis prints it; null without feeds. */
export function notifyConfigValue(ctx: CommandContext): string | null {
  return ctx.server.feeds === null ? null : formatNotifyFlags(ctx.server.feeds.notifyFlags)
}
