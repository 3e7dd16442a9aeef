// Integer tuning variables described once, as a table: each field of a limits
// object names its environment variable, default and allowed range. The
// defaults and the parsing both come from the table, so a limit is written in
// one place (the README's tables list the same rows).
import { ConfigError } from './config-error.js'

/** One integer variable: `name` in the environment, its default and its inclusive range. */
export interface IntVariable {
  readonly name: string
  readonly default: number
  readonly min: number
  readonly max: number
}

export type IntVariables<T> = { readonly [K in keyof T]: IntVariable }

type Env = Readonly<Record<string, string | undefined>>

/** The table's defaults, as a frozen limits object. */
export function intDefaults<T>(table: IntVariables<T>): Readonly<{ [K in keyof T]: number }> {
  const out = {} as { [K in keyof T]: number }
  for (const key of Object.keys(table) as (keyof T)[]) out[key] = table[key].default
  return Object.freeze(out)
}

/** Reads every variable of the table from `env`; a bad value throws a ConfigError naming it. */
export function parseIntVariables<T>(env: Env, table: IntVariables<T>): Readonly<{ [K in keyof T]: number }> {
  const out = {} as { [K in keyof T]: number }
  for (const key of Object.keys(table) as (keyof T)[]) out[key] = parseIntVariable(env, table[key])
  return Object.freeze(out)
}

export function parseIntVariable(env: Env, variable: IntVariable): number {
  const { name, min, max } = variable
  const v = env[name]
  if (v === undefined || v.trim() === '') return variable.default
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${name} must be an integer (got ${JSON.stringify(v)})`)
  const n = Number(v.trim())
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${n})`)
  return n
}
