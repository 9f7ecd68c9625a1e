// Shared vocabulary of the Raft core, its storage and its transport (etcd-raft shape).
// The core is pure: it consumes Messages and ticks, and hands out Ready batches.

export type NodeId = number; // > 0; 0 means "none"
export const NONE: NodeId = 0;

export enum EntryType {
  Normal = 0,
  ConfChange = 1, // data = encoded ConfChange
  Noop = 2, // leader's empty entry at the start of its term
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** Persisted before any message depending on it is sent (Raft §5.1 / Figure 2). */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/** Membership: voters, learners, and the outgoing voter set while in joint consensus. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[]; // non-empty only in a joint configuration
  learnersNext: NodeId[]; // voters demoted to learners when leaving joint config
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearner = 2,
}

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

/**
 * How a ConfChange moves between configurations. Auto: one voter change is applied directly,
 * several enter a joint configuration that is left automatically. Joint*: always go through joint
 * consensus; JointExplicit waits for an empty ConfChange to leave it.
 */
export enum ConfChangeTransition {
  Auto = 0,
  JointImplicit = 1,
  JointExplicit = 2,
}

/**
 * One change = one server at a time; several = joint consensus (Raft thesis §4.3).
 * No changes at all = leave the current joint configuration.
 */
export interface ConfChange {
  changes: ConfChangeSingle[];
  transition?: ConfChangeTransition;
  /** ip:port of an added node, so every member learns how to reach it. */
  context?: Uint8Array;
}

export enum MessageType {
  Hup = 0, // local: start an election
  Beat = 1, // local: leader sends heartbeats
  Prop = 2, // propose entries
  App = 3, // AppendEntries
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  PreVote = 7,
  PreVoteResp = 8,
  Snap = 9, // InstallSnapshot (one chunk)
  SnapResp = 10,
  Heartbeat = 11,
  HeartbeatResp = 12,
  TransferLeader = 13,
  TimeoutNow = 14,
  ReadIndex = 15,
  ReadIndexResp = 16,
  Unreachable = 17, // local: transport reports a peer unreachable
  SnapStatus = 18, // local: transport reports a snapshot send result
  CheckQuorum = 19, // local
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  logTerm: number; // term of the entry at `index` (App: prev; Vote: last log term)
  index: number; // App: prev log index; AppResp: last index accepted or rejected hint
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number; // fast back-off: follower's conflict index
  /** Snapshot transfer: one chunk per message, `snapshotOffset` into the data, `snapshotDone` on the last. */
  snapshot?: Snapshot;
  snapshotOffset?: number;
  snapshotDone?: boolean;
  /** ReadIndex request context, echoed back. */
  context?: Uint8Array;
}

export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export enum StateRole {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

export interface SoftState {
  lead: NodeId;
  role: StateRole;
}

/**
 * What the core hands out. The shell must, in order: persist hardState, entries and snapshot
 * (fsync), then send `messages`, then apply `committedEntries`, then call advance().
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[]; // to append to stable storage (may overwrite a suffix)
  snapshot?: Snapshot; // to persist and apply
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** True if hardState or entries changed: the shell must fsync before sending messages. */
  mustSync?: boolean;
}
