// Test helper: 3 raft-node processes whose member traffic runs through one FaultRelay per directed
// pair (node i reaches node j at relay i→j), writers appending unique values through every member,
// and the end-state safety check shared by the fault-injection tests:
//   - every member holds the same committed client entries, in the same order;
//   - no value appears twice (a value is written once and never retried);
//   - every acknowledged append is there, at the index and term it was acknowledged with;
//   - real-time order: an append acknowledged before another was sent is at a lower index;
//   - an append that failed with NotLeader or LeaderChanged is absent (those errors promise it);
//     one that timed out or lost its connection is absent or present once.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogClient } from '../../../cluster/log/index.js';
import { FaultRelay } from './fault-relay.js';
import { NodeProcess, compiledNodeAvailable, freePorts, readCommittedLog, type LogEntryView } from './node-process.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface NodeStatus {
  id: number;
  role: string;
  term: number;
  leader: number;
  commit: number;
  applied: number;
  lastIndex: number;
  peers: Array<{ id: number; match: number; lag: number; state: string }>;
}

/** One append as a writer saw it. */
export interface AppendRecord {
  value: string;
  node: number;
  start: number;
  end: number;
  ok: boolean;
  index: number;
  term: number;
  error: string;
}

const live = new Set<NodeProcess>();
let exitHookInstalled = false;

/** If jest dies mid-test, no member outlives it (each is killed by its own PID). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const n of live) {
      const pid = n.child?.pid;
      if (pid && n.running) {
        try {
          process.kill(pid, 'SIGCONT');
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

export class FaultCluster {
  readonly nodes: NodeProcess[] = [];
  /** relays.get(`${from}>${to}`): what `from` dials to reach `to`. */
  readonly relays = new Map<string, FaultRelay>();
  readonly history: AppendRecord[] = [];
  private readonly paused = new Set<number>();
  private writing = false;
  private writerDone: Array<Promise<void>> = [];
  dir = '';

  constructor(
    readonly ids: number[] = [1, 2, 3],
    readonly extraArgs: string[] = [],
  ) {}

  static async create(extraArgs: string[] = []): Promise<FaultCluster> {
    if (!compiledNodeAvailable()) throw new Error('dist/ops/raft-node.js missing: run `npx tsc -p .` first');
    installExitHook();
    const c = new FaultCluster([1, 2, 3], extraArgs);
    c.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-faults-'));
    const ports = await freePorts(2 * c.ids.length);
    const peerPort = (id: number) => ports[2 * c.ids.indexOf(id)];
    for (const from of c.ids) {
      for (const to of c.ids) {
        if (from === to) continue;
        const r = new FaultRelay(`${from}>${to}`, peerPort(to));
        await r.start();
        c.relays.set(`${from}>${to}`, r);
      }
    }
    for (const id of c.ids) {
      const peers = c.ids
        .map((p) => `${p}=127.0.0.1:${p === id ? peerPort(id) : c.relays.get(`${id}>${p}`)!.port}`)
        .join(',');
      const n = new NodeProcess(id, peerPort(id), ports[2 * c.ids.indexOf(id) + 1], path.join(c.dir, `n${id}`), peers, extraArgs);
      c.nodes.push(n);
      live.add(n);
    }
    await Promise.all(c.nodes.map((n) => n.start()));
    return c;
  }

  node(id: number): NodeProcess {
    return this.nodes[this.ids.indexOf(id)];
  }

  link(from: number, to: number): FaultRelay {
    return this.relays.get(`${from}>${to}`)!;
  }

  /** Cuts every link to and from `id`. */
  isolate(id: number, how: 'cut' | 'blackhole' | 'hold' | 'drop' | 'refuse' = 'cut'): void {
    for (const other of this.ids) {
      if (other === id) continue;
      for (const r of [this.link(id, other), this.link(other, id)]) void r[how]();
    }
  }

  healAll(): void {
    for (const r of this.relays.values()) r.heal();
  }

  /** SIGSTOP: the process is frozen (a long GC pause, a suspended VM); its sockets stay open. */
  pause(id: number): void {
    process.kill(this.node(id).child!.pid!, 'SIGSTOP');
    this.paused.add(id);
  }

  resume(id: number): void {
    process.kill(this.node(id).child!.pid!, 'SIGCONT');
    this.paused.delete(id);
  }

  async status(id: number, timeoutMs = 400): Promise<NodeStatus | undefined> {
    const n = this.node(id);
    if (!n.running || this.paused.has(id)) return undefined;
    try {
      const c = await LogClient.connect('127.0.0.1', n.clientPort, timeoutMs);
      try {
        return JSON.parse((await c.status(timeoutMs)).statusJson) as NodeStatus;
      } finally {
        c.close();
      }
    } catch {
      return undefined;
    }
  }

  async statuses(): Promise<Array<NodeStatus | undefined>> {
    return Promise.all(this.ids.map((id) => this.status(id)));
  }

  /** Polls until `pred` holds over all statuses; throws with the last ones after `timeoutMs`. */
  async waitFor(what: string, pred: (s: Array<NodeStatus | undefined>) => boolean, timeoutMs = 5000): Promise<Array<NodeStatus | undefined>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.statuses();
      if (pred(s)) return s;
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms; statuses ${JSON.stringify(s)}`);
      await sleep(50);
    }
  }

  async leader(timeoutMs = 5000): Promise<NodeStatus> {
    const s = await this.waitFor('a leader', (all) => all.some((x) => x?.role === 'leader'), timeoutMs);
    // The highest-term leader: a deposed one may not know yet.
    return s.filter((x): x is NodeStatus => x?.role === 'leader').sort((a, b) => b.term - a.term)[0];
  }

  /** The usual start of a fault run: a leader, 3 writers per member, and `settleMs` of steady load. */
  async underLoad(settleMs = 800): Promise<void> {
    await this.leader(8000);
    this.startWriters(3);
    await sleep(settleMs);
  }

  /**
   * `perNode` writers pinned to each member (followers forward to the leader). A value is never
   * retried, so a duplicate in the log is a bug, not a retry.
   */
  startWriters(perNode = 3, appendTimeoutMs = 3000): void {
    this.writing = true;
    let w = 0;
    for (const id of this.ids) for (let k = 0; k < perNode; k++) this.writerDone.push(this.writer(id, w++, appendTimeoutMs));
  }

  async stopWriters(): Promise<void> {
    this.writing = false;
    await Promise.all(this.writerDone);
    this.writerDone = [];
  }

  private async writer(id: number, w: number, timeoutMs: number): Promise<void> {
    let client: LogClient | undefined;
    let seq = 0;
    while (this.writing) {
      if (!client) {
        try {
          client = await LogClient.connect('127.0.0.1', this.node(id).clientPort, 500);
        } catch {
          await sleep(100);
          continue;
        }
      }
      const value = `n${id}w${w}-${seq++}`;
      const rec: AppendRecord = { value, node: id, start: Date.now(), end: 0, ok: false, index: 0, term: 0, error: '' };
      this.history.push(rec);
      try {
        const r = await client.append([Buffer.from(value)], timeoutMs);
        rec.ok = true;
        rec.index = r.index;
        rec.term = r.term;
      } catch (e) {
        rec.error = (e as Error).name;
        if (rec.error === 'ConnectionClosed') {
          client.close();
          client = undefined;
        }
      }
      rec.end = Date.now();
      if (!rec.ok) await sleep(20);
    }
    client?.close();
  }

  acked(): AppendRecord[] {
    return this.history.filter((r) => r.ok);
  }

  readAll(id: number): Promise<LogEntryView[]> {
    return readCommittedLog(this.node(id).clientPort);
  }

  /** Waits until every member has applied the same index under one leader that has nothing unreplicated. */
  async converge(timeoutMs = 15_000): Promise<void> {
    await this.waitFor(
      'members converge',
      (s) => {
        const lead = s.find((x) => x?.role === 'leader');
        if (!lead || s.some((x) => !x)) return false;
        return s.every((x) => x!.applied === lead.lastIndex && x!.leader === lead.id) && lead.peers.every((p) => p.lag === 0);
      },
      timeoutMs,
    );
  }

  /**
   * Ends a run: stops the writers, checks the end state, and checks it again 1.5 s later (whatever
   * was still in flight when the writers stopped and lands later must keep the rules too). Returns
   * the common log and how many entries landed after the first check.
   */
  async finish(): Promise<{ log: LogEntryView[]; late: number }> {
    await this.stopWriters();
    const log = await this.checkSafety();
    await new Promise((r) => setTimeout(r, 1500));
    const again = await this.checkSafety();
    return { log, late: again.length - log.length };
  }

  /**
   * The end-state safety check (see the file comment). Returns the common log for further checks.
   * Throws with the first violation found.
   */
  async checkSafety(): Promise<LogEntryView[]> {
    await this.converge();
    const logs = await Promise.all(this.ids.map((id) => this.readAll(id)));
    for (let i = 1; i < logs.length; i++) {
      if (JSON.stringify(logs[i]) !== JSON.stringify(logs[0])) {
        const k = logs[0].findIndex((e, j) => JSON.stringify(e) !== JSON.stringify(logs[i][j]));
        throw new Error(
          `member ${this.ids[i]} log differs from member ${this.ids[0]} (lengths ${logs[i].length}/${logs[0].length}) at position ${k}: ` +
            `${JSON.stringify(logs[i][k])} vs ${JSON.stringify(logs[0][k])}`,
        );
      }
    }
    const where = new Map<string, LogEntryView>();
    for (const e of logs[0]) {
      if (where.has(e.value)) throw new Error(`value ${e.value} is in the log twice: ${JSON.stringify([where.get(e.value), e])}`);
      where.set(e.value, e);
    }
    for (const r of this.history) {
      if (!r.ok) {
        // These two say "not appended" (the retry they invite must not duplicate); a timeout or a
        // lost connection leaves the outcome open.
        if ((r.error === 'LeaderChanged' || r.error === 'NotLeader') && where.has(r.value)) {
          throw new Error(`append failed with ${r.error} but is in the log: ${JSON.stringify([r, where.get(r.value)])}`);
        }
        continue;
      }
      const e = where.get(r.value);
      if (!e) throw new Error(`acknowledged append lost: ${JSON.stringify(r)}`);
      if (e.index !== r.index || e.term !== r.term) {
        throw new Error(`acknowledged append at another place: acked ${JSON.stringify(r)}, log has ${JSON.stringify(e)}`);
      }
    }
    this.checkRealTimeOrder(where);
    return logs[0];
  }

  /**
   * Appends are linearizable: one acknowledged before another was sent sits at a lower index (for
   * the later one whether it was acknowledged or not, if it is in the log).
   */
  private checkRealTimeOrder(where: Map<string, LogEntryView>): void {
    const acked = this.history.filter((r) => r.ok).sort((x, y) => x.end - y.end);
    const started = this.history.filter((r) => where.has(r.value)).sort((x, y) => x.start - y.start);
    let i = 0;
    let maxIndex = 0;
    let maxRec: AppendRecord | undefined;
    for (const r of started) {
      while (i < acked.length && acked[i].end < r.start) {
        if (acked[i].index > maxIndex) {
          maxIndex = acked[i].index;
          maxRec = acked[i];
        }
        i++;
      }
      const at = where.get(r.value)!.index;
      if (at <= maxIndex) {
        throw new Error(`real-time order broken: ${JSON.stringify(r)} is at ${at}, but ${JSON.stringify(maxRec)} was acked before it was sent`);
      }
    }
  }

  summary(): string {
    const failed = new Map<string, number>();
    for (const r of this.history) if (!r.ok) failed.set(r.error, (failed.get(r.error) ?? 0) + 1);
    return `${this.history.length} appends, ${this.acked().length} acked, failed ${JSON.stringify(Object.fromEntries(failed))}`;
  }

  /** Stops everything by PID, also after a failure: resumes frozen members first so SIGTERM lands. */
  async close(): Promise<void> {
    this.writing = false;
    for (const id of [...this.paused]) {
      try {
        this.resume(id);
      } catch {
        // already gone
      }
    }
    await Promise.all(this.writerDone).catch(() => undefined);
    await Promise.all(this.nodes.map((n) => n.stop()));
    for (const n of this.nodes) live.delete(n);
    await Promise.all([...this.relays.values()].map((r) => r.close()));
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
