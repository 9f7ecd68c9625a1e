import { encodeConfChange } from './confchange/index.js';
import { ErrProposalDropped, Raft, isLocalMsg, isResponseMsg, newMessage, type RaftConfig } from './raft.js';
import { isEmptyHardState } from './storage.js';
import {
  EntryType,
  MessageType,
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type SoftState,
  type StateRole,
} from './types.js';
import type { ProgressState } from './tracker/index.js';

/** A message from the network is malformed (bad numbers, non-contiguous entries...). */
export class ErrInvalidMessage extends Error {
  override name = 'ErrInvalidMessage';
}

const isIdx = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Rejects what the core must never see; the shell drops such messages (and may log them). */
export function validateMessage(m: Message): void {
  if (!m || typeof m !== 'object') throw new ErrInvalidMessage('not a message');
  if (!(m.type in MessageType) || typeof m.type !== 'number') throw new ErrInvalidMessage(`unknown type ${String(m.type)}`);
  for (const f of ['from', 'to', 'term', 'logTerm', 'index', 'commit', 'rejectHint'] as const) {
    if (!isIdx(m[f])) throw new ErrInvalidMessage(`bad ${f}: ${String(m[f])}`);
  }
  if (m.from === 0) throw new ErrInvalidMessage('message from node 0');
  // Only proposals and read requests forwarded to the leader travel without a term.
  if (m.term === 0 && m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex && !isLocalMsg(m.type)) {
    throw new ErrInvalidMessage(`${MessageType[m.type]} without a term`);
  }
  if (!Array.isArray(m.entries)) throw new ErrInvalidMessage('entries must be an array');
  let prevTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    if (!e || !isIdx(e.term) || !isIdx(e.index) || !(e.data instanceof Uint8Array) || !(e.type in EntryType)) {
      throw new ErrInvalidMessage(`bad entry ${i}`);
    }
    // Appended entries follow the prev index contiguously with non-decreasing terms (§5.3).
    if (m.type === MessageType.App && (e.index !== m.index + 1 + i || e.term < prevTerm || e.term > m.term)) {
      throw new ErrInvalidMessage(`entry ${i} (${e.term}/${e.index}) does not follow ${m.logTerm}/${m.index}`);
    }
    prevTerm = e.term;
  }
  if (m.type === MessageType.Snap) {
    const s = m.snapshot;
    if (!s || !s.metadata || !isIdx(s.metadata.index) || !isIdx(s.metadata.term) || !(s.data instanceof Uint8Array)) {
      throw new ErrInvalidMessage('bad snapshot');
    }
    const c = s.metadata.conf;
    if (!c || ![c.voters, c.learners, c.votersOutgoing, c.learnersNext].every((l) => Array.isArray(l) && l.every((id) => isIdx(id) && id > 0))) {
      throw new ErrInvalidMessage('bad snapshot conf');
    }
    if (m.snapshotOffset !== undefined && !isIdx(m.snapshotOffset)) throw new ErrInvalidMessage('bad snapshot offset');
  }
}

/** A local message type (Hup, Beat, ...) arrived from the network. */
export class ErrStepLocalMsg extends Error {
  override name = 'ErrStepLocalMsg';
  constructor() {
    super('raft: cannot step raft local message');
  }
}

export interface PeerStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  isLearner: boolean;
  inflight: number;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lead: NodeId;
  role: StateRole;
  leadTransferee: NodeId;
  config: ConfState;
  /** Per-member replication progress; only on the leader. */
  progress: Map<NodeId, PeerStatus>;
}

const sameHardState = (a: HardState, b: HardState): boolean =>
  a.term === b.term && a.vote === b.vote && a.commit === b.commit;

/**
 * The thread-unsafe handle a shell drives (etcd RawNode): feed it ticks and messages, take a
 * Ready, persist it, send its messages, apply its committed entries, then advance().
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /** One logical clock tick (the shell calls it every tick interval, e.g. 100 ms). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (a no-op for leaders, learners and non-members). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** Proposes data; throws ErrProposalDropped if no leader can take it now. */
  propose(data: Uint8Array): void {
    this.raft.step(
      newMessage({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
      }),
    );
  }

  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      newMessage({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed ConfChange entry's change; persist the returned ConfState with the snapshot. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feeds a message received from a peer. Malformed messages throw ErrInvalidMessage and
   * local-only types ErrStepLocalMsg (drop them); responses from non-members are ignored
   * (a removed node's late answers); a proposal nobody can take throws ErrProposalDropped.
   */
  step(m: Message): void {
    validateMessage(m);
    if (isLocalMsg(m.type)) throw new ErrStepLocalMsg();
    if (isResponseMsg(m.type) && !this.raft.trk.progress.has(m.from)) return;
    this.raft.step(m);
  }

  /** Requests a linearizable read; a ReadState with the same ctx appears in a later Ready. */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(newMessage({ type: MessageType.ReadIndex, context: ctx }));
  }

  /** Asks the leader to hand leadership to `to` (thesis §3.10). */
  transferLeader(to: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.TransferLeader, from: to }));
  }

  reportUnreachable(id: NodeId): void {
    this.safeStep(newMessage({ type: MessageType.Unreachable, from: id }));
  }

  /** The transport reports whether the last chunk of a snapshot to `id` was delivered. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.safeStep(newMessage({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  private safeStep(m: Message): void {
    try {
      this.raft.step(m);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
    }
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.role !== this.prevSoft.role) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !sameHardState(hs, this.prevHard)) return true;
    if (r.raftLog.unstable.snapshot) return true;
    if (r.msgs.length > 0 || r.raftLog.unstable.entries.length > 0 || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Everything to do now. Messages and read states are handed out once; entries and committed
   * entries are handed out again until advance() is called with this Ready.
   */
  ready(): Ready {
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.unstableEntries(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      readStates: r.readStates,
    };
    r.msgs = [];
    r.readStates = [];
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.role !== this.prevSoft.role) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    const hs = r.hardState();
    if (!sameHardState(hs, this.prevHard)) rd.hardState = hs;
    if (r.raftLog.unstable.snapshot) rd.snapshot = r.raftLog.unstable.snapshot;
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      (rd.hardState !== undefined && (hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote));
    return rd;
  }

  /** The shell persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      r.raftLog.stableTo(last.index, last.term);
    }
    if (rd.snapshot) r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
    if (rd.committedEntries.length > 0) {
      const idx = rd.committedEntries[rd.committedEntries.length - 1].index;
      r.raftLog.appliedTo(idx);
      r.onApplied(idx);
    } else if (rd.snapshot) {
      r.raftLog.appliedTo(rd.snapshot.metadata.index);
    }
  }

  /** The commit index (what status().commit reports, without building the status). */
  committed(): number {
    return this.raft.raftLog.committed;
  }

  /**
   * A peer's acknowledged match index as this leader tracks it (status().progress.get(id).match),
   * without building the status: 0 when not leading or the peer is unknown. Hot path of the shell.
   */
  matchOf(id: NodeId): number {
    if (this.raft.state !== 'leader') return 0;
    return this.raft.trk.progress.get(id)?.match ?? 0;
  }

  /** A peer's replication state as this leader tracks it, or undefined (not leading / unknown peer). */
  progressStateOf(id: NodeId): ProgressState | undefined {
    if (this.raft.state !== 'leader') return undefined;
    return this.raft.trk.progress.get(id)?.state;
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<NodeId, PeerStatus>();
    if (r.state === 'leader') {
      r.trk.visit((id, pr) => {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          inflight: pr.inflights.count,
        });
      });
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.state,
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      progress,
    };
  }
}
