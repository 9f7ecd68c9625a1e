// The Ready/advance hand-off, restart from storage, status and input validation.
import { decodeConfChange } from '../../../cluster/raft/confchange/index.js';
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import { ErrProposalDropped } from '../../../cluster/raft/raft.js';
import { ErrInvalidMessage, ErrStepLocalMsg, RawNode } from '../../../cluster/raft/rawnode.js';
import { ConfChangeType, EntryType, MessageType, StateRole, type Ready } from '../../../cluster/raft/types.js';
import { dec, enc, ent, msg, seeded } from './harness.js';

function persist(st: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) st.applySnapshot(rd.snapshot);
  st.append(rd.entries);
  if (rd.hardState) st.setHardState(rd.hardState);
}

describe('RawNode', () => {
  test('single node: campaign, propose, Ready carries entries to persist then commit to apply', () => {
    const st = new MemoryStorage({ voters: [1] });
    const rn = new RawNode({ id: 1, storage: st, random: seeded(1) });
    rn.campaign();
    let rd = rn.ready();
    expect(rd.softState).toEqual({ lead: 1, role: StateRole.Leader });
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(rd.entries.map((e) => [e.index, e.term, e.type])).toEqual([[1, 1, EntryType.Noop]]);
    expect(rd.mustSync).toBe(true);
    // One voter: the noop is committed in the same Ready that persists it (apply after persisting).
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]);
    persist(st, rd);
    rn.advance(rd);
    rn.propose(enc('hello'));
    expect(rn.hasReady()).toBe(true);
    rd = rn.ready();
    persist(st, rd);
    expect(rd.committedEntries.map((e) => dec(e.data))).toEqual(['hello']);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
    expect(rn.status()).toMatchObject({ term: 1, commit: 2, applied: 2, role: StateRole.Leader, lead: 1 });
    expect(rn.status().progress.get(1)).toMatchObject({ match: 2, next: 3 });
  });

  test('restart from storage keeps term, vote, log and commit; applied entries are not handed out again', () => {
    const st = new MemoryStorage({ voters: [1] });
    const rn = new RawNode({ id: 1, storage: st, random: seeded(1) });
    rn.campaign();
    for (let i = 0; i < 3; i++) {
      const rd = rn.ready();
      persist(st, rd);
      rn.advance(rd);
      rn.propose(enc(`e${i}`));
    }
    const rd = rn.ready();
    persist(st, rd);
    rn.advance(rd);
    const again = new RawNode({ id: 1, storage: st, applied: 3, random: seeded(2) });
    const s = again.status();
    expect([s.term, s.vote, s.commit, s.applied, s.role]).toEqual([1, 1, 4, 3, StateRole.Follower]);
    const rd2 = again.ready();
    expect(rd2.committedEntries.map((e) => dec(e.data))).toEqual(['e2']);
  });

  test('restart after a crash between persisting a snapshot and its hard state', () => {
    const st = new MemoryStorage();
    st.applySnapshot({ metadata: { index: 5, term: 2, conf: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: enc('s') });
    st.setHardState({ term: 2, vote: 0, commit: 0 }); // the hard state of the snapshot never hit the disk
    const rn = new RawNode({ id: 1, storage: st, applied: 5, random: seeded(1) });
    expect([rn.status().commit, rn.status().applied]).toEqual([5, 5]);
    // A commit index beyond the log means acknowledged entries were lost: refuse to start.
    st.setHardState({ term: 2, vote: 0, commit: 9 });
    expect(() => new RawNode({ id: 1, storage: st, random: seeded(1) })).toThrow(/past the last log index/);
  });

  test('conf changes round-trip through the log and applyConfChange', () => {
    const st = new MemoryStorage({ voters: [1] });
    const rn = new RawNode({ id: 1, storage: st, random: seeded(1) });
    rn.campaign();
    let rd = rn.ready();
    persist(st, rd);
    rn.advance(rd);
    rn.proposeConfChange({ changes: [{ type: ConfChangeType.AddLearner, nodeId: 2 }] });
    rd = rn.ready();
    persist(st, rd);
    const ccEnt = rd.committedEntries.find((e) => e.type === EntryType.ConfChange)!;
    const cs = rn.applyConfChange(decodeConfChange(ccEnt.data));
    expect(cs).toEqual({ voters: [1], learners: [2], votersOutgoing: [], learnersNext: [], autoLeave: false });
    rn.advance(rd);
    expect(rn.status().config.learners).toEqual([2]);
  });

  test('proposals without a leader are dropped with ErrProposalDropped', () => {
    const rn = new RawNode({ id: 1, storage: new MemoryStorage({ voters: [1, 2, 3] }), random: seeded(1) });
    expect(() => rn.propose(enc('x'))).toThrow(ErrProposalDropped);
  });

  test('input validation: local types and malformed messages are refused, core untouched', () => {
    const rn = new RawNode({ id: 1, storage: new MemoryStorage({ voters: [1, 2, 3] }), random: seeded(1) });
    expect(() => rn.step(msg({ type: MessageType.Hup, from: 2, to: 1 }))).toThrow(ErrStepLocalMsg);
    const bad = [
      msg({ type: MessageType.App, from: 2, to: 1, term: Number.NaN }),
      msg({ type: MessageType.App, from: 2, to: 1, term: -1 }),
      msg({ type: 99 as MessageType, from: 2, to: 1, term: 1 }),
      msg({ type: MessageType.App, from: 2, to: 1, term: 1, index: 0, entries: [ent(2, 1)] }), // gap
      msg({ type: MessageType.App, from: 2, to: 1, term: 1, index: 0, entries: [ent(1, 5)] }), // term > leader term
      msg({ type: MessageType.Snap, from: 2, to: 1, term: 1 }),
      { ...msg({ type: MessageType.App, from: 2, to: 1, term: 1 }), entries: 'x' as unknown as [] },
    ];
    for (const m of bad) expect(() => rn.step(m)).toThrow(ErrInvalidMessage);
    expect(rn.status().term).toBe(0);
    expect(rn.hasReady()).toBe(false);
  });

  test('responses from non-members are ignored', () => {
    const rn = new RawNode({ id: 1, storage: new MemoryStorage({ voters: [1, 2, 3] }), random: seeded(1) });
    rn.campaign();
    rn.step(msg({ type: MessageType.VoteResp, from: 9, to: 1, term: 1 }));
    rn.step(msg({ type: MessageType.VoteResp, from: 8, to: 1, term: 1 }));
    expect(rn.status().role).toBe(StateRole.Candidate);
  });

  test('ReadIndex on a single-voter leader answers at once with the commit index', () => {
    const st = new MemoryStorage({ voters: [1] });
    const rn = new RawNode({ id: 1, storage: st, random: seeded(1) });
    rn.campaign();
    const rd = rn.ready();
    persist(st, rd);
    rn.advance(rd);
    rn.readIndex(enc('q'));
    expect(rn.ready().readStates.map((r) => [r.index, dec(r.requestCtx)])).toEqual([[1, 'q']]);
  });
});
