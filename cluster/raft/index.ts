// Public face of the Raft consensus core (etcd-raft shape). Storage and transport live in
// ./storage/ and ./transport/ and build on what is exported here.
export * from './types.js';
export {
  type Storage,
  type InitialState,
  ErrCompacted,
  ErrUnavailable,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
  entrySize,
  limitSize,
  emptyConfState,
  emptyHardState,
  isEmptyHardState,
} from './storage.js';
export { MemoryStorage } from './memory-storage.js';
export { RawNode, ErrStepLocalMsg, type RaftStatus, type PeerStatus } from './rawnode.js';
export { Raft, ErrProposalDropped, CAMPAIGN_TRANSFER, newMessage, isLocalMsg, isResponseMsg, type RaftConfig } from './raft.js';
export { encodeConfChange, decodeConfChange, ConfChangeError } from './confchange/index.js';
export { ProgressState } from './tracker/index.js';
export { MajorityConfig, JointConfig, VoteResult } from './quorum/index.js';
