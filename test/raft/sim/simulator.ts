// Deterministic simulation of a Raft cluster (TigerBeetle/FoundationDB style): the real core
// runs against a virtual clock, a faulty network (drop, duplicate, delay, reorder, partition),
// disks that lose unsynced writes on crash, and membership changes; the Raft safety properties
// are checked after every event and the clients' KV history is checked for linearizability.
import { ConfChangeError, decodeConfChange } from '../../../cluster/raft/confchange/index.js';
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import { ErrProposalDropped } from '../../../cluster/raft/raft.js';
import { RawNode } from '../../../cluster/raft/rawnode.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  StateRole,
  type ConfChange,
  type ConfState,
  type Message,
  type NodeId,
  type Ready,
} from '../../../cluster/raft/types.js';
import { checkLinearizable, type KvOp } from '../linearizability.js';
import { EventQueue } from './event-queue.js';
import { Kv, decodeCommand, encodeCommand } from './kv.js';
import { Prng } from './prng.js';
import { SimStorage } from './sim-storage.js';

export interface SimOptions {
  /** Virtual milliseconds of faults, followed by a settle period with every fault healed. */
  faultMs?: number;
  settleMs?: number;
  log?: (line: string) => void;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  error?: string;
  events: number;
  virtualMs: number;
  elections: number;
  commits: number;
  crashes: number;
  confChanges: number;
  snapshotsSent: number;
  ops: number;
  linearizabilityExhausted: boolean;
}

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

const TICK_MS = 10;
const td = new TextDecoder();
const te = new TextEncoder();

type Ev =
  | { t: 'tick'; id: NodeId; gen: number }
  | { t: 'sync'; id: NodeId; gen: number }
  | { t: 'deliver'; m: Message }
  | { t: 'fault' }
  | { t: 'restart'; id: NodeId }
  | { t: 'heal' }
  | { t: 'client'; c: number }
  | { t: 'timeout'; c: number; seq: number };

interface SimNode {
  id: NodeId;
  gen: number;
  up: boolean;
  removed: boolean;
  rn: RawNode;
  storage: SimStorage;
  kv: Kv;
  kvApplied: number;
  conf: ConfState;
  pending: Ready | undefined;
  /** Inside sync(): a new Ready must wait until advance() (no re-entrant ready()). */
  syncing: boolean;
  waitingReads: { index: number; ctx: string }[];
}

interface ClientOp {
  kind: 'put' | 'get';
  key: string;
  value: string;
  seq: number;
  call: number;
  node: NodeId;
  ctx: string;
}

interface Client {
  id: number;
  seq: number;
  op: ClientOp | undefined;
}

function confMembers(cs: ConfState): Set<NodeId> {
  return new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
}

export class Simulation {
  readonly rng: Prng;
  now = 0;
  private readonly q = new EventQueue<Ev>();
  readonly nodes = new Map<NodeId, SimNode>();
  private nextId: NodeId;
  private readonly clients: Client[] = [];
  readonly history: KvOp[] = [];
  private readonly faultMs: number;
  private readonly settleMs: number;
  private readonly log: ((line: string) => void) | undefined;
  // network
  private partition = new Map<NodeId, number>();
  /** Directed links that drop everything ("a>b"): asymmetric partitions. */
  private oneWay = new Set<string>();
  private dropRate = 0;
  private dupRate = 0;
  private maxDelay = 10;
  // raft tuning drawn per seed
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxSizePerMsg: number;
  private readonly maxInflightMsgs: number;
  private readonly maxInflightBytes: number;
  private readonly chunkSize: number;
  private readonly compactEvery: number;
  /** Leader snapshots its applied state on demand (else it sends its last periodic snapshot). */
  private readonly freshSnapshots: boolean;
  /** Committed-entry bytes per Ready (1: one entry at a time). */
  private readonly maxApplyBytes: number;
  // safety bookkeeping
  private readonly leaders = new Map<number, NodeId>(); // term -> leader
  private readonly entryAt = new Map<string, string>(); // "index/term" -> "prevTerm|type|data"
  private readonly applied = new Map<number, string>(); // index -> "term|type|data"
  private readonly leaderCommit = new Map<NodeId, { term: number; gen: number; commit: number }>();
  private maxCommit = 0;
  private maxCommitTerm = 0;
  private maxCommitObservedTerm = 0;
  private healedAt = Infinity;
  private lastConfIndex = 0;
  private catchUpMark = 0;
  private putsAfterHeal = 0;
  readonly stats = { events: 0, elections: 0, commits: 0, crashes: 0, confChanges: 0, snapshotsSent: 0 };

  constructor(
    readonly seed: number,
    opts: SimOptions = {},
  ) {
    this.rng = new Prng(seed);
    this.faultMs = opts.faultMs ?? 2500;
    this.settleMs = opts.settleMs ?? 1500;
    this.log = opts.log;
    const r = this.rng;
    this.preVote = r.chance(0.75);
    this.checkQuorum = r.chance(0.75);
    this.maxSizePerMsg = r.pick([1, 64, 256, 1024, 1 << 20]);
    this.maxInflightMsgs = r.int(1, 16);
    this.maxInflightBytes = r.chance(0.3) ? r.int(64, 2048) : 0;
    this.chunkSize = r.pick([16, 64, 256, 1 << 20]);
    this.compactEvery = r.int(5, 40);
    this.freshSnapshots = r.chance(0.5);
    this.maxApplyBytes = r.pick([1, 256, Number.MAX_SAFE_INTEGER]);
    const voters = r.pick([1, 3, 3, 5, 5]);
    const learners = r.chance(0.3) ? 1 : 0;
    const initial: NodeId[] = [];
    for (let i = 1; i <= voters + learners; i++) initial.push(i);
    this.nextId = voters + learners + 1;
    const conf: ConfState = {
      voters: initial.slice(0, voters),
      learners: initial.slice(voters),
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of initial) {
      // Bootstrap: every founding member holds the initial configuration as a snapshot at 1/1.
      const d = new MemoryStorage();
      d.applySnapshot({ metadata: { index: 1, term: 1, conf }, data: new Kv().snapshot() });
      d.setHardState({ term: 1, vote: NONE, commit: 1 });
      this.addNode(id, d);
    }
    this.trace(
      `seed=${seed} voters=${conf.voters.join(',')} learners=${conf.learners.join(',') || '-'} preVote=${this.preVote} ` +
        `checkQuorum=${this.checkQuorum} maxMsg=${this.maxSizePerMsg} inflight=${this.maxInflightMsgs}/${this.maxInflightBytes}B ` +
        `chunk=${this.chunkSize} compactEvery=${this.compactEvery} freshSnapshots=${this.freshSnapshots} maxApply=${this.maxApplyBytes}`,
    );
    const nClients = r.int(2, 4);
    for (let c = 1; c <= nClients; c++) {
      this.clients.push({ id: c, seq: 0, op: undefined });
      this.q.push(r.int(50, 150), { t: 'client', c });
    }
    this.q.push(r.int(100, 300), { t: 'fault' });
  }

  private trace(s: string): void {
    if (this.log) this.log(`[${String(this.now).padStart(6)}] ${s}`);
  }

  // ---- nodes --------------------------------------------------------------------------------

  private newRawNode(id: NodeId, storage: SimStorage, applied: number, gen: number): RawNode {
    // Each incarnation draws its election timeouts from its own stream, derived from the seed.
    const rnd = new Prng((this.seed * 1000003 + id * 7919 + gen * 104729) >>> 0);
    return new RawNode({
      id,
      storage,
      applied,
      electionTick: 10,
      heartbeatTick: 2,
      preVote: this.preVote,
      checkQuorum: this.checkQuorum,
      maxSizePerMsg: this.maxSizePerMsg,
      maxInflightMsgs: this.maxInflightMsgs,
      maxInflightBytes: this.maxInflightBytes,
      snapshotChunkSize: this.chunkSize,
      maxCommittedSizePerReady: this.maxApplyBytes,
      random: () => rnd.next(),
    });
  }

  private addNode(id: NodeId, durable: MemoryStorage): void {
    const storage = new SimStorage(durable);
    const snap = storage.snapshot();
    const n: SimNode = {
      id,
      gen: 0,
      up: true,
      removed: false,
      rn: this.newRawNode(id, storage, snap.metadata.index, 0),
      storage,
      kv: Kv.restore(snap.data),
      kvApplied: snap.metadata.index,
      conf: snap.metadata.conf,
      pending: undefined,
      syncing: false,
      waitingReads: [],
    };
    if (this.freshSnapshots) storage.snapshotSource = () => ({ index: n.kvApplied, conf: n.conf, data: n.kv.snapshot() });
    this.nodes.set(id, n);
    this.q.push(this.now + this.rng.int(1, TICK_MS), { t: 'tick', id, gen: n.gen });
  }

  private crash(n: SimNode): void {
    this.stats.crashes++;
    this.trace(`n${n.id} CRASH (loses ${n.pending ? 'a pending fsync' : 'nothing unsynced'})`);
    n.up = false;
    n.gen++;
    n.pending = undefined;
    n.waitingReads = [];
    // Half the crashes tear the unsynced writes: a random prefix of them reached the disk.
    n.storage.crash(this.rng.chance(0.5) ? (max) => this.rng.int(0, max) : undefined);
    this.q.push(this.now + this.rng.int(20, 400), { t: 'restart', id: n.id });
  }

  private restart(n: SimNode): void {
    if (n.up || n.removed) return;
    const snap = n.storage.volatile.snapshot();
    n.kv = Kv.restore(snap.data);
    n.kvApplied = snap.metadata.index;
    n.conf = snap.metadata.conf;
    n.rn = this.newRawNode(n.id, n.storage, snap.metadata.index, n.gen);
    n.up = true;
    this.trace(`n${n.id} RESTART term=${n.rn.raft.term} commit=${n.rn.raft.raftLog.committed} last=${n.rn.raft.raftLog.lastIndex()}`);
    this.q.push(this.now + this.rng.int(1, TICK_MS), { t: 'tick', id: n.id, gen: n.gen });
  }

  /** Takes a Ready if there is one: writes go to the volatile disk; effects wait for the fsync. */
  private maybeReady(n: SimNode): void {
    if (!n.up || n.pending || n.syncing || !n.rn.hasReady()) return;
    const rd = n.rn.ready();
    if (rd.softState?.role === StateRole.Leader) {
      this.stats.elections++;
      this.trace(`n${n.id} becomes LEADER term=${n.rn.raft.term} last=${n.rn.raft.raftLog.lastIndex()}`);
    }
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.checkLogMatching(n, rd);
    n.pending = rd;
    this.q.push(this.now + this.rng.int(0, 3), { t: 'sync', id: n.id, gen: n.gen });
  }

  /** The fsync completed: send, apply, advance. */
  private sync(n: SimNode): void {
    const rd = n.pending;
    if (!rd) return;
    n.syncing = true;
    try {
      this.syncEffects(n, rd);
    } finally {
      n.syncing = false;
    }
    this.maybeReady(n);
  }

  private syncEffects(n: SimNode, rd: Ready): void {
    n.pending = undefined;
    n.storage.sync();
    this.observeCommit(n);
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot) {
      n.kv = Kv.restore(rd.snapshot.data);
      n.kvApplied = rd.snapshot.metadata.index;
      n.conf = rd.snapshot.metadata.conf;
      this.trace(`n${n.id} installed snapshot ${rd.snapshot.metadata.term}/${rd.snapshot.metadata.index}`);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= n.kvApplied) continue;
      if (e.index !== n.kvApplied + 1) throw new SafetyViolation(`n${n.id} applies ${e.index} after ${n.kvApplied}: gap`);
      const key = `${e.term}|${e.type}|${td.decode(e.data)}`;
      const prev = this.applied.get(e.index);
      if (prev === undefined) {
        this.applied.set(e.index, key);
        this.stats.commits++;
      } else if (prev !== key) {
        throw new SafetyViolation(`state machine safety: index ${e.index} applied as ${prev} and as ${key} (n${n.id})`);
      }
      n.kvApplied = e.index;
      if (e.type === EntryType.Normal && e.data.byteLength > 0) {
        const cmd = decodeCommand(e.data);
        n.kv.apply(cmd);
        const cl = this.clients[cmd.c - 1];
        if (cl.op && cl.op.kind === 'put' && cl.op.seq === cmd.s && cl.op.node === n.id) {
          this.completeOp(cl, null);
        }
      } else if (e.type === EntryType.ConfChange) {
        this.applyConfChange(n, e.index, decodeConfChange(e.data));
        if (!n.up) return; // this node applied its own removal
      }
    }
    for (const rs of rd.readStates) n.waitingReads.push({ index: rs.index, ctx: td.decode(rs.requestCtx) });
    this.serveReads(n);
    n.rn.advance(rd);
    this.maybeCompact(n);
  }

  private applyConfChange(n: SimNode, index: number, cc: ConfChange): void {
    try {
      n.conf = n.rn.applyConfChange(cc);
    } catch (e) {
      // Deterministic: every member refuses the same invalid change the same way.
      if (!(e instanceof ConfChangeError)) throw e;
      this.trace(`n${n.id} refused conf change: ${e.message}`);
      return;
    }
    // Only the newest committed configuration starts and stops nodes; a lagging node replaying
    // an older change must not resurrect or remove anyone.
    if (index <= this.lastConfIndex) return;
    this.lastConfIndex = index;
    const members = confMembers(n.conf);
    this.trace(`n${n.id} applied conf change @${index} -> voters=${n.conf.voters} out=${n.conf.votersOutgoing} learners=${n.conf.learners}`);
    for (const id of members) {
      if (!this.nodes.has(id)) {
        this.trace(`n${id} STARTS (new member)`);
        this.addNode(id, new MemoryStorage());
      }
    }
    // A member gone from a committed configuration is shut down for good (ids are never reused).
    for (const other of this.nodes.values()) {
      if (!members.has(other.id) && !other.removed) {
        other.removed = true;
        other.up = false;
        other.gen++;
        this.trace(`n${other.id} REMOVED`);
      }
    }
  }

  private serveReads(n: SimNode): void {
    if (n.waitingReads.length === 0) return;
    const still: { index: number; ctx: string }[] = [];
    for (const r of n.waitingReads) {
      if (r.index > n.kvApplied) {
        still.push(r);
        continue;
      }
      const [c, seq] = r.ctx.split(':').map(Number);
      const cl = this.clients[c - 1];
      if (cl?.op && cl.op.kind === 'get' && cl.op.seq === seq && cl.op.node === n.id) {
        this.completeOp(cl, n.kv.get(cl.op.key));
      }
    }
    n.waitingReads = still;
  }

  private maybeCompact(n: SimNode): void {
    const snapIdx = n.storage.volatile.snapshot().metadata.index;
    if (n.kvApplied - snapIdx < this.compactEvery) return;
    n.storage.createSnapshot(n.kvApplied, n.conf, n.kv.snapshot());
    // Keep a few entries so lagging followers sometimes catch up from the log.
    const to = n.kvApplied - this.rng.int(0, 5);
    if (to >= n.storage.firstIndex()) n.storage.compact(to);
  }

  // ---- network ------------------------------------------------------------------------------

  private connected(a: NodeId, b: NodeId): boolean {
    if (this.oneWay.has(`${a}>${b}`)) return false;
    return (this.partition.get(a) ?? 0) === (this.partition.get(b) ?? 0);
  }

  private send(m: Message): void {
    if (m.type === MessageType.Snap && (m.snapshotOffset ?? 0) === 0) this.stats.snapshotsSent++;
    if (this.rng.chance(this.dropRate)) {
      this.lost(m);
      return;
    }
    this.q.push(this.now + this.rng.int(1, this.maxDelay), { t: 'deliver', m });
    if (this.rng.chance(this.dupRate)) this.q.push(this.now + this.rng.int(1, this.maxDelay * 3), { t: 'deliver', m });
  }

  /** The transport notices losses of the last snapshot chunk (and, sometimes, unreachable peers). */
  private lost(m: Message): void {
    const from = this.nodes.get(m.from);
    if (!from?.up) return;
    if (m.type === MessageType.Snap && m.snapshotDone) from.rn.reportSnapshot(m.to, false);
    else if (this.rng.chance(0.1)) from.rn.reportUnreachable(m.to);
    this.maybeReady(from);
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (!to || !to.up || !this.connected(m.from, m.to)) {
      this.lost(m);
      return;
    }
    try {
      to.rn.step(m);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
    }
    this.maybeReady(to);
    if (m.type === MessageType.Snap && m.snapshotDone) {
      const from = this.nodes.get(m.from);
      if (from?.up) {
        from.rn.reportSnapshot(m.to, true);
        this.maybeReady(from);
      }
    }
  }

  // ---- clients ------------------------------------------------------------------------------

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  private clientStep(cl: Client): void {
    if (cl.op) return;
    const live = this.liveNodes();
    if (live.length === 0) {
      this.q.push(this.now + 20, { t: 'client', c: cl.id });
      return;
    }
    let node = this.rng.pick(live);
    const lead = this.nodes.get(node.rn.raft.lead);
    if (lead?.up && this.rng.chance(0.8)) node = lead;
    const seq = ++cl.seq;
    const key = `k${this.rng.int(1, 3)}`;
    const kind = this.rng.chance(0.5) ? 'put' : 'get';
    const value = `c${cl.id}s${seq}`;
    const op: ClientOp = { kind, key, value, seq, call: this.now, node: node.id, ctx: `${cl.id}:${seq}` };
    try {
      if (kind === 'put') node.rn.propose(encodeCommand({ c: cl.id, s: seq, k: key, v: value }));
      else node.rn.readIndex(te.encode(op.ctx));
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
      // Refused synchronously: it did not happen; try again shortly.
      this.q.push(this.now + this.rng.int(5, 30), { t: 'client', c: cl.id });
      return;
    }
    cl.op = op;
    this.maybeReady(node);
    this.q.push(this.now + this.rng.int(200, 600), { t: 'timeout', c: cl.id, seq });
  }

  private completeOp(cl: Client, got: string | null): void {
    const op = cl.op;
    if (!op) return;
    cl.op = undefined;
    if (op.kind === 'put') {
      this.history.push({ kind: 'put', key: op.key, value: op.value, call: op.call, ret: this.now });
      if (this.now >= this.healedAt) this.putsAfterHeal++;
    } else {
      this.history.push({ kind: 'get', key: op.key, value: got, call: op.call, ret: this.now });
    }
    this.q.push(this.now + this.rng.int(0, 20), { t: 'client', c: cl.id });
  }

  private timeout(cl: Client, seq: number): void {
    const op = cl.op;
    if (!op || op.seq !== seq) return;
    cl.op = undefined;
    // A write that timed out may still take effect later: its return is unknown (+Infinity).
    if (op.kind === 'put') this.history.push({ kind: 'put', key: op.key, value: op.value, call: op.call, ret: Infinity });
    this.q.push(this.now + this.rng.int(0, 20), { t: 'client', c: cl.id });
  }

  // ---- faults -------------------------------------------------------------------------------

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.up && n.rn.raft.state === StateRole.Leader && (!best || n.rn.raft.term > best.rn.raft.term)) best = n;
    }
    return best;
  }

  private fault(): void {
    const r = this.rng;
    const x = r.next();
    const live = this.liveNodes();
    if (x < 0.15 && live.length > 0) {
      this.crash(r.pick(live));
    } else if (x < 0.2) {
      const ids = [...this.nodes.keys()];
      const a = r.pick(ids);
      const b = r.pick(ids);
      if (a !== b) {
        this.oneWay.add(`${a}>${b}`);
        this.trace(`ONE-WAY cut n${a} -> n${b}`);
        this.q.push(this.now + r.int(50, 600), { t: 'heal' });
      }
    } else if (x < 0.3) {
      const ids = [...this.nodes.keys()];
      this.partition = new Map(ids.map((id) => [id, r.int(0, 1)]));
      this.trace(`PARTITION ${ids.map((id) => `${id}:${this.partition.get(id)}`).join(' ')}`);
      this.q.push(this.now + r.int(50, 600), { t: 'heal' });
    } else if (x < 0.4) {
      this.dropRate = r.pick([0, 0, 0.01, 0.05, 0.2]);
      this.dupRate = r.pick([0, 0, 0.01, 0.05]);
      this.maxDelay = r.pick([5, 10, 10, 30, 80]);
      this.trace(`NET drop=${this.dropRate} dup=${this.dupRate} maxDelay=${this.maxDelay}`);
    } else if (x < 0.6) {
      this.changeMembership();
    } else if (x < 0.68) {
      const l = this.leader();
      if (l) {
        const to = r.pick(l.conf.voters.length ? l.conf.voters : [l.id]);
        this.trace(`TRANSFER leadership n${l.id} -> n${to}`);
        l.rn.transferLeader(to);
        this.maybeReady(l);
      }
    } else if (x < 0.75) {
      for (const n of live) {
        if (!r.chance(0.5)) continue;
        n.rn.campaign();
        this.maybeReady(n);
      }
    }
    if (this.now < this.faultMs) this.q.push(this.now + r.int(20, 120), { t: 'fault' });
  }

  private changeMembership(): void {
    const l = this.leader();
    if (!l) return;
    const r = this.rng;
    const cs = l.conf;
    let cc: ConfChange | undefined;
    const live = new Set(this.liveNodes().map((n) => n.id));
    const x = r.next();
    if (cs.votersOutgoing.length > 0) {
      if (!cs.autoLeave) cc = { changes: [] };
    } else if (x < 0.3 && this.nextId <= 9 && this.nodes.size < 8) {
      cc = { changes: [{ type: ConfChangeType.AddLearner, nodeId: this.nextId++ }] };
    } else if (x < 0.55 && cs.learners.length > 0) {
      const id = r.pick(cs.learners);
      if (live.has(id)) cc = { changes: [{ type: ConfChangeType.AddNode, nodeId: id }] };
    } else if (x < 0.7 && cs.voters.length > 3) {
      cc = { changes: [{ type: ConfChangeType.RemoveNode, nodeId: r.pick(cs.voters) }] };
    } else if (x < 0.8 && cs.learners.length > 0) {
      cc = { changes: [{ type: ConfChangeType.RemoveNode, nodeId: r.pick(cs.learners) }] };
    } else if (x < 0.9 && cs.voters.length >= 3) {
      cc = { changes: [{ type: ConfChangeType.AddLearner, nodeId: r.pick(cs.voters) }] }; // demote
    } else if (cs.learners.length > 0 && cs.voters.length >= 3) {
      // Joint consensus: promote a learner and demote a voter at once.
      const up = r.pick(cs.learners);
      const down = r.pick(cs.voters);
      cc = {
        changes: [
          { type: ConfChangeType.AddNode, nodeId: up },
          { type: ConfChangeType.AddLearner, nodeId: down },
        ],
        transition: r.chance(0.5) ? 0 : 2,
      };
    }
    if (!cc) return;
    this.stats.confChanges++;
    this.trace(`PROPOSE conf change via n${l.id}: ${JSON.stringify(cc)}`);
    try {
      l.rn.proposeConfChange(cc);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
    }
    this.maybeReady(l);
  }

  private heal(): void {
    if (this.partition.size === 0 && this.oneWay.size === 0) return;
    this.partition = new Map();
    this.oneWay = new Set();
    this.trace('HEAL');
  }

  // ---- safety checks ------------------------------------------------------------------------

  /** Raft §5.3 Log Matching, checked incrementally: an (index, term) pair names one entry and one predecessor. */
  private checkLogMatching(n: SimNode, rd: Ready): void {
    const st = n.storage.volatile;
    for (const e of rd.entries) {
      let prevTerm: number;
      try {
        prevTerm = st.term(e.index - 1);
      } catch {
        continue; // predecessor compacted: covered when it was appended
      }
      const k = `${e.index}/${e.term}`;
      const v = `${prevTerm}|${e.type}|${td.decode(e.data)}`;
      const seen = this.entryAt.get(k);
      if (seen === undefined) this.entryAt.set(k, v);
      else if (seen !== v) throw new SafetyViolation(`log matching: entry ${k} is ${seen} on one node and ${v} on n${n.id}`);
    }
  }

  private observeCommit(n: SimNode): void {
    const hs = n.storage.durableHard;
    if (hs.commit > this.maxCommit) {
      this.maxCommit = hs.commit;
      this.maxCommitTerm = n.storage.term(hs.commit);
      this.maxCommitObservedTerm = hs.term;
    }
  }

  checkSafety(): void {
    for (const n of this.nodes.values()) {
      if (!n.up) continue;
      const r = n.rn.raft;
      if (r.state !== StateRole.Leader) continue;
      // Election Safety (§5.2): at most one leader per term.
      const l = this.leaders.get(r.term);
      if (l === undefined) this.leaders.set(r.term, n.id);
      else if (l !== n.id) throw new SafetyViolation(`election safety: n${l} and n${n.id} both lead term ${r.term}`);
      // §5.4.2: a leader moves its commit index only onto an entry of its own term (earlier
      // entries become committed indirectly, never by counting replicas).
      const seen = this.leaderCommit.get(n.id);
      if (seen && seen.term === r.term && seen.gen === n.gen && r.raftLog.committed > seen.commit) {
        const t = r.raftLog.termOr0(r.raftLog.committed);
        if (t !== r.term) {
          throw new SafetyViolation(`commit rule: leader n${n.id} of term ${r.term} committed index ${r.raftLog.committed} of term ${t} by counting`);
        }
      }
      this.leaderCommit.set(n.id, { term: r.term, gen: n.gen, commit: r.raftLog.committed });
      // Leader Completeness (§5.4): a leader of a later term holds every committed entry.
      if (r.term > this.maxCommitObservedTerm) {
        const log = r.raftLog;
        if (log.lastIndex() < this.maxCommit) {
          throw new SafetyViolation(`leader completeness: n${n.id} leads term ${r.term} without committed index ${this.maxCommit}`);
        }
        if (this.maxCommit >= log.firstIndex() - 1 && log.termOr0(this.maxCommit) !== this.maxCommitTerm) {
          throw new SafetyViolation(
            `leader completeness: n${n.id} term ${r.term} has term ${log.termOr0(this.maxCommit)} at committed index ${this.maxCommit}, want ${this.maxCommitTerm}`,
          );
        }
      }
    }
  }

  // ---- main loop ----------------------------------------------------------------------------

  private handle(ev: Ev): void {
    switch (ev.t) {
      case 'tick': {
        const n = this.nodes.get(ev.id);
        if (!n || !n.up || n.gen !== ev.gen) return;
        n.rn.tick();
        this.maybeReady(n);
        this.q.push(this.now + TICK_MS, ev);
        return;
      }
      case 'sync': {
        const n = this.nodes.get(ev.id);
        if (!n || !n.up || n.gen !== ev.gen) return;
        this.sync(n);
        return;
      }
      case 'deliver':
        this.deliver(ev.m);
        return;
      case 'fault':
        if (this.now < this.faultMs) this.fault();
        return;
      case 'restart': {
        const n = this.nodes.get(ev.id);
        if (n) this.restart(n);
        return;
      }
      case 'heal':
        this.heal();
        return;
      case 'client':
        this.clientStep(this.clients[ev.c - 1]);
        return;
      case 'timeout':
        this.timeout(this.clients[ev.c - 1], ev.seq);
        return;
    }
  }

  run(): SimResult {
    const end = this.faultMs + this.settleMs;
    let settled = false;
    let error: string | undefined;
    try {
      for (;;) {
        const next = this.q.pop();
        if (!next || next.at > end) break;
        this.now = next.at;
        if (!settled && this.now >= this.faultMs) {
          settled = true;
          this.settle();
        }
        this.stats.events++;
        if (this.catchUpMark === 0 && this.now >= end - 1000) {
          const l = this.leader();
          if (l) this.catchUpMark = l.rn.raft.raftLog.committed;
        }
        this.handle(next.ev);
        this.checkSafety();
      }
      // Writes still in flight at the end may or may not have taken effect.
      for (const cl of this.clients) {
        if (cl.op?.kind === 'put') this.history.push({ kind: 'put', key: cl.op.key, value: cl.op.value, call: cl.op.call, ret: Infinity });
      }
      const lin = checkLinearizable(this.history);
      if (!lin.ok && this.log) {
        for (const op of this.history.filter((o) => o.key === lin.badKey).sort((a, b) => a.call - b.call)) {
          this.log(`  history ${op.kind} ${op.key}=${op.value} [${op.call}, ${op.ret}]`);
        }
      }
      if (!lin.ok) throw new SafetyViolation(`linearizability: history of key ${lin.badKey} is not linearizable`);
      // Liveness after healing: with every fault gone, writes must complete again.
      if (this.putsAfterHeal === 0) throw new SafetyViolation('liveness: no write completed after every fault healed');
      // ...and every member catches up: what was committed a second before the end is applied
      // everywhere (by log replication or by snapshot).
      const l = this.leader();
      if (l && this.catchUpMark > 0) {
        for (const id of confMembers(l.conf)) {
          const n = this.nodes.get(id);
          if (n && n.up && n.kvApplied < this.catchUpMark) {
            throw new SafetyViolation(`liveness: n${id} applied ${n.kvApplied}, behind the commit index ${this.catchUpMark} of 1 s earlier`);
          }
        }
      }
      return this.result(true, undefined, lin.exhausted);
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      if (!(e instanceof SafetyViolation) && e instanceof Error && e.stack) error += `\n${e.stack}`;
      this.trace(`FAILED ${error}`);
      return this.result(false, error, false);
    }
  }

  /** End of the fault period: heal the network and restart every crashed node. */
  private settle(): void {
    this.trace('SETTLE: heal all, restart all, perfect network');
    this.partition = new Map();
    this.oneWay = new Set();
    this.dropRate = 0;
    this.dupRate = 0;
    this.maxDelay = 10;
    this.healedAt = this.now;
    for (const n of this.nodes.values()) if (!n.up && !n.removed) this.restart(n);
  }

  private result(ok: boolean, error: string | undefined, exhausted: boolean): SimResult {
    return {
      seed: this.seed,
      ok,
      ...(error === undefined ? {} : { error }),
      events: this.stats.events,
      virtualMs: this.now,
      elections: this.stats.elections,
      commits: this.stats.commits,
      crashes: this.stats.crashes,
      confChanges: this.stats.confChanges,
      snapshotsSent: this.stats.snapshotsSent,
      ops: this.history.length,
      linearizabilityExhausted: exhausted,
    };
  }
}

export function runSeed(seed: number, opts: SimOptions = {}): SimResult {
  return new Simulation(seed, opts).run();
}
