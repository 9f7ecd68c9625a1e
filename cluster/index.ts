// Public face of cluster/: the Raft-replicated event log and its parts.
export * from './log/index.js';
export { DiskStorage, LogCorruptionError, SnapshotCorruptionError } from './raft/storage/index.js';
export { TcpTransport, type PeerAddress, type TlsOptions } from './raft/transport/index.js';
