// Per-append stage timings on the leader, for finding where commit latency goes (bench/debug only:
// enabled by SIPHON_RAFT_TRACE=1, otherwise every call returns at once). On stop the summary is
// written to stderr as one JSON line: percentiles of each stage, and the mean stages of the slowest
// 2 % of appends (the tail's anatomy). SIGUSR2 resets the record (measure after a warm-up).
import { performance } from 'node:perf_hooks';
import type { NodeId } from '../raft/types.js';

interface Stages {
  proposed: number;
  sent?: number;
  durable?: number;
  acks: number[];
}

const STAGES = ['toSend', 'firstAck', 'secondAck', 'ownFsync', 'total'] as const;

export class CommitTrace {
  readonly enabled = process.env.SIPHON_RAFT_TRACE === '1';
  private readonly open = new Map<number, Stages>();
  private readonly pendingProposals: number[] = [];
  private readonly rows: number[][] = [];
  /** Follower side: AppendEntries received → its WAL write returned → the answer sent. */
  private appReceived = NaN;
  private appWritten = NaN;
  private readonly followerRows: number[][] = [];

  constructor() {
    // SIGUSR2 forgets what was recorded so far: a bench measures after its warm-up.
    if (this.enabled) process.on('SIGUSR2', () => this.reset());
  }

  private reset(): void {
    this.rows.length = 0;
    this.followerRows.length = 0;
  }

  followerReceived(): void {
    if (this.enabled && Number.isNaN(this.appReceived)) this.appReceived = performance.now();
  }

  followerWritten(): void {
    if (this.enabled && !Number.isNaN(this.appReceived)) this.appWritten = performance.now();
  }

  followerAnswered(): void {
    if (!this.enabled || Number.isNaN(this.appReceived) || Number.isNaN(this.appWritten)) return;
    const t = performance.now();
    if (this.followerRows.length < 200_000) this.followerRows.push([this.appWritten - this.appReceived, t - this.appReceived]);
    this.appReceived = NaN;
    this.appWritten = NaN;
  }

  proposed(count: number): void {
    if (!this.enabled) return;
    const t = performance.now();
    for (let i = 0; i < count; i++) this.pendingProposals.push(t);
  }

  /** Entries [from, to] left in an AppendEntries (the leader appended them to its log). */
  sent(from: number, to: number): void {
    if (!this.enabled) return;
    const t = performance.now();
    for (let i = from; i <= to; i++) {
      if (this.open.has(i)) continue;
      const proposed = this.pendingProposals.shift() ?? t;
      this.open.set(i, { proposed, sent: t, acks: [] });
    }
  }

  peerAck(_peer: NodeId, index: number): void {
    if (!this.enabled) return;
    const t = performance.now();
    for (const [i, s] of this.open) if (i <= index && s.acks.length < 8) s.acks.push(t);
  }

  durable(index: number): void {
    if (!this.enabled) return;
    const t = performance.now();
    for (const [i, s] of this.open) if (i <= index && s.durable === undefined) s.durable = t;
  }

  acked(index: number): void {
    if (!this.enabled) return;
    const s = this.open.get(index);
    if (!s) return;
    const t = performance.now();
    for (const i of this.open.keys()) if (i <= index) this.open.delete(i);
    const sent = s.sent ?? s.proposed;
    const rel = (x: number | undefined): number => (x === undefined ? NaN : x - sent);
    if (this.rows.length < 200_000) {
      this.rows.push([sent - s.proposed, rel(s.acks[0]), rel(s.acks[1]), rel(s.durable), t - s.proposed]);
    }
  }

  summary(): Record<string, unknown> {
    const n = this.rows.length;
    if (n === 0) {
      const f = this.followerRows;
      const q = (k: number, p: number): number => {
        const xs = f.map((r) => r[k]).sort((a, b) => a - b);
        return xs.length === 0 ? NaN : round(xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]);
      };
      return { appends: 0, followerAppends: f.length, toWritten: { p50: q(0, 50), p90: q(0, 90), p99: q(0, 99) }, toAnswered: { p50: q(1, 50), p90: q(1, 90), p99: q(1, 99) } };
    }
    const pct = (k: number, p: number): number => {
      const xs = this.rows.map((r) => r[k]).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      return xs.length === 0 ? NaN : round(xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]);
    };
    const out: Record<string, unknown> = { appends: n };
    STAGES.forEach((name, k) => (out[name] = { p50: pct(k, 50), p90: pct(k, 90), p99: pct(k, 99) }));
    const slow = [...this.rows].sort((a, b) => b[4] - a[4]).slice(0, Math.max(1, Math.floor(n / 50)));
    out.slowest2pct = Object.fromEntries(
      STAGES.map((name, k) => {
        const xs = slow.map((r) => r[k]).filter((x) => !Number.isNaN(x));
        return [name, round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length))];
      }),
    );
    return out;
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
