// Bad input never corrupts the core: random (well- and ill-formed) messages stepped into a node
// either are handled or are refused with a typed error, and the core's invariants hold after each.
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import { ErrCommittedConflict } from '../../../cluster/raft/log.js';
import { ErrProposalDropped } from '../../../cluster/raft/raft.js';
import { ErrInvalidMessage, ErrStepLocalMsg, RawNode } from '../../../cluster/raft/rawnode.js';
import { EntryType, MessageType, type Message } from '../../../cluster/raft/types.js';
import { Prng } from '../../raft/sim/prng.js';
import { enc, ent } from './harness.js';

const TYPED = [ErrInvalidMessage, ErrStepLocalMsg, ErrProposalDropped, ErrCommittedConflict];

function randomMessage(r: Prng, term: number): Message {
  const type = r.int(0, 21) as MessageType; // includes two unknown types
  const t = r.chance(0.1) ? -1 : r.chance(0.05) ? Number.NaN : Math.max(0, term + r.int(-2, 2));
  const index = r.int(0, 12);
  const n = r.int(0, 3);
  const entries = Array.from({ length: n }, (_, i) => ent(index + 1 + i, Math.max(0, t - r.int(0, 1)), r.chance(0.5) ? 'x' : ''));
  const m: Message = {
    type,
    from: r.int(0, 4),
    to: 1,
    term: t,
    logTerm: r.int(0, term + 1),
    index,
    entries,
    commit: r.int(0, 14),
    reject: r.chance(0.3),
    rejectHint: r.int(0, 12),
  };
  if (r.chance(0.2)) m.context = enc(`c${r.int(0, 3)}`);
  if (type === MessageType.Snap && r.chance(0.8)) {
    m.snapshot = {
      metadata: { index: r.int(0, 15), term: r.int(0, term + 1), conf: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
      data: enc('snap'),
    };
    m.snapshotOffset = 0;
    m.snapshotDone = true;
  }
  return m;
}

test('10,000 random messages: typed refusals only, invariants hold', () => {
  const r = new Prng(12345);
  for (let round = 0; round < 20; round++) {
    const st = new MemoryStorage({ voters: [1, 2, 3] });
    const rn = new RawNode({ id: 1, storage: st, random: () => r.next(), checkQuorum: r.chance(0.5), preVote: r.chance(0.5) });
    let lastTerm = 0;
    for (let i = 0; i < 500; i++) {
      const m = randomMessage(r, rn.status().term);
      try {
        if (r.chance(0.05)) rn.tick();
        else if (r.chance(0.02)) rn.propose(enc('p'));
        else rn.step(m);
      } catch (e) {
        if (!TYPED.some((T) => e instanceof T)) throw e;
      }
      if (rn.hasReady()) {
        const rd = rn.ready();
        if (rd.snapshot) st.applySnapshot(rd.snapshot);
        st.append(rd.entries);
        if (rd.hardState) st.setHardState(rd.hardState);
        for (const e of rd.committedEntries) expect(e.type in EntryType).toBe(true);
        rn.advance(rd);
      }
      const s = rn.status();
      const log = rn.raft.raftLog;
      expect(s.term).toBeGreaterThanOrEqual(lastTerm);
      expect(s.applied).toBeLessThanOrEqual(s.commit);
      expect(s.commit).toBeLessThanOrEqual(log.lastIndex());
      lastTerm = s.term;
    }
  }
});
