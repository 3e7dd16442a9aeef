// The NAME=VALUE arguments of the benchmarks' --env and --compare-env flags.

/** `list` as environment variables; throws on an item without a name and an `=`. */
export function envPairs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of list) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new Error(`--env/--compare-env want NAME=VALUE, got ${JSON.stringify(pair)}`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}
