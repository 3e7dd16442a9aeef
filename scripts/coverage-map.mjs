// tap's coverage-map: which source files each test file's coverage is kept for.
// Unit and simulator tests are measured against lib/. Tests that start real
// node processes (test/cluster, test/jepsen and the few that spawn nodes) are
// not measured (test/replica and test/config start a node in this process, and
// are measured): their children would each write a V8 coverage dump for tap
// to merge, a cost not yet weighed against the 2-minute budget for coverage.
const processTests = [
  /^test\/cluster\//,
  /^test\/jepsen\//,
  /^test\/browser\//,
  /^test\/security\/(client-tls-node|secrets|tls-cluster)\.test\.ts$/,
  /^test\/storage\/crash-recovery\.test\.ts$/,
  /^test\/backup\/backup-cli\.test\.ts$/,
]

export default function coverageMap(testFile) {
  // Tests run as their compiled copies (dist/test/x.test.js); name them by their source.
  const source = testFile.replace(/^dist\//, '').replace(/\.js$/, '.ts')
  return processTests.some((p) => p.test(source)) ? null : 'lib/**/*.ts'
}
