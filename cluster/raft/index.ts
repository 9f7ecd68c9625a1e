// Public face of the Raft consensus core (etcd-raft shape). Storage and transport live in
// ./storage/ and ./transport/ and build on what is exported here.
//
// Driving a RawNode (the shell's loop):
//   on timer: rn.tick()            on message: rn.step(m)  (catch ErrInvalidMessage/ErrStepLocalMsg)
//   if rn.hasReady(): rd = rn.ready()
//     1. persist rd.snapshot (if any), rd.entries (append, overwriting a suffix), rd.hardState;
//        fsync when rd.mustSync — BEFORE any message of rd leaves the node (Raft §5.1, Figure 2)
//     2. send rd.messages; a Snap chunk with snapshotDone: after trying to deliver it call
//        rn.reportSnapshot(to, ok); a peer that cannot be reached: rn.reportUnreachable(to)
//     3. apply rd.snapshot, then rd.committedEntries in order; for EntryType.ConfChange call
//        rn.applyConfChange(decodeConfChange(e.data)) and keep the returned ConfState for snapshots
//     4. serve rd.readStates once applied >= readState.index (linearizable reads)
//     5. rn.advance(rd); do not call ready() again before advance()
//   A new cluster: every founding member starts from storage holding its ConfState (e.g.
//   new MemoryStorage({ voters: [1, 2, 3] }) or a bootstrap snapshot at index 1 term 1).
//   A joining member starts empty and is brought in by a snapshot from the leader.
//   Compaction: storage.createSnapshot(applied, confState, data) then storage.compact(i).
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
export { ErrCommittedConflict } from './log.js';
export { RawNode, ErrStepLocalMsg, ErrInvalidMessage, validateMessage, type RaftStatus, type PeerStatus } from './rawnode.js';
export { Raft, ErrProposalDropped, CAMPAIGN_TRANSFER, newMessage, isLocalMsg, isResponseMsg, type RaftConfig } from './raft.js';
export { encodeConfChange, decodeConfChange, ConfChangeError } from './confchange/index.js';
export { ProgressState } from './tracker/index.js';
export { MajorityConfig, JointConfig, VoteResult } from './quorum/index.js';
