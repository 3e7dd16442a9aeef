// A real node started with CLIENT_TLS_* and REQUIREPASS: redis-cli --tls
// and https clients are served, plaintext ones are not.
import { execFile, execFileSync } from 'node:child_process'
import https from 'node:https'
import t, { type Test } from 'tap'
import { ProcessCluster, runCli, type ProcessNode } from '../cluster/process-cluster.js'
import { skipWhenMissing } from '../util/missing-tool.js'
import { makePki, type TestPki } from './tls-certs.js'

const PASSWORD = 'pw-for-client-tls-node'

function redisCliTls(): string | false {
  try {
    const help = execFileSync('redis-cli', ['--help'], { encoding: 'utf8' })
    return help.includes('--tls') ? false : 'this redis-cli was built without TLS'
  } catch {
    return 'redis-cli is not on PATH (apt-get install redis-tools)'
  }
}

function httpsStatus(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const request = https.get({ host: '127.0.0.1', port, path: '/status', ca, headers: { Authorization: `Bearer ${PASSWORD}` } }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve(body))
    })
    request.on('error', () => resolve(''))
  })
}

function cli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 20_000 }, (_error, stdout) => resolve(stdout))
  })
}

/** One node with CLIENT_TLS_* and REQUIREPASS, leading; stopped at teardown. */
async function startTlsNode(t: Test): Promise<{ pki: TestPki; node: ProcessNode }> {
  const pki = makePki(t)
  const own = pki.issue('n1')
  const cluster = new ProcessCluster({ CLIENT_TLS_CERT: own.certPath, CLIENT_TLS_KEY: own.keyPath, REQUIREPASS: PASSWORD })
  t.teardown(() => cluster.stop())
  const node = await cluster.addNode('n1')
  node.start()
  await cluster.waitFor(async () => (await httpsStatus(node.spec.httpPort, pki.ca)).includes('"role":"leader"'), 'n1 to lead, seen over https')
  return { pki, node }
}

t.test('a node with CLIENT_TLS_* serves redis-cli --tls and https, and not plaintext', { skip: skipWhenMissing(redisCliTls()) }, async (t) => {
  const { pki, node } = await startTlsNode(t)
  const tlsArgs = ['--tls', '--cacert', pki.caPath, '--no-auth-warning', '-a', PASSWORD]
  t.equal(await cli(node.spec.respPort, [...tlsArgs, 'SET', 'k', 'over-tls']), 'OK\n')
  t.equal(await cli(node.spec.respPort, [...tlsArgs, 'GET', 'k']), 'over-tls\n')
  t.not(await cli(node.spec.respPort, ['--no-auth-warning', '-a', PASSWORD, 'GET', 'k']), 'over-tls\n', 'plaintext gets nothing')
  const plain = await fetch(`http://127.0.0.1:${node.spec.httpPort}/health`).then(
    (r) => r.status,
    () => 0,
  )
  t.not(plain, 200, 'plain http gets nothing')
})

t.test('bin/raftkv admin commands speak https to a node with CLIENT_TLS_*', async (t) => {
  const { pki, node } = await startTlsNode(t)
  const target = ['--http', `127.0.0.1:${node.spec.httpPort}`, '--password', PASSWORD]
  const ok = await runCli(['status', ...target, '--https', '--cacert', pki.caPath, '--json'])
  t.equal(ok.code, 0, `status over https succeeds: ${ok.stderr}`)
  t.match(JSON.parse(ok.stdout) as unknown, { id: 'n1', role: 'leader' }, 'and returns the node status')
  const unverified = await runCli(['status', ...target, '--https'])
  t.equal(unverified.code, 1, 'a certificate the CLI cannot verify is refused')
  t.match(unverified.stderr, /cannot reach .* over https/, 'with a clear message')
  const plain = await runCli(['status', ...target])
  t.equal(plain.code, 1, 'plain http to a TLS port fails')
})
