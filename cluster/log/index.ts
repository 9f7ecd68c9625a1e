// Public face of the replicated log service (the cluster's source of truth).
export {
  ReplicatedLog,
  type ReplicatedLogOptions,
  type CommittedEntry,
  type SnapshotItem,
  type LogItem,
  type LogStatus,
  type PeerStatus,
  encodeAddress,
  decodeAddress,
} from './replicated-log.js';
export { NotLeaderError, LeaderChangedError, LogTimeoutError, LogStoppedError } from './errors.js';
export { LogClientServer, ClientOp } from './client-server.js';
export { LogClient, LogClientError, type ClientResult } from './log-client.js';
export { clusterStatusHandler } from './admin-handler.js';
export { RaftMetrics } from './raft-metrics.js';
