import { JointConfig, MajorityConfig } from '../quorum/index.js';
import { Inflights, Progress, cloneTrackerConfig, type ProgressMap, type TrackerConfig } from '../tracker/index.js';
import { ConfChangeType, type ConfChangeSingle, type ConfState, type NodeId } from '../types.js';

export class ConfChangeError extends Error {
  override name = 'ConfChangeError';
}

/**
 * Computes a new configuration and progress map from the current one; never mutates its input,
 * so a refused change leaves the tracker untouched. Raft thesis §4.1 (one server at a time)
 * and §4.3 (joint consensus: C_old,new then C_new).
 */
export class Changer {
  constructor(
    private readonly config: TrackerConfig,
    private readonly progress: ProgressMap,
    private readonly lastIndex: number,
    private readonly maxInflight: number,
    private readonly maxInflightBytes: number,
  ) {}

  /** Enters C_old,new: outgoing = current voters, incoming = current voters + changes. */
  enterJoint(autoLeave: boolean, ccs: ConfChangeSingle[]): [TrackerConfig, ProgressMap] {
    const [cfg, prs] = this.checkAndCopy();
    if (cfg.voters.isJoint) throw new ConfChangeError('config is already joint');
    if (cfg.voters.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    const outgoing = new MajorityConfig(cfg.voters.incoming.ids);
    const incoming = new Set(cfg.voters.incoming.ids);
    this.apply(cfg, prs, incoming, outgoing, ccs);
    cfg.voters = new JointConfig(new MajorityConfig(incoming), outgoing);
    cfg.autoLeave = autoLeave;
    return this.checkAndReturn(cfg, prs);
  }

  /** Leaves C_old,new for C_new: outgoing voters not in C_new are removed or become learners. */
  leaveJoint(): [TrackerConfig, ProgressMap] {
    const [cfg, prs] = this.checkAndCopy();
    if (!cfg.voters.isJoint) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext) {
      cfg.learners.add(id);
      const pr = prs.get(id);
      if (pr) pr.isLearner = true;
    }
    cfg.learnersNext.clear();
    for (const id of cfg.voters.outgoing.ids) {
      if (!cfg.voters.incoming.has(id) && !cfg.learners.has(id)) prs.delete(id);
    }
    cfg.voters = new JointConfig(cfg.voters.incoming, new MajorityConfig());
    cfg.autoLeave = false;
    return this.checkAndReturn(cfg, prs);
  }

  /** One voter added or removed at a time (any number of learner changes). */
  simple(ccs: ConfChangeSingle[]): [TrackerConfig, ProgressMap] {
    const [cfg, prs] = this.checkAndCopy();
    if (cfg.voters.isJoint) throw new ConfChangeError("can't apply simple config change in joint config");
    const incoming = new Set(cfg.voters.incoming.ids);
    this.apply(cfg, prs, incoming, cfg.voters.outgoing, ccs);
    let diff = 0;
    for (const id of incoming) if (!cfg.voters.incoming.has(id)) diff++;
    for (const id of cfg.voters.incoming.ids) if (!incoming.has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
    cfg.voters = new JointConfig(new MajorityConfig(incoming), new MajorityConfig());
    return this.checkAndReturn(cfg, prs);
  }

  private apply(
    cfg: TrackerConfig,
    prs: ProgressMap,
    incoming: Set<NodeId>,
    outgoing: MajorityConfig,
    ccs: ConfChangeSingle[],
  ): void {
    for (const cc of ccs) {
      if (!Number.isInteger(cc.nodeId) || cc.nodeId <= 0) throw new ConfChangeError(`invalid node id ${cc.nodeId}`);
      switch (cc.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(cfg, prs, incoming, cc.nodeId);
          break;
        case ConfChangeType.AddLearner:
          this.makeLearner(cfg, prs, incoming, outgoing, cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          this.remove(cfg, prs, incoming, outgoing, cc.nodeId);
          break;
        default:
          throw new ConfChangeError(`unknown conf change type ${String(cc.type)}`);
      }
    }
    if (incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private initProgress(prs: ProgressMap, id: NodeId, isLearner: boolean): void {
    // A new member starts probing at the leader's last index; recentActive so that a
    // freshly added member does not make CheckQuorum fail immediately.
    const pr = new Progress(Math.max(this.lastIndex, 1), new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
    pr.recentActive = true;
    prs.set(id, pr);
  }

  private makeVoter(cfg: TrackerConfig, prs: ProgressMap, incoming: Set<NodeId>, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(prs, id, false);
    } else {
      pr.isLearner = false;
    }
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    incoming.add(id);
  }

  private makeLearner(
    cfg: TrackerConfig,
    prs: ProgressMap,
    incoming: Set<NodeId>,
    outgoing: MajorityConfig,
    id: NodeId,
  ): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(prs, id, true);
      cfg.learners.add(id);
      return;
    }
    if (cfg.learners.has(id)) return;
    incoming.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    // A voter of the outgoing config keeps voting there until the joint config is left.
    if (outgoing.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  private remove(
    cfg: TrackerConfig,
    prs: ProgressMap,
    incoming: Set<NodeId>,
    outgoing: MajorityConfig,
    id: NodeId,
  ): void {
    if (!prs.has(id)) return;
    incoming.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    if (!outgoing.has(id)) prs.delete(id);
  }

  private checkAndCopy(): [TrackerConfig, ProgressMap] {
    const cfg = cloneTrackerConfig(this.config);
    const prs: ProgressMap = new Map();
    for (const [id, pr] of this.progress) prs.set(id, pr.clone());
    checkInvariants(cfg, prs);
    return [cfg, prs];
  }

  private checkAndReturn(cfg: TrackerConfig, prs: ProgressMap): [TrackerConfig, ProgressMap] {
    checkInvariants(cfg, prs);
    return [cfg, prs];
  }
}

function checkInvariants(cfg: TrackerConfig, prs: ProgressMap): void {
  for (const ids of [cfg.voters.ids(), cfg.learners, cfg.learnersNext]) {
    for (const id of ids) if (!prs.has(id)) throw new ConfChangeError(`no progress for ${id}`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.voters.outgoing.has(id)) throw new ConfChangeError(`${id} is in learnersNext but not outgoing`);
    if (prs.get(id)?.isLearner) throw new ConfChangeError(`${id} is in learnersNext but marked learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.voters.has(id)) throw new ConfChangeError(`${id} is both learner and voter`);
    if (!prs.get(id)?.isLearner) throw new ConfChangeError(`${id} is learner but not marked`);
  }
  if (!cfg.voters.isJoint) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError('learnersNext outside joint config');
    if (cfg.autoLeave) throw new ConfChangeError('autoLeave outside joint config');
  }
}

/** Rebuilds tracker state from a persisted ConfState (boot or snapshot restore). */
export function restoreConfState(
  cs: ConfState,
  lastIndex: number,
  maxInflight: number,
  maxInflightBytes: number,
): [TrackerConfig, ProgressMap] {
  const cfg: TrackerConfig = {
    voters: new JointConfig(new MajorityConfig(cs.voters), new MajorityConfig(cs.votersOutgoing)),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.votersOutgoing.length > 0 && cs.autoLeave,
  };
  const prs: ProgressMap = new Map();
  const all = new Set<NodeId>([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
  for (const id of all) {
    const pr = new Progress(lastIndex + 1, new Inflights(maxInflight, maxInflightBytes), cfg.learners.has(id));
    pr.recentActive = true;
    prs.set(id, pr);
  }
  checkInvariants(cfg, prs);
  return [cfg, prs];
}
