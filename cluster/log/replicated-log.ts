// The replicated log service: drives the pure Raft core with a real clock, durable storage and the
// TCP transport, and offers append / subscribe / readIndex / membership / leadership transfer.
//
// The Ready loop follows the core's contract (etcd-raft): persist hard state + entries + snapshot
// (one fsync for the whole batch), only then send messages (Raft §5.1: a vote or an ack must not
// leave before what it promises is durable), then apply committed entries, then advance. Proposals
// arriving while a batch is being fsynced accumulate in the core and ride the next batch, so the
// fsync cost is shared by every concurrent writer (group commit).
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { ConfChangeError, RawNode, decodeConfChange, encodeConfChange } from '../raft/index.js';
import { sortSmallAscending } from '../raft/quorum/index.js';
import { DiskStorage } from '../raft/storage/index.js';
import { TcpTransport, type PeerAddress, type TlsOptions } from '../raft/transport/index.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  StateRole,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
} from '../raft/types.js';
import { LeaderChangedError, LogStoppedError, LogTimeoutError, NotLeaderError } from './errors.js';
import { unwrap, wrap } from './proposal-envelope.js';
import { CommitTrace } from './commit-trace.js';
import { RaftMetrics } from './raft-metrics.js';

export interface ReplicatedLogOptions {
  id: NodeId;
  dataDir: string;
  /** Member transport listen address (port 0: any free port). */
  listen: PeerAddress;
  /** Other members and how to reach them. Used to bootstrap a fresh log; ignored on restart except for addresses. */
  peers?: Map<NodeId, PeerAddress>;
  /** Start without bootstrapping a configuration (a node that will be added as a learner). */
  join?: boolean;
  /** Raft clock period (default 50 ms: heartbeat every tick, election timeout 10-20 ticks, etcd-like). */
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  appendTimeoutMs?: number;
  /** How long a follower waits for a leader to appear before failing an append with NotLeader. */
  leaderWaitMs?: number;
  fsync?: boolean;
  segmentBytes?: number;
  tls?: TlsOptions;
  cluster?: string;
  registry?: Registry;
  /**
   * Called when a snapshot newer than the stored one is needed: a node was added after the last
   * compaction, so the stored snapshot cannot be installed on it (its configuration lacks the node).
   * The application answers by calling compact(applied, state) soon.
   */
  onSnapshotNeeded?: () => void;
  /**
   * How long a leader holds a commit-only AppendEntries (no entries, follower in steady replication)
   * hoping the next append carries the new commit index instead (default 5 ms; 0 = send at once).
   */
  commitNotifyDelayMs?: number;
  /**
   * Ask for a snapshot (onSnapshotNeeded) once this many applied entries are retained since the
   * last one: the log keeps every entry after the snapshot in memory. Default 200,000.
   */
  snapshotEntries?: number;
  /**
   * Called once the log has stopped itself after a storage failure (a failed write or fsync: the
   * file state is unknown, so serving on could acknowledge data that is not durable). A process
   * hosting the log should exit non-zero so its supervisor restarts it and recovery reads the disk.
   */
  onHalt?: (reason: Error) => void;
}

export interface CommittedEntry {
  kind: 'entry';
  index: number;
  term: number;
  data: Uint8Array;
}

/**
 * What a subscriber gets in place of entries compacted away: the application state as of `index`
 * (the data given to compact(), or installed from the leader). The entries that follow start at
 * index + 1, so state + later entries rebuild exactly what replaying from 1 would have.
 */
export interface SnapshotItem {
  kind: 'snapshot';
  index: number;
  term: number;
  data: Uint8Array;
}

export type LogItem = CommittedEntry | SnapshotItem;

export interface PeerStatus {
  id: NodeId;
  match: number;
  next: number;
  lag: number;
  state: string;
  learner: boolean;
  connected: boolean;
}

export interface LogStatus {
  id: NodeId;
  role: StateRole;
  term: number;
  leader: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  members: { voters: NodeId[]; learners: NodeId[]; votersOutgoing: NodeId[] };
  peers: PeerStatus[];
  /** Messages the core refused since start (malformed, or from non-members). */
  rejectedMessages: number;
}

interface AppendWaiter {
  remaining: number;
  index: number;
  term: number;
  resolve: (r: { index: number; term: number }) => void;
  reject: (e: Error) => void;
  /** performance.now() after which the append fails with LogTimeoutError. */
  deadline: number;
  timeoutMs: number;
  seqs: number[];
  /**
   * The term its entries were proposed in (here as leader, or by the leader they were forwarded to,
   * which proposes forwarded data only in that term). Raft logs are term-ordered, so once an entry
   * of a later term is applied while these are not, they can never commit (supersedeAppends).
   */
  proposedTerm: number;
  /** False once a snapshot was installed while it waited: its outcome is unknown then. */
  supersedable: boolean;
  /** The wrapped entries, by position in seqs: proposed again if their term ends first. */
  data: Buffer[];
  /** How often they were proposed again (see supersedeAppends). */
  resubmits: number;
  /** Resolved or rejected: the deadline sweep skips it. */
  settled: boolean;
  started: number;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const EMPTY = new Uint8Array(0);
/** Times an append is proposed again after its term ended before it committed (supersedeAppends). */
const MAX_RESUBMITS = 3;

export class ReplicatedLog {
  readonly id: NodeId;
  readonly metrics: RaftMetrics;
  readonly registry: Registry;
  private storage!: DiskStorage;
  private transport!: TcpTransport;
  private node!: RawNode;
  private ticker: NodeJS.Timeout | undefined;
  private readonly incarnation = randomInt(0, 2 ** 32 - 1);
  private seq = 0;
  private readonly appendWaiters = new Map<number, AppendWaiter>();
  /**
   * Append waiters in deadline order (one timeout for all of them, so FIFO is deadline order),
   * swept by one timer instead of a setTimeout/clearTimeout pair per append.
   */
  private appendDeadlines: Array<AppendWaiter | undefined> = [];
  private appendDeadlineHead = 0;
  private appendSweepTimer: NodeJS.Timeout | undefined;
  private readonly readWaiters = new Map<string, Waiter<number>>();
  private readonly readsAwaitingApply: Array<{ index: number; w: Waiter<number> }> = [];
  private confWaiters: Array<Waiter<ConfState>> = [];
  private readonly leaderWaiters = new Set<() => void>();
  private readonly subscribers = new Set<() => void>();
  private readonly addresses = new Map<NodeId, PeerAddress>();
  private confState!: ConfState;
  private applied = 0;
  /** Term of the last applied entry (see supersedeAppends). */
  private appliedTerm = 0;
  private commit = 0;
  private leader: NodeId = 0;
  private role: StateRole = StateRole.Follower;
  private term = 0;
  private driving = false;
  private again = false;
  private scheduled = false;
  private stopped = false;
  private readCtxSeq = 0;
  private afterAdvance: Array<() => void> = [];
  /** Last log index known fsynced on this node. */
  private durableLast = 0;
  /** Leader WAL writes started by a pipelined Ready and not yet durable (see handleReady). */
  private savesInFlight = 0;
  /** Settles once every pipelined write started so far is durable (the WAL flushes in order). */
  private saveChain: Promise<void> = Promise.resolve();
  /** Last index the core was told is applied (advance() with committed entries). */
  private coreApplied = 0;
  /** Highest commit index seen durable on a quorum (a follower may always be told this much). */
  private safeCommit = 0;
  private readonly durableScratch: number[] = [];
  /** Commit-only AppendEntries held back per follower (see sendMessages). */
  private readonly deferredCommit = new Map<NodeId, Message>();
  private commitTimer: NodeJS.Timeout | undefined;
  /** Stage timings of appends (SIPHON_RAFT_TRACE=1 only). */
  readonly trace = new CommitTrace();
  /** Index of the last applied membership change. */
  private lastConfIndex = 0;
  /** The Ready path is inside apply() (possibly awaiting a membership write). */
  private applying = false;
  private nextSnapshotAsk = 0;
  /** Messages the core refused (malformed / from non-members); exposed in status(). */
  rejectedMessages = 0;

  constructor(private readonly opts: ReplicatedLogOptions) {
    this.id = opts.id;
    this.registry = opts.registry ?? new Registry();
    this.metrics = new RaftMetrics(this.registry, () => ({ term: this.term, commit: this.commit, applied: this.applied }));
  }

  /** Opens storage (recovering it), starts the transport and the clock. Returns the member port. */
  async start(): Promise<number> {
    const o = this.opts;
    this.storage = await DiskStorage.open(path.join(o.dataDir, 'raft'), { fsync: o.fsync, segmentBytes: o.segmentBytes });
    const init = this.storage.initialState();
    const fresh = this.storage.lastIndex() === 0 && init.hardState.term === 0 && init.confState.voters.length === 0;
    if (fresh && !o.join) await this.bootstrap();
    this.confState = this.storage.initialState().confState;
    for (const [id, a] of o.peers ?? []) if (id !== o.id) this.addresses.set(id, a);
    this.applied = this.storage.snapshot().metadata.index;
    this.appliedTerm = this.storage.snapshot().metadata.term;
    this.durableLast = this.storage.lastIndex();
    this.commit = this.storage.initialState().hardState.commit;
    this.node = new RawNode({
      id: o.id,
      storage: this.storage,
      electionTick: o.electionTicks ?? 10,
      heartbeatTick: o.heartbeatTicks ?? 1,
      applied: this.applied,
      checkQuorum: true,
      preVote: true,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      maxCommittedSizePerReady: 16 * 1024 * 1024,
      // The shell forwards proposals itself, pinned to the leader's term (onForward); the core's
      // forwarding would let a later leader propose them in a later term, so an append already
      // proposed again or failed as superseded (supersedeAppends) could commit twice.
      disableProposalForwarding: true,
    });
    // Reconnect back-off capped at half the shortest election timeout: a link that comes back is
    // retried before anyone's election timer runs out. With the transport's 2 s default, a member
    // cut off for a few seconds stayed dark for 1-2 s after the network healed (measured 1.0-1.5 s,
    // test/integration/raft/rejoin.test.ts), and so did a leader's quorum that needed it. A refused
    // connect attempt every 250 ms to a member that is down costs next to nothing. A connection
    // that silently stopped carrying (dropped packets) is replaced after an election timeout
    // (staleMs, see transport/peer-link.ts) instead of waiting out TCP's retransmission back-off.
    // That assumes a round trip well under the election timeout, which Raft needs anyway (§5.6).
    const electionMs = (o.tickMs ?? 50) * (o.electionTicks ?? 10);
    const backoffMaxMs = Math.max(50, Math.min(2000, Math.floor(electionMs / 2)));
    this.transport = new TcpTransport(
      { id: o.id, listen: o.listen, peers: new Map(this.addresses), tls: o.tls, cluster: o.cluster, backoffMaxMs, staleMs: electionMs },
      {
        onMessages: (msgs) => this.onMessages(msgs),
        onForward: (_from, data, term) => this.onForward(data, term),
        onUnreachable: (peer) => {
          if (this.role === StateRole.Leader && !this.stopped) this.node.reportUnreachable(peer);
        },
      },
    );
    const port = await this.transport.start();
    this.ticker = setInterval(() => {
      this.node.tick();
      this.kick();
    }, o.tickMs ?? 50);
    // A lone voter need not wait an election timeout to lead (the embedded single-member default).
    if (this.confState.voters.length === 1 && this.confState.voters[0] === o.id) this.node.campaign();
    this.kick();
    return port;
  }

  // ---------------------------------------------------------------- public API

  /**
   * Appends entries; resolves with the index/term of the last once committed and applied on this
   * node. A leader change while it waits is ridden through (the entries are proposed again in the
   * new term when the old copy provably cannot commit). Errors: NotLeader / LeaderChanged — not
   * appended, retry (at `leader`); Timeout — outcome unknown, it may still commit; Stopped.
   */
  async append(entries: Uint8Array[]): Promise<{ index: number; term: number }> {
    if (this.stopped) throw new LogStoppedError();
    if (entries.length === 0) return { index: this.commit, term: this.term };
    const started = performance.now();
    const timeoutMs = this.opts.appendTimeoutMs ?? 5000;
    if (this.role !== StateRole.Leader && this.leader === 0) await this.waitForLeader();
    const wrapped: Buffer[] = [];
    const seqs: number[] = [];
    for (const e of entries) {
      const seq = (this.seq = (this.seq + 1) >>> 0);
      seqs.push(seq);
      wrapped.push(wrap({ origin: this.id, incarnation: this.incarnation, seq }, e));
    }
    return new Promise((resolve, reject) => {
      const w: AppendWaiter = {
        remaining: entries.length,
        index: 0,
        term: 0,
        resolve,
        reject,
        started,
        deadline: started + timeoutMs,
        timeoutMs,
        seqs,
        proposedTerm: this.node.raft.term,
        supersedable: true,
        data: wrapped,
        resubmits: 0,
        settled: false,
      };
      for (const s of seqs) this.appendWaiters.set(s, w);
      this.trackAppendDeadline(w);
      const fail = (e: Error): void => this.failAppend(w, e);
      if (this.role === StateRole.Leader) {
        try {
          for (const d of wrapped) this.node.propose(d);
          this.trace.proposed(wrapped.length);
        } catch {
          fail(new NotLeaderError(this.leader === this.id ? 0 : this.leader));
          return;
        }
        this.kick();
      } else if (this.leader !== 0) {
        const to = this.leader;
        // Never written (the link to the leader did not come up): certainly not appended, say so now.
        const unsent = (): void => {
          if (w.resubmits === 0) fail(new NotLeaderError(to));
        };
        if (!this.transport.forward(to, wrapped, w.proposedTerm, unsent)) fail(new NotLeaderError(to));
      } else {
        fail(new NotLeaderError(0));
      }
    });
  }

  /**
   * Committed client entries from `fromIndex` on, live; ends when the log stops. Where the entries
   * a subscriber needs were compacted into a snapshot (asked for before the first retained index,
   * or overtaken by a compaction while it lagged), it first gets that snapshot, then the entries
   * after it: a projection rebuilt from a compacted log loses nothing.
   */
  async *subscribe(fromIndex = 1): AsyncGenerator<LogItem> {
    let next = Math.max(fromIndex, 1);
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    this.subscribers.add(notify);
    try {
      while (!this.stopped) {
        if (next < this.storage.firstIndex()) {
          const snap = this.storage.snapshot();
          next = snap.metadata.index + 1;
          yield { kind: 'snapshot', index: snap.metadata.index, term: snap.metadata.term, data: snap.data };
          continue;
        }
        if (next <= this.applied) {
          const batch = this.storage.entries(next, Math.min(this.applied, next + 1023) + 1, 4 * 1024 * 1024);
          for (const e of batch) {
            next = e.index + 1;
            const c = toClientEntry(e);
            if (c) yield c;
          }
          continue;
        }
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      this.subscribers.delete(notify);
    }
  }

  /** The first index still in the log (entries below it were compacted into the snapshot). */
  firstIndex(): number {
    return this.storage.firstIndex();
  }

  /**
   * Committed client entries in [from, from+limit) that are applied here (a bounded read). Entries
   * below firstIndex() are gone into the snapshot: the read starts there (subscribe() yields the
   * snapshot itself).
   */
  readCommitted(from: number, limit: number): CommittedEntry[] {
    const lo = Math.max(from, this.storage.firstIndex());
    const hi = Math.min(this.applied + 1, lo + limit);
    if (lo >= hi) return [];
    const out: CommittedEntry[] = [];
    for (const e of this.storage.entries(lo, hi, Number.MAX_SAFE_INTEGER)) {
      const c = toClientEntry(e);
      if (c) out.push(c);
    }
    return out;
  }

  /** Linearizable read barrier (Raft §6.4): resolves with an index; state applied up to it is current. */
  readIndex(timeoutMs = this.opts.appendTimeoutMs ?? 5000): Promise<number> {
    if (this.stopped) return Promise.reject(new LogStoppedError());
    const ctx = Buffer.allocUnsafe(12);
    ctx.writeUInt32BE(this.id, 0);
    ctx.writeUInt32BE(this.incarnation, 4);
    ctx.writeUInt32BE((this.readCtxSeq = (this.readCtxSeq + 1) >>> 0), 8);
    const key = ctx.toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readWaiters.delete(key);
        reject(new LogTimeoutError('readIndex', timeoutMs));
      }, timeoutMs);
      this.readWaiters.set(key, { resolve, reject, timer });
      try {
        this.node.readIndex(ctx);
      } catch (e) {
        clearTimeout(timer);
        this.readWaiters.delete(key);
        reject(new NotLeaderError(this.leader));
        return;
      }
      this.kick();
    });
  }

  /** Hands leadership to `to` (default: the most caught-up voter). Resolves once `to` leads. */
  async transferLeadership(to?: NodeId, timeoutMs = 5000): Promise<NodeId> {
    if (this.role !== StateRole.Leader) throw new NotLeaderError(this.leader);
    const target = to ?? this.bestTransferTarget();
    if (!target) throw new Error('no other voter to transfer leadership to');
    if (target === this.id) return this.id;
    this.node.transferLeader(target);
    this.kick();
    const end = Date.now() + timeoutMs;
    while (this.leader !== target) {
      if (Date.now() > end) throw new LogTimeoutError(`leadership transfer to ${target}`, timeoutMs);
      await new Promise((r) => setTimeout(r, 5));
      if (this.stopped) throw new LogStoppedError();
    }
    return target;
  }

  addLearner(id: NodeId, address: PeerAddress): Promise<ConfState> {
    return this.changeConf({ changes: [{ type: ConfChangeType.AddLearner, nodeId: id }], context: encodeAddress(address) });
  }

  /** Promotes a learner to a voter (it should have caught up; see status().peers[].lag). */
  promote(id: NodeId): Promise<ConfState> {
    const a = this.addresses.get(id);
    return this.changeConf({ changes: [{ type: ConfChangeType.AddNode, nodeId: id }], context: a ? encodeAddress(a) : undefined });
  }

  remove(id: NodeId): Promise<ConfState> {
    return this.changeConf({ changes: [{ type: ConfChangeType.RemoveNode, nodeId: id }] });
  }

  status(): LogStatus {
    const st = this.node.status();
    const last = this.storage.lastIndex();
    const peers: PeerStatus[] = [];
    if (st.progress) {
      for (const [id, p] of st.progress) {
        if (id === this.id) continue;
        peers.push({
          id,
          match: p.match,
          next: p.next,
          lag: Math.max(0, last - p.match),
          state: p.state,
          learner: p.isLearner,
          connected: this.transport.isConnected(id),
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      commit: this.commit,
      applied: this.applied,
      lastIndex: last,
      firstIndex: this.storage.firstIndex(),
      members: {
        voters: [...this.confState.voters],
        learners: [...this.confState.learners],
        votersOutgoing: [...this.confState.votersOutgoing],
      },
      peers,
      rejectedMessages: this.rejectedMessages,
    };
  }

  /** JSON body for GET /admin/cluster. */
  statusJson(): string {
    return JSON.stringify(this.status());
  }

  /** The application state carried by the latest snapshot (installed from the leader or taken here). */
  snapshotData(): Uint8Array {
    return this.storage.snapshot().data;
  }

  /** Snapshots the application state at `index` (≤ applied) and compacts the log below it. */
  async compact(index: number, state: Uint8Array): Promise<void> {
    if (index > this.applied) throw new Error(`cannot snapshot at ${index}: applied is ${this.applied}`);
    // The snapshot records the membership as of `index`; a change applied after it would be lost.
    if (index < this.lastConfIndex) throw new Error(`cannot snapshot at ${index}: membership changed at ${this.lastConfIndex}`);
    await this.storage.createSnapshot(index, this.confState, state);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    while (this.driving) await new Promise((r) => setTimeout(r, 1));
    await this.saveChain.catch(() => undefined);
    const err = new LogStoppedError();
    for (const w of new Set(this.appendWaiters.values())) this.failAppend(w, err);
    this.appendWaiters.clear();
    if (this.appendSweepTimer) clearTimeout(this.appendSweepTimer);
    this.appendSweepTimer = undefined;
    this.appendDeadlines = [];
    this.appendDeadlineHead = 0;
    for (const w of this.readWaiters.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.readWaiters.clear();
    for (const w of this.confWaiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.confWaiters = [];
    for (const s of this.subscribers) s();
    for (const l of this.leaderWaiters) l();
    await this.transport.stop();
    await this.storage.close();
    if (this.trace.enabled) process.stderr.write(`${JSON.stringify({ raftTrace: this.id, ...this.trace.summary() })}\n`);
  }

  // ---------------------------------------------------------------- internals

  /**
   * A fresh member of the initial cluster writes the same AddNode entries (index 1..n, term 1,
   * committed) that every other initial member writes, like etcd's Bootstrap: a node that joins
   * later replays them and learns the initial membership and addresses from the log itself.
   * Re-applying them is harmless (adding a present voter changes nothing).
   */
  private async bootstrap(): Promise<void> {
    const o = this.opts;
    const voters = [o.id, ...[...(o.peers?.keys() ?? [])].filter((p) => p !== o.id)].sort((a, b) => a - b);
    const ents: Entry[] = voters.map((v, i) => {
      const addr = o.peers?.get(v) ?? (v === o.id && o.listen.port !== 0 ? o.listen : undefined);
      const cc: ConfChange = { changes: [{ type: ConfChangeType.AddNode, nodeId: v }], context: addr ? encodeAddress(addr) : undefined };
      return { term: 1, index: i + 1, type: EntryType.ConfChange, data: encodeConfChange(cc) };
    });
    await this.storage.save({ term: 1, vote: 0, commit: ents.length }, ents);
    await this.storage.setConfState({ voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
  }

  private onMessages(msgs: Message[]): void {
    if (this.stopped) return;
    for (const m of msgs) {
      if (this.trace.enabled && m.type === MessageType.AppResp && !m.reject) this.trace.peerAck(m.from, m.index);
      if (this.trace.enabled && m.type === MessageType.App && m.entries.length > 0) this.trace.followerReceived();
      try {
        this.node.step(m);
      } catch (e) {
        // A malformed or unexpected message: the core refuses it, the node lives on (and says so).
        this.rejectedMessages++;
        if (this.rejectedMessages <= 10 || this.rejectedMessages % 1000 === 0) {
          process.emitWarning(`raft node ${this.id}: message type ${m.type} from ${m.from} refused (${this.rejectedMessages} so far): ${(e as Error).message}`);
        }
      }
    }
    this.leaderFastApply();
    this.kick();
  }

  private onForward(data: Uint8Array[], term: number): void {
    if (this.stopped || this.role !== StateRole.Leader) return; // the origin times out and retries
    // Forwarded for an earlier term (a stale frame, e.g. held up by the network while this node was
    // re-elected): the origin proposes it again (or fails it) once it applies a later term's
    // entries, so proposing this copy too could commit it twice.
    if (term !== 0 && term !== this.node.raft.term) return;
    try {
      for (const d of data) this.node.propose(d);
      this.trace.proposed(data.length);
    } catch {
      return;
    }
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drive();
    });
  }

  private async drive(): Promise<void> {
    if (this.driving) {
      this.again = true;
      return;
    }
    this.driving = true;
    try {
      do {
        this.again = false;
        while (!this.stopped && this.node.hasReady()) {
          const rd = this.node.ready();
          await this.handleReady(rd);
          if (rd.committedEntries.length > 0) {
            this.coreApplied = Math.max(this.coreApplied, rd.committedEntries[rd.committedEntries.length - 1].index);
          }
          this.node.advance(rd);
          if (this.afterAdvance.length > 0) {
            const fns = this.afterAdvance;
            this.afterAdvance = [];
            for (const f of fns) f();
          }
        }
      } while (this.again && !this.stopped);
    } catch (e) {
      // Storage failure (e.g. fsync error): continuing could ack data that is not durable.
      if (!this.stopped) this.halt(e as Error);
    } finally {
      this.driving = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.role);
    if (rd.hardState) this.term = rd.hardState.term;
    // Raft thesis §10.2.1: a leader may replicate to followers while it writes its own disk. Safe
    // here because the loop is serial: any message carrying a commit index, and any client ack, comes
    // from a later Ready, i.e. after the entries it covers are durable on the leader too. Votes,
    // term changes and snapshots keep the strict order (persist, then send).
    const init = this.storage.savedHardState();
    const leaderParallel =
      this.role === StateRole.Leader &&
      !rd.snapshot &&
      (!rd.hardState || (rd.hardState.term === init.term && rd.hardState.vote === init.vote));
    // Also after stepping down: the Ready may still carry AppendEntries queued while leading.
    this.clampCommit(rd.messages);
    if (leaderParallel) this.sendMessages(rd.messages);
    if (this.trace.enabled && this.role === StateRole.Leader && rd.entries.length > 0) {
      this.trace.sent(rd.entries[0].index, rd.entries[rd.entries.length - 1].index);
    }
    if (leaderParallel && this.canPipeline(rd)) {
      this.pipelineReady(rd);
      return;
    }
    // Anything below runs in the strict order: earlier pipelined writes first.
    if (this.savesInFlight > 0) await this.saveChain;
    if (this.applied < this.coreApplied && !this.stopped) await this.applyFromStorage(this.coreApplied);
    // Committed entries already durable here (from earlier Readys) are applied, and their clients
    // acked, before this Ready's fsync: they are on a quorum's disks, ours included, so their acks
    // need not wait for the newer entries' flush. A follower with no append of its own waiting
    // flushes and answers first instead (the leader's commit waits for that answer), applying after.
    let committed = rd.committedEntries;
    const ackFirst = this.role === StateRole.Leader || this.appendWaiters.size > 0;
    if (ackFirst && !rd.snapshot && committed.length > 0 && committed[0].index <= this.durableLast) {
      let n = 0;
      while (n < committed.length && committed[n].index <= this.durableLast) n++;
      await this.apply(committed.slice(0, n));
      committed = committed.slice(n);
    }
    if (rd.hardState || rd.entries.length > 0 || rd.snapshot) {
      await this.storage.save(rd.hardState, rd.entries, rd.snapshot, rd.mustSync ?? true);
      if (rd.entries.length > 0 && this.role !== StateRole.Leader) this.trace.followerWritten();
      if (rd.snapshot) this.durableLast = rd.snapshot.metadata.index;
      if (rd.entries.length > 0) {
        this.durableLast = rd.entries[rd.entries.length - 1].index;
        this.trace.durable(this.durableLast);
        this.leaderFastApply();
      }
    }
    if (rd.snapshot) {
      // An installed snapshot replaces the log below it, membership included. Addresses of members
      // added before the snapshot are not in it: a joining node gets them from its --peers.
      this.applied = Math.max(this.applied, rd.snapshot.metadata.index);
      this.confState = rd.snapshot.metadata.conf;
      // Entries inside the snapshot are never applied one by one: an append waiting now may have
      // committed in it, unseen, so a later term no longer proves it did not (it times out instead).
      for (const w of this.appendWaiters.values()) w.supersedable = false;
      this.appliedTerm = Math.max(this.appliedTerm, rd.snapshot.metadata.term);
      for (const s of this.subscribers) s();
    }
    if (!leaderParallel) this.sendMessages(rd.messages);
    if (this.trace.enabled && rd.messages.some((m) => m.type === MessageType.AppResp)) this.trace.followerAnswered();
    if (committed.length > 0) await this.apply(committed);
    this.resolveReads(rd);
    // Pipelined writes that landed while apply() ran could not apply then.
    this.leaderFastApply();
  }

  /**
   * Each commit advance makes the core broadcast an empty AppendEntries carrying the new commit
   * index, which every follower answers: two extra round trips' worth of wake-ups per write at low
   * concurrency, on a box where CPU is the scarce resource. A follower needs the commit index only
   * to apply (the client was acked by the leader already), so for a follower in steady replication
   * the notice waits commitNotifyDelayMs for the next AppendEntries or heartbeat, which carries the
   * commit index anyway, and is sent on its own only if none comes.
   */
  private sendMessages(msgs: Message[]): void {
    const delay = this.opts.commitNotifyDelayMs ?? 5;
    let out = msgs;
    if (this.role === StateRole.Leader && delay > 0) {
      out = [];
      for (const m of msgs) {
        if (m.type === MessageType.App && m.entries.length === 0) {
          if (this.node.progressStateOf(m.to) === 'replicate') {
            this.deferredCommit.set(m.to, m);
            continue;
          }
        }
        if (m.type === MessageType.App || m.type === MessageType.Heartbeat) {
          const d = this.deferredCommit.get(m.to);
          if (d && m.commit >= d.commit) this.deferredCommit.delete(m.to);
        }
        out.push(m);
      }
      if (this.deferredCommit.size > 0 && !this.commitTimer) {
        this.commitTimer = setTimeout(() => this.flushDeferredCommit(), delay);
      }
    }
    this.transport.send(out);
    for (const m of out) {
      if (m.type === MessageType.Snap && m.snapshotDone) this.node.reportSnapshot(m.to, this.transport.isConnected(m.to));
    }
  }

  private flushDeferredCommit(): void {
    this.commitTimer = undefined;
    if (this.deferredCommit.size === 0) return;
    const msgs = [...this.deferredCommit.values()];
    this.deferredCommit.clear();
    if (this.stopped || this.role !== StateRole.Leader) return;
    // The commit index may have become durable on a quorum since (e.g. the leader's own fsync
    // landed): send the newest safe value. A follower caps it at the notice's index anyway.
    const safe = this.quorumDurable();
    for (const m of msgs) m.commit = Math.max(m.commit, Math.min(safe, m.index));
    this.transport.send(msgs);
  }

  private resolveReads(rd: Ready): void {
    for (const rs of rd.readStates) {
      const key = Buffer.from(rs.requestCtx).toString('hex');
      const w = this.readWaiters.get(key);
      if (!w) continue;
      this.readWaiters.delete(key);
      if (this.applied >= rs.index) {
        clearTimeout(w.timer);
        w.resolve(rs.index);
      } else this.readsAwaitingApply.push({ index: rs.index, w });
    }
    if (rd.hardState) this.commit = Math.max(this.commit, rd.hardState.commit);
  }

  /**
   * A leader whose Ready only appends entries (and a commit-only hard state) need not wait for its
   * own fdatasync before taking the next Ready: the next proposal's AppendEntries then leaves at once
   * instead of queueing behind a slow local flush, and a quorum of followers can commit it (Raft
   * thesis §10.2.1). What the core believes — its own entries stable, its committed entries
   * applied — runs ahead of this node's disk, so: outgoing commit indexes are clamped to what a
   * quorum has durable (clampCommit), entries are applied and acked only once a quorum has them on
   * disk (leaderFastApply, re-run when each write lands), and every other Ready (votes, term changes,
   * snapshots, membership) first waits for all pipelined writes and applies what the core skipped.
   */
  private canPipeline(rd: Ready): boolean {
    if (this.applying || this.stopped || this.confState.votersOutgoing.length > 0) return false;
    for (const e of rd.committedEntries) if (e.type === EntryType.ConfChange) return false;
    return true;
  }

  private pipelineReady(rd: Ready): void {
    if (rd.hardState || rd.entries.length > 0) {
      const last = rd.entries.length > 0 ? rd.entries[rd.entries.length - 1].index : 0;
      // Inline fdatasync when nothing else is in flight (one writer: nothing to overlap, and the
      // thread-pool handoff costs two wake-ups per append); on the thread pool when other entries
      // await commit, so their acks and new proposals keep flowing during the flush.
      this.storage.setBackgroundSync(this.storage.lastIndex() > this.node.committed());
      const write = this.storage.save(rd.hardState, rd.entries, undefined, rd.mustSync ?? true);
      this.savesInFlight++;
      const landed = write.then(
        () => {
          this.savesInFlight--;
          if (last > this.durableLast) this.durableLast = last;
          this.trace.durable(last);
          this.leaderFastApply();
        },
        (e: Error) => {
          this.savesInFlight--;
          if (!this.stopped) this.halt(e); // a failed fsync: continuing could ack data that is not durable
        },
      );
      this.saveChain = this.saveChain.then(() => landed);
    }
    this.leaderFastApply();
    if (rd.committedEntries.length > 0) this.coreApplied = rd.committedEntries[rd.committedEntries.length - 1].index;
    this.resolveReads(rd);
  }

  /**
   * The core counts the leader's own entries as matched once appended; while its fdatasync runs, a
   * commit index covering them may be on one follower's disk only. Followers must not learn (and
   * apply) such an index yet: it is lowered to the highest index a quorum holds durably. A lower
   * commit is always safe to send — followers only ever move their commit forward.
   */
  private clampCommit(msgs: Message[]): void {
    if (msgs.length === 0) return;
    let safe = -1;
    for (const m of msgs) {
      if (m.type !== MessageType.App && m.type !== MessageType.Heartbeat) continue;
      if (safe < 0) safe = this.role === StateRole.Leader ? this.quorumDurable() : this.safeCommit;
      if (m.commit > safe) m.commit = safe;
    }
  }

  /** Highest index on the disks of a quorum of voters, this node counting only what it has fsynced. */
  private quorumDurable(): number {
    const commit = this.node.committed();
    const voters = this.confState.voters;
    if (voters.length === 0) return commit;
    let q = this.durableOnMajority(voters);
    const out = this.confState.votersOutgoing;
    if (out.length > 0) q = Math.min(q, this.durableOnMajority(out));
    const safe = Math.min(commit, q);
    if (safe > this.safeCommit) this.safeCommit = safe;
    return safe;
  }

  /**
   * Highest index durable on a majority of `voters`: followers' match indexes (they ack after
   * their fsync), this node's own fsynced index. Per ack on the hot path: no status() snapshot.
   */
  private durableOnMajority(voters: readonly NodeId[]): number {
    const d = this.durableScratch;
    d.length = voters.length;
    for (let i = 0; i < voters.length; i++) d[i] = voters[i] === this.id ? this.durableLast : this.node.matchOf(voters[i]);
    sortSmallAscending(d);
    return d[voters.length - 1 - Math.floor(voters.length / 2)] ?? 0;
  }

  /** Applies committed entries the core already handed out but a pipelined Ready left unapplied. */
  private async applyFromStorage(upto: number): Promise<void> {
    const hi = Math.min(upto, this.storage.lastIndex());
    if (hi <= this.applied || this.applied + 1 < this.storage.firstIndex()) return;
    await this.apply(this.storage.entries(this.applied + 1, hi + 1, Number.MAX_SAFE_INTEGER));
  }

  private halt(reason: Error): void {
    process.emitWarning(`raft node ${this.id} halting: ${reason.message}`);
    void this.stop().then(
      () => this.opts.onHalt?.(reason),
      () => this.opts.onHalt?.(reason),
    );
  }

  private onSoftState(lead: NodeId, role: StateRole): void {
    if (lead !== this.leader && lead !== 0) this.metrics.leaderChanges.inc();
    // A ReadIndex still waiting for its leader's quorum check is never answered once that leader
    // is gone (the core drops pending reads when it steps down, and a deposed leader cannot confirm
    // its term anyway): fail it now, not at its timeout. A read has no effect, so a retry is safe.
    // Seen with a leader frozen (SIGSTOP) past the election: on waking it took a read before it
    // heard of the new term, stepped down, and the read hung for the full timeout.
    if (lead !== this.leader && this.readWaiters.size > 0) this.failPendingReads(new NotLeaderError(lead));
    this.leader = lead;
    this.role = role;
    // Followers fsync inline (their answer waits for it anyway); a leader chooses per write
    // (pipelineReady). A leader's AppendEntries are on the wire when its flush starts, and the
    // followers' answers need a round trip plus their own fsync, so with one writer they rarely
    // arrive before an inline flush returns, and the thread-pool handoff cost two extra wake-ups per
    // append: measured at c1 (3 processes, fsync) 762/725 -> 866/920 ops/s, leader CPU 0.76 -> 0.62
    // ms per append.
    if (role !== StateRole.Leader) this.storage.setBackgroundSync(false);
    if (lead !== 0) {
      for (const l of this.leaderWaiters) l();
      this.leaderWaiters.clear();
    }
  }

  private async apply(ents: Entry[]): Promise<void> {
    this.applying = true;
    try {
      for (const e of ents) {
        if (e.index <= this.applied) continue; // already applied by the leader's fast path
        if (e.type === EntryType.ConfChange) {
          const cc = decodeConfChange(e.data);
          try {
            this.confState = this.node.applyConfChange(cc);
            await this.storage.setConfState(this.confState);
          } catch (err) {
            // An invalid change (e.g. removing the last voter) is refused identically by every member.
            if (!(err instanceof ConfChangeError)) throw err;
            process.emitWarning(`raft node ${this.id}: conf change at ${e.index} refused: ${err.message}`);
          }
          this.lastConfIndex = e.index;
          this.onConfApplied(cc);
          this.applied = e.index;
        } else {
          this.applyEntry(e);
        }
      }
    } finally {
      this.applying = false;
    }
    this.afterApply();
  }

  private failAppend(w: AppendWaiter, e: Error): void {
    for (const s of w.seqs) this.appendWaiters.delete(s);
    if (w.settled) return;
    w.settled = true;
    w.reject(e);
    this.dropSettledDeadlines();
  }

  /**
   * Appends settle mostly in proposal order: release settled waiters at the head at once, so they
   * die young instead of being kept (and promoted by the GC) until the next deadline sweep.
   */
  private dropSettledDeadlines(): void {
    const q = this.appendDeadlines;
    let h = this.appendDeadlineHead;
    while (h < q.length && q[h]!.settled) q[h++] = undefined;
    if (h === q.length) {
      q.length = 0;
      h = 0;
    }
    this.appendDeadlineHead = h;
  }

  private trackAppendDeadline(w: AppendWaiter): void {
    this.appendDeadlines.push(w);
    if (!this.appendSweepTimer) this.armAppendSweep(w.deadline);
  }

  private armAppendSweep(deadline: number): void {
    this.appendSweepTimer = setTimeout(() => this.sweepAppendDeadlines(), Math.max(1, Math.ceil(deadline - performance.now())));
  }

  /** Fails appends past their deadline; re-arms for the oldest one still pending. */
  private sweepAppendDeadlines(): void {
    this.appendSweepTimer = undefined;
    const q = this.appendDeadlines;
    const now = performance.now();
    let h = this.appendDeadlineHead;
    while (h < q.length && (q[h]!.settled || q[h]!.deadline <= now)) {
      const w = q[h]!;
      q[h++] = undefined;
      if (!w.settled) {
        this.appendDeadlineHead = h;
        this.failAppend(w, new LogTimeoutError('append', w.timeoutMs));
        h = this.appendDeadlineHead;
        if (this.appendDeadlines !== q) return; // stopped meanwhile
      }
    }
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      this.appendDeadlines = q.slice(h);
      h = 0;
    }
    this.appendDeadlineHead = h;
    if (h < this.appendDeadlines.length) this.armAppendSweep(this.appendDeadlines[h]!.deadline);
  }

  /** Applies one non-membership entry: resolves the append() waiting for it, if it is ours. */
  private applyEntry(e: Entry): void {
    if (e.type === EntryType.Normal) {
      const u = unwrap(e.data);
      if (u && u.id.origin === this.id && u.id.incarnation === this.incarnation) {
        const w = this.appendWaiters.get(u.id.seq);
        if (w) {
          this.appendWaiters.delete(u.id.seq);
          w.index = e.index;
          w.term = e.term;
          if (--w.remaining === 0 && !w.settled) {
            w.settled = true;
            this.metrics.appendLatency.observe((performance.now() - w.started) / 1000);
            this.trace.acked(w.index);
            w.resolve({ index: w.index, term: w.term });
            this.dropSettledDeadlines();
          }
        }
      }
    }
    this.applied = e.index;
    if (e.term > this.appliedTerm) {
      this.appliedTerm = e.term;
      this.supersedeAppends(e.term);
    }
  }

  /**
   * An entry of term `term` is committed; appends still waiting that were proposed in an earlier
   * term can never commit now: terms never decrease along a Raft log (§5.3), and an entry of theirs
   * committed below this one would have been applied, and acked, before it. So they are proposed
   * again, in the current term, to the current leader (here, or forwarded): an append survives a
   * leader failure without a duplicate and without waiting out its timeout, which after a leader
   * failure held every writer whose append had gone to the old leader for the whole timeout while
   * a new leader committed within a second. If nobody can take them now (no leader, a shed forward,
   * a third change of leader, their deadline passed) they fail with LeaderChangedError: definitely
   * not appended, safe to retry. Runs once per term change; resubmitted waiters move to the current
   * term, so the whole queue is scanned.
   */
  private supersedeAppends(term: number): void {
    const q = this.appendDeadlines;
    const now = performance.now();
    for (let i = this.appendDeadlineHead; i < q.length; i++) {
      const w = q[i];
      // failAppend may release settled waiters ahead of i.
      if (!w || w.settled || !w.supersedable || w.proposedTerm >= term) continue;
      const from = w.proposedTerm;
      if (w.resubmits >= MAX_RESUBMITS || now >= w.deadline || !this.resubmit(w)) {
        this.failAppend(w, new LeaderChangedError(this.node.raft.lead, from));
      }
    }
  }

  /** Proposes the not yet applied entries of `w` again in the current term; false if nobody can take them. */
  private resubmit(w: AppendWaiter): boolean {
    const r = this.node.raft;
    const data: Buffer[] = [];
    for (let k = 0; k < w.seqs.length; k++) if (this.appendWaiters.get(w.seqs[k]) === w) data.push(w.data[k]);
    if (data.length === 0) return false;
    w.proposedTerm = r.term;
    w.resubmits++;
    if (r.state === StateRole.Leader) {
      try {
        for (const d of data) this.node.propose(d);
      } catch {
        return false;
      }
      this.trace.proposed(data.length);
      this.kick();
      return true;
    }
    if (r.lead === 0 || r.lead === this.id) return false;
    const round = w.resubmits;
    const to = r.lead;
    const unsent = (): void => {
      if (w.resubmits === round) this.failAppend(w, new LeaderChangedError(to, w.proposedTerm));
    };
    return this.transport.forward(to, data, r.term, unsent);
  }

  private afterApply(): void {
    this.commit = Math.max(this.commit, this.applied);
    const retained = this.applied - this.storage.firstIndex() + 1;
    if (retained >= (this.opts.snapshotEntries ?? 200_000) && this.applied >= this.nextSnapshotAsk) {
      // Ask again only after another full interval, however slowly the application answers.
      this.nextSnapshotAsk = this.applied + (this.opts.snapshotEntries ?? 200_000);
      this.afterAdvance.push(() => this.opts.onSnapshotNeeded?.());
    }
    for (let i = this.readsAwaitingApply.length - 1; i >= 0; i--) {
      const r = this.readsAwaitingApply[i];
      if (r.index <= this.applied) {
        this.readsAwaitingApply.splice(i, 1);
        clearTimeout(r.w.timer);
        r.w.resolve(r.index);
      }
    }
    for (const s of this.subscribers) s();
  }

  /**
   * Leader fast path: apply (and ack) committed entries as soon as a quorum of voters has them on
   * disk — the leader's own fsync may still be running (Raft thesis §10.2.1), e.g. both followers
   * of three acked first. Followers ack only after their fsync, so their match index is durable; the
   * leader's own contribution counts only up to what it has fsynced. Membership entries are left
   * to the Ready path; so are joint configurations.
   */
  private leaderFastApply(): void {
    if (this.role !== StateRole.Leader || this.applying || this.stopped) return;
    if (this.confState.votersOutgoing.length > 0) return;
    const commit = this.node.committed();
    if (commit <= this.applied) return;
    const upto = Math.min(commit, this.durableOnMajority(this.confState.voters), this.storage.lastIndex());
    if (upto <= this.applied) return;
    let ents: Entry[];
    try {
      ents = this.storage.entries(this.applied + 1, upto + 1, Number.MAX_SAFE_INTEGER);
    } catch {
      return; // compacted or not yet stored: the Ready path will apply them
    }
    let n = 0;
    for (const e of ents) {
      if (e.type === EntryType.ConfChange) break;
      this.applyEntry(e);
      n++;
    }
    if (n > 0) this.afterApply();
  }

  private failPendingReads(e: Error): void {
    for (const w of this.readWaiters.values()) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.readWaiters.clear();
  }

  private onConfApplied(cc: ConfChange): void {
    const addr = cc.context && cc.context.length > 0 ? decodeAddress(cc.context) : undefined;
    for (const ch of cc.changes) {
      if (ch.nodeId === this.id) continue;
      if (ch.type === ConfChangeType.RemoveNode) {
        this.transport.removePeer(ch.nodeId);
        this.addresses.delete(ch.nodeId);
      } else if (addr) {
        this.addresses.set(ch.nodeId, addr);
        this.transport.addPeer(ch.nodeId, addr);
      }
    }
    if (
      this.role === StateRole.Leader &&
      this.storage.firstIndex() > 1 &&
      cc.changes.some((ch) => ch.type !== ConfChangeType.RemoveNode && ch.nodeId !== this.id)
    ) {
      this.afterAdvance.push(() => this.opts.onSnapshotNeeded?.());
    }
    const waiters = this.confWaiters;
    this.confWaiters = [];
    const cs = this.confState;
    // Resolved after advance(): the core accepts the next conf change only once this one is applied.
    this.afterAdvance.push(() => {
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.resolve(cs);
      }
    });
  }

  private changeConf(cc: ConfChange, timeoutMs = 10_000): Promise<ConfState> {
    if (this.role !== StateRole.Leader) return Promise.reject(new NotLeaderError(this.leader));
    for (const ch of cc.changes) {
      if (ch.type !== ConfChangeType.RemoveNode && cc.context) this.transport.addPeer(ch.nodeId, decodeAddress(cc.context));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter<ConfState> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.confWaiters = this.confWaiters.filter((x) => x !== w);
          reject(new LogTimeoutError('membership change', timeoutMs));
        }, timeoutMs),
      };
      try {
        this.node.proposeConfChange(cc);
      } catch (e) {
        clearTimeout(w.timer);
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      this.confWaiters.push(w);
      this.kick();
    });
  }

  private bestTransferTarget(): NodeId {
    const st = this.node.status();
    let best = 0;
    let bestMatch = -1;
    for (const v of this.confState.voters) {
      if (v === this.id) continue;
      const m = st.progress?.get(v)?.match ?? 0;
      if (m > bestMatch) {
        best = v;
        bestMatch = m;
      }
    }
    return best;
  }

  private waitForLeader(): Promise<void> {
    const ms = this.opts.leaderWaitMs ?? 2000;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.leaderWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.leaderWaiters.add(done);
    });
  }
}

function toClientEntry(e: Entry): CommittedEntry | undefined {
  if (e.type !== EntryType.Normal || e.data.length === 0) return undefined;
  const u = unwrap(e.data);
  return { kind: 'entry', index: e.index, term: e.term, data: u ? u.payload : e.data ?? EMPTY };
}

export function encodeAddress(a: PeerAddress): Uint8Array {
  return Buffer.from(`${a.host}:${a.port}`, 'utf8');
}

export function decodeAddress(b: Uint8Array): PeerAddress {
  const s = Buffer.from(b).toString('utf8');
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}
