// The keyspace-event hook: what applying an entry did to each key, named as
// Redis names it for keyspace notifications (notify.c, and the
// notifyKeyspaceEvent calls in t_string.c, expire.c, db.c, t_hash.c, ...).
//
// Events are produced inside apply, so every replica produces the same ones,
// in log order, at the same index; the runtime hands them to a KvEventSink
// (the change feeds in lib/feeds). An op emits an event only for a change it
// made: a failed condition (SET NX on an existing key), an error or an
// aborted MULTI emit nothing, as in Redis.
//
// To make a new op emit events: call `notify(event, typeClass, key, value)`
// (the last argument of applyOp) after the change, once per key changed,
// with Redis's event name and type class for that command.

import { storedValueOfRange, type StoredValue } from './keyspace.js'

/**
 * Redis's type classes for keyspace events (the flag letters of
 * notify-keyspace-events): g generic (DEL, EXPIRE, RENAME, ...), $ string,
 * l list, s set, h hash, z sorted set, t stream, x expired, e evicted,
 * n new key. (K, E, A, m and d select channels or are not produced here.)
 */
export type KvEventClass = 'g' | '$' | 'l' | 's' | 'h' | 'z' | 't' | 'x' | 'e' | 'n'

/**
 * Called once per event while an entry is applied. `key` is the key's bytes
 * as a latin1 string (one char per byte, as the keyspace holds it). `value`
 * is the key's string value after the change when the event leaves one
 * (set, incrby, append, ...), else null (del, expire, expired, and values
 * that are not strings). Must not throw and must not touch the state machine.
 */
export interface NotifyKeyEvent {
  (event: string, typeClass: KvEventClass, key: string, value: StoredValue | null): void
  /**
   * The same call with the value as `bytes[start, end)` (valid only during
   * the call): a listener that copies the bytes keeps no string per event.
   * Absent: notifyValueBytes makes the string.
   */
  bytes?: (event: string, typeClass: KvEventClass, key: string, bytes: Buffer, start: number, end: number) => void
}

/** What applyOp is given when nobody listens. */
export const NO_KEY_EVENTS: NotifyKeyEvent = () => {}

/** Reports an event whose value is `bytes[start, end)`, as bytes when `notify` takes them. */
export function notifyValueBytes(notify: NotifyKeyEvent, event: string, typeClass: KvEventClass, key: string, bytes: Buffer, start: number, end: number): void {
  if (notify === NO_KEY_EVENTS) return
  if (notify.bytes !== undefined) notify.bytes(event, typeClass, key, bytes, start, end)
  else notify(event, typeClass, key, storedValueOfRange(bytes, start, end))
}

/**
 * Where a state machine sends its events. Calls come synchronously from
 * `apply`, in log order; a sink must be quick (queue, don't write to sockets
 * that may block) and must not throw.
 */
export interface KvEventSink {
  /** One keyspace event of the entry at `index` (an entry may have several, in order). */
  keyEvent(index: number, event: string, typeClass: KvEventClass, key: string, value: StoredValue | null): void
  /**
   * The same with a string value as `bytes[start, end)`, valid only during
   * the call (a SET's value, read from its log entry): a sink that keeps the
   * value copies the bytes, and no string is made per event. `fromEntry`:
   * `bytes` is the whole data of the entry at `index`, a plain SET whose key
   * and value are this event's (PlainSetReader reads them back from it), so
   * a sink may keep the index instead of the bytes.
   */
  keyEventBytes(index: number, event: string, typeClass: KvEventClass, key: string, bytes: Buffer, start: number, end: number, fromEntry: boolean): void
  /** A PUBLISH applied at `index`. */
  message(index: number, channel: Buffer, message: Buffer): void
  /**
   * The state was replaced by a snapshot taken at `index` (installed from
   * the leader): the events of entries up to `index` were never seen here.
   */
  reset(index: number): void
  /**
   * A replicated CONFIG parameter was set by the entry at `index` (CONFIG SET
   * through the log; replicated-config.ts), on every node alike.
   */
  config?(index: number, name: string, value: string): void
}
