import type { NodeId } from '../types.js';
import { MajorityConfig, type AckedIndexer } from './majority.js';
import { VoteResult } from './vote-result.js';

/**
 * Joint consensus (Raft thesis §4.3): decisions need a majority of the incoming AND of the
 * outgoing voter set. Outside a joint configuration `outgoing` is empty and neutral.
 */
export class JointConfig {
  constructor(
    readonly incoming: MajorityConfig = new MajorityConfig(),
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  get isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** Every voter of either half. */
  ids(): Set<NodeId> {
    return new Set([...this.incoming.ids, ...this.outgoing.ids]);
  }

  has(id: NodeId): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  committedIndex(acked: AckedIndexer): number {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
    return VoteResult.Pending; // one side won, the other is still pending
  }

  toString(): string {
    return this.isJoint ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }
}
