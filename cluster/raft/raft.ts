import { Changer, decodeConfChange, encodeConfChange, restoreConfState } from './confchange/index.js';
import { RaftLog } from './log.js';
import { VoteResult } from './quorum/index.js';
import { ReadOnly } from './read-only.js';
import {
  ErrCompacted,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
  entrySize,
  isEmptyHardState,
  type Storage,
} from './storage.js';
import { ProgressState, ProgressTracker, type ProgressMap, type TrackerConfig } from './tracker/index.js';
import {
  ConfChangeTransition,
  EntryType,
  MessageType,
  NONE,
  StateRole,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
} from './types.js';

export interface RaftConfig {
  id: NodeId;
  storage: Storage;
  /** Ticks without hearing from a leader before campaigning; randomized in [e, 2e) (Raft §5.2). */
  electionTick?: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  heartbeatTick?: number;
  /** Last applied index when restarting (entries up to it are not handed out again). */
  applied?: number;
  /** Upper bound on the entry bytes of one AppendEntries (batching). */
  maxSizePerMsg?: number;
  /** Upper bound on the committed-entry bytes handed out in one Ready. */
  maxCommittedSizePerReady?: number;
  /** Pipelining window: AppendEntries in flight per follower. */
  maxInflightMsgs?: number;
  /** Pipelining window in bytes per follower (0: no byte bound). */
  maxInflightBytes?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout (thesis §6.2). */
  checkQuorum?: boolean;
  /** Pre-election round so a partitioned node cannot inflate terms (thesis §9.6). */
  preVote?: boolean;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /** InstallSnapshot chunk size in bytes. */
  snapshotChunkSize?: number;
  /** Randomness source in [0, 1); inject a seeded PRNG for deterministic runs. */
  random?: () => number;
}

/** A proposal was dropped: no leader known, leadership transfer in progress, or not a member. */
export class ErrProposalDropped extends Error {
  override name = 'ErrProposalDropped';
  constructor(why = 'raft proposal dropped') {
    super(why);
  }
}

/** Marks a Vote/PreVote sent because of a leadership transfer: it overrides the leader lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

const LOCAL_TYPES = new Set<MessageType>([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
]);

export function isLocalMsg(t: MessageType): boolean {
  return LOCAL_TYPES.has(t);
}

export function isResponseMsg(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable ||
    t === MessageType.PreVoteResp ||
    t === MessageType.SnapResp
  );
}

/** A Message with every field defaulted. */
export function newMessage(m: Partial<Message> & { type: MessageType }): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...m,
  };
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

const EMPTY = new Uint8Array(0);

interface SnapshotAssembly {
  index: number;
  term: number;
  /** Chunks by offset: the network may reorder or duplicate them. */
  chunks: Map<number, Uint8Array>;
  /** Known once the last chunk arrived. */
  total: number | undefined;
}

/**
 * The Raft state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", and the thesis "Consensus: Bridging Theory and Practice"). Pure: input is step()
 * and tick(), output accumulates in `msgs`, `readStates` and the log.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  state: StateRole = StateRole.Follower;
  isLearner = false;
  msgs: Message[] = [];
  lead: NodeId = NONE;
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change proposed by this leader; one may be pending at a time. */
  pendingConfIndex = 0;
  readOnly = new ReadOnly();
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  readonly maxMsgSize: number;
  readonly snapshotChunkSize: number;
  readonly disableProposalForwarding: boolean;
  private readonly random: () => number;
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  private snapIn: SnapshotAssembly | undefined;

  constructor(c: RaftConfig) {
    if (!Number.isInteger(c.id) || c.id <= 0) throw new Error('raft: id must be a positive integer');
    this.id = c.id;
    this.heartbeatTimeout = c.heartbeatTick ?? 1;
    this.electionTimeout = c.electionTick ?? 10;
    if (this.heartbeatTimeout <= 0) throw new Error('raft: heartbeatTick must be > 0');
    if (this.electionTimeout <= this.heartbeatTimeout) throw new Error('raft: electionTick must be > heartbeatTick');
    const maxInflight = c.maxInflightMsgs ?? 256;
    if (maxInflight <= 0) throw new Error('raft: maxInflightMsgs must be > 0');
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.snapshotChunkSize = Math.max(1, c.snapshotChunkSize ?? 1024 * 1024);
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.random = c.random ?? Math.random;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.MAX_SAFE_INTEGER);
    this.trk = new ProgressTracker(maxInflight, c.maxInflightBytes ?? 0);

    const { hardState, confState } = c.storage.initialState();
    const [cfg, prs] = restoreConfState(confState, this.raftLog.lastIndex(), maxInflight, c.maxInflightBytes ?? 0);
    this.switchToConfig(cfg, prs);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  // ---- state ------------------------------------------------------------------------------

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.state };
  }

  private loadState(hs: HardState): void {
    // A crash between persisting a snapshot and the hard state that goes with it leaves a
    // commit index below the snapshot: the snapshot is committed by definition, so keep it.
    // A commit index past the log means entries were lost after being acknowledged: refuse.
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(`raft ${this.id}: hardState commit ${hs.commit} is past the last log index ${this.raftLog.lastIndex()}`);
    }
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** A node may campaign only if it is a voter of the configuration it knows (learners never). */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.unstable.snapshot;
  }

  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp
    ) {
      if (m.term === 0) throw new Error(`raft: term should be set when sending ${MessageType[m.type]}`);
    } else if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) {
      // Proposals and read requests forwarded to the leader are local to it (term 0).
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  // ---- replication (leader) ---------------------------------------------------------------

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends entries from the follower's next index, or a snapshot if they were compacted away.
   * Returns whether a message was sent. Batching: one message carries up to maxMsgSize bytes.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (e) {
      if (e instanceof ErrCompacted || e instanceof ErrUnavailable) return this.maybeSendSnapshot(to);
      throw e;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += entrySize(e);
    this.send(
      newMessage({
        type: MessageType.App,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.raftLog.committed,
      }),
    );
    pr.sentEntries(ents.length, bytes);
    return true;
  }

  /** Raft §7 InstallSnapshot, split into chunks of snapshotChunkSize bytes. */
  private maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr) return false;
    // Do not stream a snapshot to a member that does not answer.
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (e instanceof ErrSnapshotTemporarilyUnavailable) return false;
      throw e;
    }
    if (snap.metadata.index === 0) throw new Error(`raft ${this.id}: need non-empty snapshot`);
    pr.becomeSnapshot(snap.metadata.index);
    const size = snap.data.byteLength;
    const chunk = this.snapshotChunkSize;
    for (let off = 0; off === 0 || off < size; off += chunk) {
      const end = Math.min(size, off + chunk);
      this.send(
        newMessage({
          type: MessageType.Snap,
          to,
          snapshot: { metadata: snap.metadata, data: snap.data.subarray(off, end) },
          snapshotOffset: off,
          snapshotDone: end >= size,
        }),
      );
      if (end >= size) break;
    }
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to);
    if (!pr) return;
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(pr.match, this.raftLog.committed);
    const m = newMessage({ type: MessageType.Heartbeat, to, commit });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  /** Commit index advances to what a quorum holds, if that entry is of the current term. */
  maybeCommit(): boolean {
    const before = this.committedEntryInCurrentTerm();
    const ok = this.raftLog.maybeCommit(this.trk.committed(), this.term);
    if (ok && !before) this.releasePendingReadIndexMessages();
    return ok;
  }

  private appendEntry(es: Entry[]): void {
    let li = this.raftLog.lastIndex();
    for (const e of es) {
      e.term = this.term;
      e.index = ++li;
    }
    li = this.raftLog.append(es);
    // The leader's own copy counts toward the quorum; it is persisted before any message is sent.
    this.trk.progress.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
  }

  // ---- role transitions -------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.state = ProgressState.Probe;
      pr.pendingSnapshot = 0;
      pr.msgAppFlowPaused = false;
      pr.recentActive = false;
      pr.inflights.reset();
    });
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateRole.Follower;
  }

  becomeCandidate(): void {
    if (this.state === StateRole.Leader) throw new Error('raft: invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateRole.Candidate;
  }

  becomePreCandidate(): void {
    if (this.state === StateRole.Leader) throw new Error('raft: invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote (thesis §9.6).
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateRole.PreCandidate;
  }

  becomeLeader(): void {
    if (this.state === StateRole.Follower) throw new Error('raft: invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateRole.Leader;
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Conservatively: no conf change until everything before this term is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // Raft §5.4.2 / §8: an empty entry of the new term lets earlier entries commit.
    this.appendEntry([{ term: 0, index: 0, type: EntryType.Noop, data: EMPTY }]);
  }

  private hup(transfer: boolean): void {
    if (this.state === StateRole.Leader) return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    if (this.preVote && !transfer) this.campaign(true, false);
    else this.campaign(false, transfer);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const ents = this.raftLog.slice(
      Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex()),
      this.raftLog.committed + 1,
      Number.MAX_SAFE_INTEGER,
    );
    return ents.some((e) => e.type === EntryType.ConfChange);
  }

  private campaign(pre: boolean, transfer: boolean): void {
    let term: number;
    let voteType: MessageType;
    if (pre) {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign in, not adopted yet
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    const { result } = this.poll(this.id, true);
    if (result === VoteResult.Won) {
      // Single-voter cluster.
      if (pre) this.campaign(false, transfer);
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) continue;
      const m = newMessage({
        type: voteType,
        to: id,
        term,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
      });
      if (transfer) m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private poll(id: NodeId, granted: boolean): { granted: number; rejected: number; result: VoteResult } {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---- input ------------------------------------------------------------------------------

  tick(): void {
    if (this.state === StateRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.CheckQuorum, from: this.id }));
      // Thesis §3.10: a transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateRole.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  step(m: Message): void {
    // Term handling common to every role (Raft §5.1: a higher term always wins).
    if (m.term === 0) {
      // local message, or a proposal / read request forwarded by a follower
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = sameBytes(m.context, CAMPAIGN_TRANSFER);
        // Thesis §4.2.3 / §6.2: while we have a live leader, ignore disruptive candidates.
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Granted pre-votes carry the future term; the term is bumped when the pre-vote wins.
      } else if (
        m.type === MessageType.App ||
        m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        // Raft Figure 2: only an AppendEntries from the current leader, or granting a vote,
        // restarts the election timer — adopting a higher term does not. (etcd restarts it; the
        // simulator found livelocks that way: a candidate that can never win, e.g. with a stale
        // configuration, kept delaying the one voter whose log could win.)
        const elapsed = this.electionElapsed;
        const timeout = this.randomizedElectionTimeout;
        this.becomeFollower(m.term, NONE);
        this.electionElapsed = elapsed;
        this.randomizedElectionTimeout = timeout;
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (e.g. back from a partition) learns the newer term from this response
        // and steps down; without it, with CheckQuorum/PreVote, it could stay stuck forever.
        this.send(newMessage({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote || m.type === MessageType.Vote) {
        // Raft §5.1 / Figure 2: reject a stale candidate with our term so it steps down. (etcd
        // ignores stale votes; the simulator found a livelock that way: a voter with a stale
        // configuration kept out-campaigning the up-to-date candidate it never asked for a vote,
        // which never learned the higher term.)
        const t = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
        this.send(newMessage({ type: t, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const respType = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
        // Raft §5.2: one vote per term; a pre-vote for a future term binds nothing.
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        // Raft §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send(newMessage({ type: respType, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(newMessage({ type: respType, to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        break;
    }
    switch (this.state) {
      case StateRole.Leader:
        this.stepLeader(m);
        break;
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        this.stepCandidate(m);
        break;
      case StateRole.Follower:
        this.stepFollower(m);
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive()) {
          this.becomeFollower(this.term, NONE);
        }
        // Start a new observation window.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case MessageType.Prop:
        this.leaderPropose(m);
        return;
      case MessageType.ReadIndex:
        if (this.trk.isSingleton()) {
          this.respondReadIndex(m, this.raftLog.committed);
          return;
        }
        // Thesis §6.4: the leader's commit index is current only once it committed in its term.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.startReadIndex(m);
        return;
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp: {
        pr.recentActive = true;
        if (m.reject) {
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) {
            // Skip every entry of our log with a term above the follower's conflicting term.
            [nextProbeIdx] = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm);
          }
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        // A follower acknowledges only entries this leader sent it, so never past our last index
        // (committed entries are in every later leader's log, so neither is a follower's commit).
        // Counting such an ack would let a confused or forged peer move match and commit past
        // what any follower holds.
        if (m.index > this.raftLog.lastIndex()) return;
        const oldPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) return;
        if (pr.state === ProgressState.Probe) {
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
          // The follower caught up past the snapshot: resume normal replication.
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) {
          pr.inflights.freeLE(m.index);
        }
        if (this.maybeCommit()) {
          this.bcastAppend();
        } else if (oldPaused) {
          this.sendAppend(m.from);
        }
        // Pipelining: keep the window full.
        while (this.state === StateRole.Leader && this.maybeSendAppend(m.from, false)) {
          /* sent one more batch */
        }
        if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
          this.sendTimeoutNow(m.from);
        }
        return;
      }
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
        if (!m.context || m.context.byteLength === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks) return;
        if (this.trk.config.voters.voteResult(acks) !== VoteResult.Won) return;
        for (const rs of this.readOnly.advance(m.context)) this.respondReadIndex(rs.req, rs.index);
        return;
      }
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for a heartbeat response (or append response) before probing again.
        pr.msgAppFlowPaused = true;
        return;
      case MessageType.Unreachable:
        // Optimistic pipelining assumed delivery; a transport failure means we must probe.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      case MessageType.TransferLeader: {
        if (pr.isLearner) return; // a learner cannot lead
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return;
        // Thesis §3.10: stop accepting proposals, bring the target up to date, then TimeoutNow.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return;
      }
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    if (m.entries.length === 0) throw new Error('raft: stepped empty MsgProp');
    if (!this.trk.progress.has(this.id)) throw new ErrProposalDropped('leader was removed from the configuration');
    if (this.leadTransferee !== NONE) throw new ErrProposalDropped('leadership transfer in progress');
    const es = m.entries.map((e) => ({ ...e }));
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (e.type !== EntryType.ConfChange) continue;
      let cc: ConfChange | undefined;
      try {
        cc = decodeConfChange(e.data);
      } catch {
        cc = undefined;
      }
      const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
      const alreadyJoint = this.trk.config.voters.isJoint;
      const wantsLeaveJoint = cc !== undefined && cc.changes.length === 0;
      // One configuration change at a time (thesis §4.1), and joint states entered/left in order.
      const refused =
        cc === undefined || alreadyPending || (alreadyJoint && !wantsLeaveJoint) || (!alreadyJoint && wantsLeaveJoint);
      if (refused) {
        es[i] = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    this.appendEntry(es);
    this.bcastAppend();
  }

  private startReadIndex(m: Message): void {
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeatWithCtx(m.context);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  private respondReadIndex(req: Message, index: number): void {
    const ctx = req.context ?? EMPTY;
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: ctx });
      return;
    }
    this.send(newMessage({ type: MessageType.ReadIndexResp, to: req.from, index, context: ctx }));
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOr0(this.raftLog.committed) === this.term;
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.state === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw new ErrProposalDropped('no leader');
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const { result } = this.poll(m.from, !m.reject);
        if (result === VoteResult.Won) {
          if (this.state === StateRole.PreCandidate) {
            this.campaign(false, false);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          // A PreVoteResp rejection may carry a higher term; it was handled above.
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) throw new ErrProposalDropped('no leader');
        if (this.disableProposalForwarding) throw new ErrProposalDropped('proposal forwarding disabled');
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) return;
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.TimeoutNow:
        // Thesis §3.10: the leader asks us to start an election now, skipping PreVote.
        this.hup(true);
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) return;
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY });
        return;
      default:
        return;
    }
  }

  // ---- follower handlers ------------------------------------------------------------------

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const last = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: last }));
      return;
    }
    // Fast back-off (Raft §5.3): tell the leader the last index whose term is <= the term it
    // probed with, so it can skip a whole conflicting term in one round trip.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const [hi, ht] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(
      newMessage({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hi, logTerm: ht }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(Math.min(m.commit, this.raftLog.lastIndex()));
    const r = newMessage({ type: MessageType.HeartbeatResp, to: m.from });
    if (m.context) r.context = m.context;
    this.send(r);
  }

  /**
   * Reassembles InstallSnapshot chunks in any arrival order (duplicates ignored); a chunk of a
   * different snapshot starts a new assembly. Nothing is installed until every byte is present.
   */
  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    const off = m.snapshotOffset ?? 0;
    const md = s.metadata;
    let a = this.snapIn;
    if (!a || a.index !== md.index || a.term !== md.term) {
      a = { index: md.index, term: md.term, chunks: new Map(), total: undefined };
      this.snapIn = a;
    }
    if (!a.chunks.has(off)) a.chunks.set(off, s.data);
    if (m.snapshotDone ?? true) a.total = off + s.data.byteLength;
    if (a.total === undefined) return;
    // Complete when the chunks tile [0, total) exactly.
    const offsets = [...a.chunks.keys()].sort((x, y) => x - y);
    let pos = 0;
    for (const o of offsets) {
      if (o > pos) return; // a gap: wait for the missing chunk
      if (o < pos) {
        this.snapIn = undefined; // overlapping chunks: inconsistent, start over on the next send
        return;
      }
      pos += (a.chunks.get(o) as Uint8Array).byteLength;
    }
    if (pos !== a.total) {
      this.snapIn = undefined;
      return;
    }
    this.snapIn = undefined;
    const data = new Uint8Array(a.total);
    for (const o of offsets) data.set(a.chunks.get(o) as Uint8Array, o);
    const snap: Snapshot = { metadata: md, data };
    if (this.restore(snap)) {
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot from the leader; false if it is not newer than what we committed. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateRole.Follower) {
      // Only a leader of this term sends snapshots, and we step down before handling them.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    // The snapshot may predate the ConfChange that added us (the leader compacted before we
    // joined): accept it anyway. Without ourselves in the configuration we cannot campaign;
    // the entries that follow the snapshot carry the change that makes us a member.
    const cs = s.metadata.conf;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the entries: fast-forward the commit index instead.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    const [cfg, prs] = restoreConfState(cs, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(cfg, prs);
    const pr = this.trk.progress.get(this.id);
    if (pr) pr.maybeUpdate(pr.next - 1);
    return true;
  }

  // ---- membership -------------------------------------------------------------------------

  /** Applies a committed ConfChange (called by the shell when it applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    const changer = new Changer(
      this.trk.config,
      this.trk.progress,
      this.raftLog.lastIndex(),
      this.trk.maxInflight,
      this.trk.maxInflightBytes,
    );
    let res: [TrackerConfig, ProgressMap];
    if (cc.changes.length === 0) {
      res = changer.leaveJoint();
    } else {
      const t = cc.transition ?? ConfChangeTransition.Auto;
      const useJoint = t !== ConfChangeTransition.Auto || cc.changes.length > 1;
      if (useJoint) res = changer.enterJoint(t !== ConfChangeTransition.JointExplicit, cc.changes);
      else res = changer.simple(cc.changes);
    }
    return this.switchToConfig(res[0], res[1]);
  }

  private switchToConfig(cfg: TrackerConfig, prs: ProgressMap): ConfState {
    this.trk.config = cfg;
    this.trk.progress = prs;
    const pr = prs.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    const cs = this.trk.confState();
    if ((!pr || this.isLearner) && this.state === StateRole.Leader) {
      // Removed or demoted: stop leading so the remaining voters elect a leader among themselves.
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.state !== StateRole.Leader || cs.voters.length === 0) return cs;
    // The quorum may have shrunk: entries may now be committed.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.trk.config.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  /** Called after entries up to `applied` were applied: auto-leave a joint configuration. */
  onApplied(applied: number): void {
    if (this.trk.config.autoLeave && applied >= this.pendingConfIndex && this.state === StateRole.Leader) {
      const data = encodeConfChange({ changes: [] });
      try {
        this.step(newMessage({ type: MessageType.Prop, from: this.id, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }] }));
      } catch (e) {
        if (!(e instanceof ErrProposalDropped)) throw e;
      }
    }
  }

  // ---- leadership transfer ----------------------------------------------------------------

  private sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: MessageType.TimeoutNow, to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }
}
