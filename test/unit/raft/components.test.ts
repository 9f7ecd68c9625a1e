// The building blocks on their own: inflights, progress, unstable log, raft log, memory
// storage, conf change codec and changer, read-only queue.
import { Changer, ConfChangeError, decodeConfChange, encodeConfChange, restoreConfState } from '../../../cluster/raft/confchange/index.js';
import { Unstable } from '../../../cluster/raft/log-unstable.js';
import { RaftLog } from '../../../cluster/raft/log.js';
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import { ReadOnly } from '../../../cluster/raft/read-only.js';
import { ErrCompacted, ErrUnavailable } from '../../../cluster/raft/storage.js';
import { Inflights, Progress, ProgressState } from '../../../cluster/raft/tracker/index.js';
import { ConfChangeTransition, ConfChangeType, MessageType } from '../../../cluster/raft/types.js';
import { enc, ent, msg } from './harness.js';

describe('Inflights', () => {
  test('bounded by count, freed in order, wraps around', () => {
    const f = new Inflights(3);
    f.add(1, 10);
    f.add(2, 10);
    f.add(3, 10);
    expect(f.full()).toBe(true);
    expect(() => f.add(4, 1)).toThrow();
    f.freeLE(2);
    expect([f.count, f.bytes, f.full()]).toEqual([1, 10, false]);
    f.add(4, 5);
    f.add(5, 5);
    f.freeFirstOne();
    expect([f.count, f.bytes]).toEqual([2, 10]);
    f.freeLE(99);
    expect([f.count, f.bytes]).toEqual([0, 0]);
  });

  test('bounded by bytes', () => {
    const f = new Inflights(100, 25);
    f.add(1, 10);
    f.add(2, 10);
    expect(f.full()).toBe(false);
    f.add(3, 10);
    expect(f.full()).toBe(true);
  });
});

describe('Progress', () => {
  test('probe pauses after one send; replicate pipelines optimistically', () => {
    const p = new Progress(5, new Inflights(2));
    p.sentEntries(3, 30);
    expect(p.isPaused()).toBe(true);
    expect(p.maybeUpdate(7)).toBe(true);
    p.becomeReplicate();
    expect(p.next).toBe(8);
    p.sentEntries(2, 20);
    expect(p.next).toBe(10);
    p.sentEntries(2, 20);
    expect(p.isPaused()).toBe(true); // window of 2 full
  });

  test('maybeDecrTo ignores stale rejections and uses the hint', () => {
    const p = new Progress(10, new Inflights(4));
    p.match = 3;
    expect(p.maybeDecrTo(5, 4)).toBe(false); // not the last probe (next-1 = 9)
    expect(p.maybeDecrTo(9, 6)).toBe(true);
    expect(p.next).toBe(7);
    p.becomeReplicate();
    expect(p.maybeDecrTo(2, 2)).toBe(false); // below match: stale
  });

  test('after a snapshot, probing resumes past it', () => {
    const p = new Progress(1, new Inflights(4));
    p.becomeSnapshot(20);
    expect(p.isPaused()).toBe(true);
    p.becomeProbe();
    expect([p.state, p.next]).toEqual([ProgressState.Probe, 21]);
  });
});

describe('Unstable and RaftLog', () => {
  test('unstable truncateAndAppend replaces a conflicting suffix', () => {
    const u = new Unstable(5);
    u.truncateAndAppend([ent(5, 1), ent(6, 1), ent(7, 1)]);
    u.truncateAndAppend([ent(6, 2)]);
    expect(u.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['5/1', '6/2']);
    u.truncateAndAppend([ent(4, 3)]);
    expect([u.offset, u.entries.length]).toEqual([4, 1]);
    u.stableTo(4, 2); // wrong term: ignored
    expect(u.entries.length).toBe(1);
    u.stableTo(4, 3);
    expect([u.offset, u.entries.length]).toEqual([5, 0]);
  });

  test('log reads span storage and unstable; bounds throw typed errors', () => {
    const st = new MemoryStorage({ voters: [1] });
    st.append([ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 1, 'c')]);
    st.createSnapshot(1, { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, enc('s'));
    st.compact(1);
    const l = new RaftLog(st);
    l.append([ent(4, 2, 'd')]);
    expect(l.slice(2, 5, 1e9).map((e) => e.index)).toEqual([2, 3, 4]);
    expect(l.slice(2, 5, 1).length).toBe(1); // at least one entry even over the size limit
    expect(() => l.slice(1, 3, 1e9)).toThrow(ErrCompacted);
    expect(l.term(1)).toBe(1); // the snapshot's term is kept
    expect(() => l.term(0)).toThrow(ErrCompacted);
    expect(() => l.term(9)).toThrow(ErrUnavailable);
    expect(l.findConflictByTerm(4, 1)).toEqual([3, 1]);
    expect(l.isUpToDate(4, 2)).toBe(true);
    expect(l.isUpToDate(9, 1)).toBe(false);
  });

  test('maybeAppend refuses to overwrite committed entries', () => {
    const st = new MemoryStorage({ voters: [1] });
    st.append([ent(1, 1), ent(2, 1)]);
    const l = new RaftLog(st);
    l.commitTo(2);
    expect(() => l.maybeAppend(0, 0, 2, [ent(1, 2)])).toThrow(/conflicts with committed/);
    expect(l.maybeAppend(2, 1, 3, [ent(3, 1)])).toBe(3);
    expect(l.committed).toBe(3);
    expect(l.maybeAppend(3, 9, 3, [])).toBeUndefined();
  });
});

describe('MemoryStorage compaction', () => {
  test('compact drops entries and keeps the boundary term', () => {
    const st = new MemoryStorage({ voters: [1] });
    st.append([ent(1, 1), ent(2, 2), ent(3, 3)]);
    st.compact(2);
    expect([st.firstIndex(), st.lastIndex(), st.term(2)]).toEqual([3, 3, 2]);
    expect(() => st.entries(2, 4, 1e9)).toThrow(ErrCompacted);
    expect(() => st.compact(2)).toThrow(ErrCompacted);
    st.append([ent(3, 4), ent(4, 4)]); // overwrite the conflicting tail
    expect(st.entries(3, 5, 1e9).map((e) => e.term)).toEqual([4, 4]);
  });
});

describe('ConfChange codec and Changer', () => {
  test('encode/decode round trip; malformed bytes throw', () => {
    const cc = { changes: [{ type: ConfChangeType.AddNode, nodeId: 7 }, { type: ConfChangeType.AddLearner, nodeId: 9 }], transition: ConfChangeTransition.JointExplicit, context: enc('10.0.0.7:7000') };
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    expect(decodeConfChange(encodeConfChange({ changes: [] }))).toEqual({ changes: [], transition: 0 });
    expect(() => decodeConfChange(new Uint8Array([1, 0, 0, 5]))).toThrow();
    expect(() => decodeConfChange(new Uint8Array(0))).toThrow();
  });

  test('joint: demoting a voter parks it in learnersNext until leaving', () => {
    const [cfg, prs] = restoreConfState({ voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, 10, 4, 0);
    const [j, jp] = new Changer(cfg, prs, 10, 4, 0).enterJoint(false, [{ type: ConfChangeType.AddLearner, nodeId: 3 }, { type: ConfChangeType.AddNode, nodeId: 4 }]);
    expect([j.voters.toString(), [...j.learnersNext]]).toEqual(['(1 2 4)&&(1 2 3)', [3]]);
    const [l] = new Changer(j, jp, 10, 4, 0).leaveJoint();
    expect([l.voters.toString(), [...l.learners]]).toEqual(['(1 2 4)', [3]]);
    expect(() => new Changer(l, jp, 10, 4, 0).leaveJoint()).toThrow(ConfChangeError);
  });
});

describe('ReadOnly queue', () => {
  test('a quorum ack on a later request releases every earlier one', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, msg({ type: MessageType.ReadIndex, context: enc('a') }));
    ro.addRequest(6, msg({ type: MessageType.ReadIndex, context: enc('b') }));
    expect(ro.recvAck(2, enc('b'))?.size).toBe(1);
    expect(ro.recvAck(2, enc('zzz'))).toBeUndefined();
    expect(ro.advance(enc('b')).map((s) => s.index)).toEqual([5, 6]);
    expect(ro.size).toBe(0);
  });
});
