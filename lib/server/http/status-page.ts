// GET / : the live status page (README, "The status page"). Three static
// files shipped next to this module in status-page/, read once and served
// from memory. They hold no cluster data, so they are served without the
// bearer token; the page then reads GET /status with it. A strict CSP keeps
// the page to this node: no inline script, nothing fetched from elsewhere.
import { existsSync, readFileSync } from 'node:fs'
import type http from 'node:http'
import { fileURLToPath } from 'node:url'

/** URL path → file in status-page/ and its type. */
const assets: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status-page/page.js': { file: 'page.js', type: 'text/javascript; charset=utf-8' },
  '/status-page/page.css': { file: 'page.css', type: 'text/css; charset=utf-8' },
}

const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // A new release's page is picked up at once; the files are small.
  'Cache-Control': 'no-cache',
}

/**
 * The folder holding the page: next to this module when it runs from
 * source (tap), or lib/server/http/status-page/ of the package when it runs
 * compiled from dist/ (tsc does not copy non-TypeScript files).
 */
function pageDir(): string {
  const candidates = [new URL('./status-page/', import.meta.url), new URL('../../../../lib/server/http/status-page/', import.meta.url)]
  for (const url of candidates) {
    const dir = fileURLToPath(url)
    if (existsSync(`${dir}index.html`)) return dir
  }
  throw new Error(`status page files not found in ${candidates.map((u) => fileURLToPath(u)).join(' or ')}: the package is incomplete`)
}

export interface StatusPage {
  /** Answers the request and returns true when `path` is one of the page's files. */
  serve(method: string, path: string, response: http.ServerResponse): boolean
}

export function loadStatusPage(): StatusPage {
  const dir = pageDir()
  const bodies = new Map<string, { body: Buffer; type: string }>()
  for (const [path, { file, type }] of Object.entries(assets)) bodies.set(path, { body: readFileSync(`${dir}${file}`), type })
  return {
    serve(method, path, response) {
      const asset = bodies.get(path)
      if (asset === undefined || (method !== 'GET' && method !== 'HEAD')) return false
      response.writeHead(200, { ...securityHeaders, 'Content-Type': asset.type, 'Content-Length': asset.body.length })
      response.end(method === 'HEAD' ? undefined : asset.body)
      return true
    },
  }
}

/** Whether `path` belongs to the page (served before the bearer-token check). */
export function isStatusPagePath(path: string): boolean {
  return Object.hasOwn(assets, path)
}
