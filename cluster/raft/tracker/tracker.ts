import { JointConfig, MajorityConfig, VoteResult } from '../quorum/index.js';
import type { ConfState, NodeId } from '../types.js';
import { Progress } from './progress.js';

/** A membership configuration as the leader tracks it. */
export interface TrackerConfig {
  voters: JointConfig;
  /** Non-voting members: receive the log, are never counted in a quorum. */
  learners: Set<NodeId>;
  /** Outgoing voters that become learners when the joint configuration is left. */
  learnersNext: Set<NodeId>;
  /** Leave the joint configuration automatically once it is applied. */
  autoLeave: boolean;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: new JointConfig(), learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: new JointConfig(new MajorityConfig(c.voters.incoming.ids), new MajorityConfig(c.voters.outgoing.ids)),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export type ProgressMap = Map<NodeId, Progress>;

const sortIds = (s: Iterable<NodeId>): NodeId[] => [...s].sort((a, b) => a - b);

export function configToConfState(c: TrackerConfig): ConfState {
  return {
    voters: c.voters.incoming.sorted(),
    learners: sortIds(c.learners),
    votersOutgoing: c.voters.outgoing.sorted(),
    learnersNext: sortIds(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** The configuration plus each member's replication progress and the votes of the current election. */
export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  votes = new Map<NodeId, boolean>();
  private idCache: { map: ProgressMap; ids: readonly NodeId[] } = { map: new Map(), ids: [] };

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return configToConfState(this.config);
  }

  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && !this.config.voters.isJoint;
  }

  /** Highest index replicated on a quorum of voters (learners never count). */
  committed(): number {
    return this.config.voters.committedIndex((id) => this.progress.get(id)?.match);
  }

  /** Visits members in id order so that message order is deterministic. */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    for (const id of this.sortedProgressIds()) f(id, this.progress.get(id) as Progress);
  }

  /**
   * Members in id order (etcd visits deterministically). Runs per broadcast, so the sorted list is
   * kept while the progress map holds the same members; it is replaced, never mutated, so a visit
   * in progress keeps iterating its own copy.
   */
  private sortedProgressIds(): readonly NodeId[] {
    const c = this.idCache;
    if (c.map === this.progress && c.ids.length === this.progress.size) {
      let same = true;
      for (const id of c.ids) if (!this.progress.has(id)) same = false;
      if (same) return c.ids;
    }
    this.idCache = { map: this.progress, ids: sortIds(this.progress.keys()) };
    return this.idCache.ids;
  }

  /** True if a quorum of voters was heard from recently (Raft thesis §6.2 CheckQuorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return this.config.voters.voteResult(votes) === VoteResult.Won;
  }

  voterNodes(): NodeId[] {
    return sortIds(this.config.voters.ids());
  }

  learnerNodes(): NodeId[] {
    return sortIds(this.config.learners);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records a vote; a voter's first answer in an election is final. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}
