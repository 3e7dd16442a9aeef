// Structured logs: one JSON line per event (pino), each carrying the node id.
// Every module takes a Logger so tests can pass a silent one.
import { pino, type Logger as PinoLogger } from 'pino'

export type Logger = PinoLogger

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export function createLogger(options: { nodeId?: string; level?: LogLevel } = {}): Logger {
  const base = options.nodeId === undefined ? {} : { node: options.nodeId }
  return pino({ level: options.level ?? 'info', base, timestamp: pino.stdTimeFunctions.isoTime })
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
