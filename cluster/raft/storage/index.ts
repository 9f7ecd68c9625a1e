// Public face of Raft storage: durable segmented WAL + snapshots behind the core's Storage interface.
export { DiskStorage, type DiskStorageOptions, type RecoveryReport } from './disk-storage.js';
export { LogCorruptionError, SnapshotCorruptionError, CompactedError, UnavailableError } from './errors.js';
export { SnapshotStore } from './snapshot-file.js';
export { SegmentedWal, type SegmentInfo } from './segmented-wal.js';
