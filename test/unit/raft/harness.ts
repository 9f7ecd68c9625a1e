// Test harness for the pure Raft core: an in-memory network in the style of etcd's raft tests.
// Messages are delivered synchronously until quiescence; nothing here uses real time or sockets.
import { Raft, type RaftConfig } from '../../../cluster/raft/raft.js';
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import {
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
} from '../../../cluster/raft/types.js';
import { seeded } from '../../helpers/seeded.js';
export { seeded };

/** Deterministic PRNG (mulberry32) so randomized election timeouts are reproducible. */
export interface TestRaftOpts extends Partial<RaftConfig> {
  learners?: NodeId[];
  conf?: Partial<ConfState>;
}

export function newTestRaft(id: NodeId, peers: NodeId[], election = 10, heartbeat = 1, opts: TestRaftOpts = {}): Raft {
  const storage = opts.storage ?? new MemoryStorage({ voters: peers, learners: opts.learners ?? [], ...opts.conf });
  return new Raft({ id, electionTick: election, heartbeatTick: heartbeat, random: seeded(id), ...opts, storage });
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export function ent(index: number, term: number, data = '', type = EntryType.Normal): Entry {
  return { index, term, type, data: enc(data) };
}

/** Storage pre-filled with entries of the given terms at indexes 1..n. */
export function storageWithTerms(terms: number[], voters: NodeId[]): MemoryStorage {
  const s = new MemoryStorage({ voters });
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return s;
}

export function msg(m: Partial<Message> & { type: MessageType }): Message {
  return { from: 0, to: 0, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...m };
}

export function takeMsgs(r: Raft): Message[] {
  const m = r.msgs;
  r.msgs = [];
  return m;
}

/** One line per message, like etcd's interaction traces. */
export function describe(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type]} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit) s += ` Commit:${m.commit}`;
  if (m.entries.length) s += ` Entries:[${m.entries.map((e) => `${e.term}/${e.index}${e.data.length ? ' ' + dec(e.data) : ''}`).join(', ')}]`;
  if (m.snapshot) s += ` Snapshot:${m.snapshot.metadata.term}/${m.snapshot.metadata.index}@${m.snapshotOffset ?? 0}${m.snapshotDone ? ' done' : ''}`;
  return s;
}

type Peer = Raft | null; // null: a black hole that swallows messages

export class Network {
  readonly peers = new Map<NodeId, Peer>();
  readonly storage = new Map<NodeId, MemoryStorage>();
  private readonly dropm = new Map<string, number>(); // "from-to" -> drop probability 0..1
  private readonly ignorem = new Set<MessageType>();
  readonly trace: string[] = [];
  tracing = false;
  private readonly rnd = seeded(42);
  msgHook: ((m: Message) => boolean) | undefined;

  /** Each element: a Raft, null for a black hole, or undefined for a fresh default node. */
  constructor(peers: (Peer | undefined)[], opts: TestRaftOpts = {}) {
    const ids = peers.map((_, i) => i + 1);
    peers.forEach((p, i) => {
      const id = i + 1;
      if (p === undefined) {
        const st = new MemoryStorage({ voters: ids });
        this.storage.set(id, st);
        this.peers.set(id, newTestRaft(id, ids, 10, 1, { ...opts, storage: st }));
      } else {
        this.peers.set(id, p);
      }
    });
  }

  raft(id: NodeId): Raft {
    const p = this.peers.get(id);
    if (!p) throw new Error(`no raft ${id}`);
    return p;
  }

  send(...msgs: Message[]): void {
    const queue = [...msgs];
    let guard = 0;
    while (queue.length > 0) {
      if (++guard > 100000) throw new Error('network did not quiesce');
      const m = queue.shift() as Message;
      const p = this.peers.get(m.to);
      if (!p) continue;
      if (this.tracing) this.trace.push(describe(m));
      p.step(m);
      queue.push(...this.filter(takeMsgs(p)));
    }
  }

  /** Delivers whatever the nodes have queued (after a tick, for instance). */
  flush(): void {
    const out: Message[] = [];
    for (const p of this.peers.values()) if (p) out.push(...this.filter(takeMsgs(p)));
    this.send(...out);
  }

  private filter(msgs: Message[]): Message[] {
    return msgs.filter((m) => {
      if (this.ignorem.has(m.type)) return false;
      if (m.type === MessageType.Hup) throw new Error('unexpected local message on the wire');
      if (this.msgHook && !this.msgHook(m)) return false;
      const p = this.dropm.get(`${m.from}-${m.to}`) ?? 0;
      return !(p > 0 && this.rnd() < p);
    });
  }

  drop(from: NodeId, to: NodeId, perc: number): void {
    this.dropm.set(`${from}-${to}`, perc);
  }

  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b, 2);
    this.drop(b, a, 2);
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignorem.add(t);
  }

  recover(): void {
    this.dropm.clear();
    this.ignorem.clear();
  }
}

export function hup(id: NodeId): Message {
  return msg({ type: MessageType.Hup, from: id, to: id });
}

export function prop(id: NodeId, data: string): Message {
  return msg({ type: MessageType.Prop, from: id, to: id, entries: [ent(0, 0, data)] });
}

/** Committed entry payloads (non-empty Normal entries) of a node, for comparing logs. */
export function committedData(r: Raft): string[] {
  const out: string[] = [];
  const lo = r.raftLog.firstIndex();
  for (const e of r.raftLog.slice(lo, r.raftLog.committed + 1, Number.MAX_SAFE_INTEGER)) {
    if (e.type === EntryType.Normal && e.data.length) out.push(dec(e.data));
  }
  return out;
}

export function logTerms(r: Raft): number[] {
  const ents = r.raftLog.slice(r.raftLog.firstIndex(), r.raftLog.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
  return ents.map((e) => e.term);
}
