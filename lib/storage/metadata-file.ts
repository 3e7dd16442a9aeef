// A small durable key/value map for the runtime (cluster id and the like),
// kept in one JSON file with a checksum and replaced atomically. It changes
// rarely, so clarity wins over speed here.
import { crc32c } from '../util/checksum.js'
import type { FileSystem } from './file-system.js'

export const metadataFileName = 'metadata.json'

interface MetadataFile {
  crc32c: number
  entries: Record<string, string>
}

export function encodeMetadata(entries: ReadonlyMap<string, string>): Buffer {
  const body = JSON.stringify(Object.fromEntries(entries))
  const file: MetadataFile = { crc32c: crc32c(Buffer.from(body)), entries: JSON.parse(body) as Record<string, string> }
  return Buffer.from(JSON.stringify(file) + '\n')
}

/** The stored map, null when the file is absent, or the reason it is unusable. */
export async function readMetadataFile(fs: FileSystem, path: string): Promise<Map<string, string> | null | string> {
  let text: string
  try {
    text = (await fs.readFile(path)).toString('utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  try {
    const file = JSON.parse(text) as MetadataFile
    const body = JSON.stringify(file.entries)
    if (crc32c(Buffer.from(body)) !== file.crc32c) return 'checksum mismatch'
    const map = new Map<string, string>()
    for (const [key, value] of Object.entries(file.entries)) {
      if (typeof value !== 'string') return `value of ${key} is not a string`
      map.set(key, value)
    }
    return map
  } catch (error) {
    return `unparsable: ${String(error)}`
  }
}
