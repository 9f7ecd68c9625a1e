import type { NodeId } from '../types.js';
import { sortSmallAscending } from './small-sort.js';
import { VoteResult } from './vote-result.js';

const scratch: number[] = [];

/** Looks up how far a voter has acknowledged the log; undefined if unknown. */
export type AckedIndexer = (id: NodeId) => number | undefined;

/**
 * A simple majority configuration (Raft §5.2: a candidate wins with votes from a majority;
 * §5.3: an entry is committed once a majority stores it).
 */
export class MajorityConfig {
  readonly ids: ReadonlySet<NodeId>;

  constructor(ids: Iterable<NodeId> = []) {
    this.ids = new Set(ids);
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: NodeId): boolean {
    return this.ids.has(id);
  }

  sorted(): NodeId[] {
    return [...this.ids].sort((a, b) => a - b);
  }

  /**
   * The largest index acknowledged by a majority. An empty configuration returns +Infinity so
   * that it is neutral inside a joint configuration (min with the other half).
   */
  committedIndex(acked: AckedIndexer): number {
    const n = this.ids.size;
    if (n === 0) return Number.POSITIVE_INFINITY;
    // One scratch array for every call (pure, single-threaded, `acked` never re-enters): this runs
    // per acknowledgement on the leader and must not allocate.
    const idx = scratch;
    let i = 0;
    for (const id of this.ids) idx[i++] = acked(id) ?? 0;
    sortSmallAscending(idx, n);
    // With n voters sorted ascending, the entry at n - (n/2 + 1) is held by a majority.
    return idx[n - (Math.floor(n / 2) + 1)];
  }

  /** Tallies yes/no votes; absent voters count as not-yet-answered. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const n = this.ids.size;
    if (n === 0) return VoteResult.Won; // neutral element of a joint configuration
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(n / 2) + 1;
    if (yes >= q) return VoteResult.Won;
    if (yes + missing >= q) return VoteResult.Pending;
    return VoteResult.Lost;
  }

  toString(): string {
    return `(${this.sorted().join(' ')})`;
  }
}
