// Prometheus metrics of one replicated log, registered on a registry owned by the caller.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the gauges report, read when metrics are scraped. */
export interface RaftGaugeSource {
  term: number;
  commit: number;
  applied: number;
}

export class RaftMetrics {
  readonly term: Gauge;
  readonly commitIndex: Gauge;
  readonly applyLag: Gauge;
  readonly leaderChanges: Counter;
  readonly appendLatency: Histogram;

  /**
   * Term, commit index and apply lag are read from `source` at scrape time (prom-client collect),
   * not set on every Ready: a Ready per append made the gauge updates a per-append cost.
   */
  constructor(registry: Registry, source: () => RaftGaugeSource) {
    const registers = [registry];
    this.term = new Gauge({
      name: 'siphon_raft_term',
      help: 'Current Raft term',
      registers,
      collect() {
        this.set(source().term);
      },
    });
    this.commitIndex = new Gauge({
      name: 'siphon_raft_commit_index',
      help: 'Highest committed log index',
      registers,
      collect() {
        this.set(source().commit);
      },
    });
    this.applyLag = new Gauge({
      name: 'siphon_raft_apply_lag',
      help: 'Committed entries not yet applied',
      registers,
      collect() {
        const s = source();
        this.set(Math.max(0, s.commit - s.applied));
      },
    });
    this.leaderChanges = new Counter({
      name: 'siphon_raft_leader_changes_total',
      help: 'Times this node observed a new leader',
      registers,
    });
    this.appendLatency = new Histogram({
      name: 'siphon_raft_append_latency_seconds',
      help: 'append() latency from call to commit on this node',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }
}
