// Test mode for power-loss simulation: remembers, per file in DATA_DIR, its
// length at its last fsync and keeps that map in <dir>/synced-lengths.json.
// A fault test truncates every file back to its recorded length (and deletes
// files missing from the map: they were never fsynced) to get what a disk
// would hold after power loss. Not used in production: it costs a small
// synchronous write per fsync.
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const syncedLengthsFileName = 'synced-lengths.json'

export class SyncedLengths {
  private readonly lengths = new Map<string, number>()
  private readonly path: string

  constructor(dir: string) {
    this.path = join(dir, syncedLengthsFileName)
  }

  synced(name: string, lengthBytes: number): void {
    this.lengths.set(name, lengthBytes)
    this.flush()
  }

  renamed(from: string, to: string): void {
    const length = this.lengths.get(from)
    this.lengths.delete(from)
    if (length !== undefined) this.lengths.set(to, length)
    this.flush()
  }

  removed(name: string): void {
    if (this.lengths.delete(name)) this.flush()
  }

  // Replaced by rename, so a process killed mid-update leaves the previous map, never half of one.
  private flush(): void {
    writeFileSync(this.path + '.tmp', JSON.stringify(Object.fromEntries(this.lengths)) + '\n')
    renameSync(this.path + '.tmp', this.path)
  }
}
