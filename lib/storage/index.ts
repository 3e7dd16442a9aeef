// The storage layer's public surface: what the runtime and tools import.
export { NodeStorage, storageDefaults, type RecoveredState, type StorageOptions } from './node-storage.js'
export {
  StorageClosedError,
  StorageCorruptionError,
  StorageError,
  StorageFailedError,
  StorageIoError,
  StorageRolledBackError,
  type StorageErrorCode,
} from './errors.js'
export type { FaultInjector, FaultPoint } from './durable-dir.js'
export { nodeFileSystem, type DiskFile, type FileSystem, type OpenMode, type OpenOptions } from './file-system.js'
export { syncedLengthsFileName } from './synced-lengths.js'
export { decodeSnapshotFile, encodeSnapshotFile, type LoadedSnapshot, type SnapshotHeader } from './snapshot-file.js'
