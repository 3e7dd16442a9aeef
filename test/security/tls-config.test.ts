// The TLS variables: read and checked at start-up, every mistake one line
// naming the variable.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, parseNodeConfig } from '../../lib/config/node-config.js'
import { makePki } from './tls-certs.js'

const base = {
  NODE_ID: 'n1',
  RAFT_ADDR: '127.0.0.1:7001',
  RESP_ADDR: '127.0.0.1:6381',
  HTTP_ADDR: '127.0.0.1:8001',
  DATA_DIR: '/tmp/unused',
  CLUSTER_SECRET: 'a-long-secret',
}

function configError(env: Record<string, string>): string {
  try {
    parseNodeConfig({ ...base, ...env })
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  return 'no error'
}

t.test('without TLS variables both TLS settings are off', async (t) => {
  const config = parseNodeConfig(base)
  t.equal(config.peerTls, null)
  t.equal(config.clientTls, null)
})

t.test('PEER_TLS_CERT, _KEY and _CA are read into the configuration', async (t) => {
  const pki = makePki(t)
  const node = pki.issue('n1')
  const config = parseNodeConfig({ ...base, PEER_TLS_CERT: node.certPath, PEER_TLS_KEY: node.keyPath, PEER_TLS_CA: pki.caPath })
  t.same(config.peerTls, { cert: node.cert, key: node.key, ca: pki.ca })
})

t.test('PEER_TLS_* must be all three or none', async (t) => {
  const pki = makePki(t)
  const node = pki.issue('n1')
  const message = configError({ PEER_TLS_CERT: node.certPath, PEER_TLS_KEY: node.keyPath })
  t.match(message, /^PEER_TLS_CA must be set too/)
  t.notMatch(message, /\n/)
})

t.test('an unreadable certificate file names the variable and the path', async (t) => {
  const pki = makePki(t)
  const node = pki.issue('n1')
  const message = configError({ PEER_TLS_CERT: '/nonexistent/cert.pem', PEER_TLS_KEY: node.keyPath, PEER_TLS_CA: pki.caPath })
  t.equal(message, 'PEER_TLS_CERT: cannot read /nonexistent/cert.pem: ENOENT')
})

t.test('a file that is not PEM is refused', async (t) => {
  const pki = makePki(t)
  const node = pki.issue('n1')
  const junk = join(pki.dir, 'junk.txt')
  writeFileSync(junk, 'hello')
  t.equal(configError({ CLIENT_TLS_CERT: node.certPath, CLIENT_TLS_KEY: junk }), `CLIENT_TLS_KEY: ${junk} is not a PEM file`)
})

t.test('a key that does not belong to the certificate is refused in one line', async (t) => {
  const pki = makePki(t)
  const a = pki.issue('a')
  const b = pki.issue('b')
  const message = configError({ CLIENT_TLS_CERT: a.certPath, CLIENT_TLS_KEY: b.keyPath })
  t.match(message, /^CLIENT_TLS_CERT and CLIENT_TLS_KEY are not a usable pair: /)
  t.notMatch(message, /\n/)
})

t.test('CLIENT_TLS_CERT and _KEY go together, and CLIENT_TLS_CA needs them', async (t) => {
  const pki = makePki(t)
  const node = pki.issue('n1')
  t.match(configError({ CLIENT_TLS_CERT: node.certPath }), /^CLIENT_TLS_KEY must be set too/)
  t.match(configError({ CLIENT_TLS_CA: pki.caPath }), /^CLIENT_TLS_CA needs CLIENT_TLS_CERT and CLIENT_TLS_KEY/)
})

t.test('client TLS without CLIENT_TLS_CA asks no client certificate', async (t) => {
  const pki = makePki(t)
  const node = pki.issue('n1')
  const config = parseNodeConfig({ ...base, CLIENT_TLS_CERT: node.certPath, CLIENT_TLS_KEY: node.keyPath })
  t.same(config.clientTls, { cert: node.cert, key: node.key, ca: null })
})
