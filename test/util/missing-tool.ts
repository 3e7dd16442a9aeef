// Tests that need a program from a Debian package (redis-cli, redis-server, ...)
// skip when it is missing on a developer's machine, but under CI=true a missing
// tool is a failure: .ci/run installs what the tests need, so a skip there
// would be a test that passes without having run.

/** `missing` is why the tool is unusable, or false when it is usable; returns a tap `skip` value. */
export function skipWhenMissing(missing: string | false): string | false {
  if (missing === false) return false
  if (process.env.CI === 'true') {
    throw new Error(`${missing}: under CI=true this test fails instead of skipping (.ci/run installs the Debian packages tests need)`)
  }
  return missing
}
