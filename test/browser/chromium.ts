// Headless Chromium for page tests: Debian's `chromium` package driven by
// playwright-core (its own browser downloads cannot work offline). Each
// launch gets a fresh profile in a temporary directory, removed on close.
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/** The chromium executable on PATH, or null when the package is not installed. */
export function findChromium(): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'chromium')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return null
}

/** Quiet, offline, no first-run work: a headless browser that talks only to the pages it is sent to. */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface Browser {
  readonly context: BrowserContext
  close(): Promise<void>
}

export async function launchChromium(executablePath: string, viewport = { width: 1280, height: 1000 }): Promise<Browser> {
  // Playwright refuses --user-data-dir in args; a persistent context is how it takes a profile directory.
  const profileDir = mkdtempSync(join(tmpdir(), 'raftkv-chromium-'))
  try {
    const context = await chromium.launchPersistentContext(profileDir, { executablePath, headless: true, args: chromiumArgs, viewport, timeout: 60_000 })
    return {
      context,
      close: async () => {
        await context.close()
        rmSync(profileDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    rmSync(profileDir, { recursive: true, force: true })
    throw err
  }
}
