// The repository root, found from the caller's own file whether it runs as
// .ts source or as its compiled copy under dist/ (CI runs the compiled tests),
// for tests that read sources, scripts or write results inside the tree.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the repository root')
    dir = parent
  }
  return dir
}

export const repoRoot = findRepoRoot()
