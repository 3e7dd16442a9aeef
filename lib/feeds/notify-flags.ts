// notify-keyspace-events: which keyspace events become Pub/Sub messages, in
// Redis's flag letters (notify.c, keyspaceEventsStringToFlags and
// keyspaceEventsFlagsToString), so a value that works in redis.conf works here
// and CONFIG GET answers what Redis would.
import type { KvEventClass } from '../kv/key-events.js'

/** K: `__keyspace@0__:<key>` channels; E: `__keyevent@0__:<event>` channels. */
export interface NotifyFlags {
  readonly keyspace: boolean
  readonly keyevent: boolean
  /** Event classes turned on (A is g$lshzxetd; m and n must be named). */
  readonly classes: ReadonlySet<string>
}

/** What Redis ships with: nothing. */
export const NOTIFY_NONE: NotifyFlags = Object.freeze({ keyspace: false, keyevent: false, classes: new Set<string>() })

/** A's classes, in the order Redis prints them. */
const ALL_CLASSES = ['g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't', 'd'] as const
const OTHER_CLASSES = ['m', 'n'] as const

/** Parses Redis's letters; null when a letter is unknown (Redis refuses the whole value). */
export function parseNotifyFlags(text: string): NotifyFlags | null {
  let keyspace = false
  let keyevent = false
  const classes = new Set<string>()
  for (const ch of text) {
    if (ch === 'K') keyspace = true
    else if (ch === 'E') keyevent = true
    else if (ch === 'A') for (const c of ALL_CLASSES) classes.add(c)
    else if ((ALL_CLASSES as readonly string[]).includes(ch) || (OTHER_CLASSES as readonly string[]).includes(ch)) classes.add(ch)
    else return null
  }
  return { keyspace, keyevent, classes }
}

/** The canonical text, as CONFIG GET notify-keyspace-events shows it ("AKE" for "KEA"). */
export function formatNotifyFlags(flags: NotifyFlags): string {
  // Redis prints n only without A (A + n reads back as "AKE"), and m last.
  let out = ALL_CLASSES.every((c) => flags.classes.has(c)) ? 'A' : [...ALL_CLASSES, 'n'].filter((c) => flags.classes.has(c)).join('')
  if (flags.keyspace) out += 'K'
  if (flags.keyevent) out += 'E'
  if (flags.classes.has('m')) out += 'm'
  return out
}

/** True when an event of `typeClass` becomes at least one message. */
export function notifies(flags: NotifyFlags, typeClass: KvEventClass): boolean {
  return (flags.keyspace || flags.keyevent) && flags.classes.has(typeClass)
}
