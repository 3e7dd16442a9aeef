// Certificates made at test time with openssl: a cluster CA, node
// certificates it signs (valid for 127.0.0.1 and localhost, usable as server
// and client), and a second, unrelated CA with a certificate of its own. All
// in a temp dir that is removed when the test ends.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CertFiles {
  readonly certPath: string
  readonly keyPath: string
  readonly cert: Buffer
  readonly key: Buffer
}

export interface TestPki {
  readonly dir: string
  readonly caPath: string
  readonly ca: Buffer
  /** Signed by this CA, for `name`. */
  issue(name: string): CertFiles
  /** A different CA, and a certificate it signed. */
  readonly otherCaPath: string
  readonly otherCa: Buffer
  readonly foreign: CertFiles
}

interface Teardown {
  teardown(fn: () => unknown): void
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`])
}

function issueFrom(dir: string, ca: string, name: string): CertFiles {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`])
  const ext = join(dir, `${name}.ext`)
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext])
  const certPath = join(dir, `${name}.crt`)
  const keyPath = join(dir, `${name}.key`)
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) }
}

export function makePki(t: Teardown): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-pki-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  makeCa(dir, 'cluster-ca')
  makeCa(dir, 'other-ca')
  const foreign = issueFrom(dir, 'other-ca', 'stranger')
  return {
    dir,
    caPath: join(dir, 'cluster-ca.crt'),
    ca: readFileSync(join(dir, 'cluster-ca.crt')),
    issue: (name) => issueFrom(dir, 'cluster-ca', name),
    otherCaPath: join(dir, 'other-ca.crt'),
    otherCa: readFileSync(join(dir, 'other-ca.crt')),
    foreign,
  }
}
