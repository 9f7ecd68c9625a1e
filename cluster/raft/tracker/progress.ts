import { Inflights } from './inflights.js';

/**
 * How the leader talks to one follower (etcd-raft progress states):
 * - Probe: the leader does not know the follower's last index; one AppendEntries at a time.
 * - Replicate: steady state; AppendEntries are pipelined, bounded by the inflights window.
 * - Snapshot: the follower needs a snapshot; replication pauses until it is reported done.
 */
export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

export class Progress {
  match = 0;
  next: number;
  state = ProgressState.Probe;
  /** Index of the snapshot being sent while in Snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round (Raft thesis §6.2). */
  recentActive = false;
  /** In Probe state: an append was sent and no answer came yet. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, inflights: Inflights, isLearner = false) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower is known to hold at least the snapshot index.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Bookkeeping after an AppendEntries carrying `entries` entries (`bytes` payload) was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        const last = this.next + entries - 1;
        this.next = last + 1;
        this.inflights.add(last, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    }
  }

  /** A successful AppendEntries response up to `n`; false if it was stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejected AppendEntries for prev index `rejected`; `matchHint` is the follower's hint
   * (already refined by the leader with the follower's conflicting term, Raft §5.3 optimisation).
   * Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // Pipelined: a rejection for anything at or below match is stale.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // Probe: only the rejection of the last probe (next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  clone(): Progress {
    const p = new Progress(this.next, this.inflights.clone(), this.isLearner);
    p.match = this.match;
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    return p;
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.state === ProgressState.Snapshot) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}`;
    if (this.msgAppFlowPaused) s += ' paused';
    return s;
  }
}
