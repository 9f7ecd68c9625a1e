// Tests named after the sections of the Raft paper (Ongaro & Ousterhout 2014), in the manner
// of etcd's raft_paper_test.go. Each drives the pure core and checks messages and state.
import { MessageType, NONE, StateRole } from '../../../cluster/raft/types.js';
import {
  Network,
  describe as describeMsg,
  ent,
  hup,
  logTerms,
  msg,
  newTestRaft,
  prop,
  storageWithTerms,
  takeMsgs,
  committedData,
} from './harness.js';

describe('§5.1 terms', () => {
  test('a node of any role adopts a higher term and becomes follower', () => {
    for (const role of [StateRole.Follower, StateRole.Candidate, StateRole.Leader]) {
      const r = newTestRaft(1, [1, 2, 3]);
      if (role === StateRole.Candidate) r.becomeCandidate();
      if (role === StateRole.Leader) {
        r.becomeCandidate();
        r.becomeLeader();
      }
      r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 5 }));
      expect(r.term).toBe(5);
      expect(r.state).toBe(StateRole.Follower);
      expect(r.lead).toBe(2);
    }
  });

  test('a message with a stale term is ignored', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(2, 2);
    r.step(msg({ type: MessageType.App, from: 3, to: 1, term: 1, entries: [ent(1, 1, 'x')] }));
    expect(r.raftLog.lastIndex()).toBe(0);
    expect(takeMsgs(r)).toEqual([]);
  });
});

test('§5.1: a stale candidate is rejected with the current term, so it steps down', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeFollower(5, NONE);
  r.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, logTerm: 9, index: 9 }));
  expect(takeMsgs(r).map(describeMsg)).toEqual(['1->2 VoteResp Term:5 Log:0/0 Rejected (Hint: 0)']);
  const c = newTestRaft(2, [1, 2, 3]);
  c.step(hup(2));
  c.step(msg({ type: MessageType.VoteResp, from: 1, to: 2, term: 5, reject: true }));
  expect([c.state, c.term]).toEqual([StateRole.Follower, 5]);
});

describe('§5.2 leader election', () => {
  test('rejecting a less up-to-date candidate adopts its term but keeps our election timer', () => {
    const r = newTestRaft(1, [1, 2], 10, 1, { storage: storageWithTerms([1, 1], [1, 2]) });
    for (let i = 0; i < 7; i++) r.tick();
    const before = [r.electionElapsed, r.randomizedElectionTimeout];
    r.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 4, logTerm: 1, index: 1 }));
    expect(takeMsgs(r)[0].reject).toBe(true);
    expect([r.term, r.electionElapsed, r.randomizedElectionTimeout]).toEqual([4, ...before]);
  });

  test('follower starts an election after the election timeout and votes for itself', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
    expect(r.state).toBe(StateRole.Candidate);
    expect(r.term).toBe(1);
    expect(r.vote).toBe(1);
    const trace = takeMsgs(r).map(describeMsg);
    expect(trace).toEqual(['1->2 Vote Term:1 Log:0/0', '1->3 Vote Term:1 Log:0/0']);
  });

  test('candidate wins with a majority, loses on a majority of rejections, waits otherwise', () => {
    const cases: [number, Record<number, boolean>, StateRole][] = [
      [1, {}, StateRole.Leader],
      [3, { 2: true, 3: true }, StateRole.Leader],
      [3, { 2: true }, StateRole.Leader],
      [5, { 2: true, 3: true, 4: true, 5: true }, StateRole.Leader],
      [5, { 2: true, 3: true }, StateRole.Leader],
      [3, {}, StateRole.Candidate],
      [5, { 2: true }, StateRole.Candidate],
      [5, { 2: false, 3: false }, StateRole.Candidate],
      [3, { 2: false, 3: false }, StateRole.Follower],
    ];
    for (const [size, votes, want] of cases) {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const r = newTestRaft(1, ids);
      r.step(hup(1));
      for (const [id, granted] of Object.entries(votes)) {
        r.step(msg({ type: MessageType.VoteResp, from: Number(id), to: 1, term: r.term, reject: !granted }));
      }
      expect([size, votes, r.state]).toEqual([size, votes, want]);
      expect(r.term).toBe(1);
    }
  });

  test('a follower votes for at most one candidate per term, first come first served', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 }));
    r.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 1 }));
    expect(takeMsgs(r).map(describeMsg)).toEqual(['1->2 VoteResp Term:1 Log:0/0', '1->3 VoteResp Term:1 Log:0/0 Rejected (Hint: 0)']);
    expect(r.vote).toBe(2);
  });

  test('a candidate that hears from a leader of its term steps down', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.step(hup(1));
    r.step(msg({ type: MessageType.App, from: 2, to: 1, term: r.term }));
    expect(r.state).toBe(StateRole.Follower);
    expect(r.lead).toBe(2);
  });

  test('randomized election timeouts spread over [et, 2et)', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      r.becomeFollower(r.term + 1, NONE);
      let t = 0;
      while (r.state === StateRole.Follower) {
        r.tick();
        t++;
      }
      takeMsgs(r);
      seen.add(t);
    }
    for (const t of seen) {
      expect(t).toBeGreaterThanOrEqual(r.electionTimeout);
      expect(t).toBeLessThan(2 * r.electionTimeout);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  test('leader sends heartbeats every heartbeat tick, to learners too', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { learners: [4] });
    r.becomeCandidate();
    r.becomeLeader();
    r.raftLog.commitTo(r.raftLog.lastIndex());
    takeMsgs(r);
    r.tick();
    expect(takeMsgs(r).map(describeMsg)).toEqual([
      '1->2 Heartbeat Term:1 Log:0/0',
      '1->3 Heartbeat Term:1 Log:0/0',
      '1->4 Heartbeat Term:1 Log:0/0',
    ]);
  });

  test('network: three nodes elect one leader; the others follow it', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    expect(n.raft(1).state).toBe(StateRole.Leader);
    expect(n.raft(2).lead).toBe(1);
    expect(n.raft(3).lead).toBe(1);
  });
});

describe('§5.3 log replication', () => {
  test('leader appends a proposal and replicates it; commits when a majority has it', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.tracing = true;
    n.send(prop(1, 'x'));
    expect(n.trace).toEqual([
      '1->1 Prop Term:0 Log:0/0 Entries:[0/0 x]',
      '1->2 App Term:1 Log:1/1 Commit:1 Entries:[1/2 x]',
      '1->3 App Term:1 Log:1/1 Commit:1 Entries:[1/2 x]',
      '2->1 AppResp Term:1 Log:0/2',
      '3->1 AppResp Term:1 Log:0/2',
      '1->2 App Term:1 Log:1/2 Commit:2',
      '1->3 App Term:1 Log:1/2 Commit:2',
      '2->1 AppResp Term:1 Log:0/2',
      '3->1 AppResp Term:1 Log:0/2',
    ]);
    for (const id of [1, 2, 3]) expect(n.raft(id).raftLog.committed).toBe(2);
  });

  test('follower rejects an append whose prev entry does not match (consistency check)', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2], [1, 2, 3]) });
    r.becomeFollower(3, 2);
    r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 3, logTerm: 3, index: 2, entries: [ent(3, 3)] }));
    const [m] = takeMsgs(r);
    expect(m.reject).toBe(true);
    // Fast back-off hint: our entry at 2 has term 2 (<= 3), the leader can skip to it.
    expect([m.rejectHint, m.logTerm]).toEqual([2, 2]);
  });

  test('follower deletes a conflicting suffix and appends the leader entries', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2, 2], [1, 2, 3]) });
    r.becomeFollower(3, 2);
    r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 3, logTerm: 1, index: 1, entries: [ent(2, 3), ent(3, 3), ent(4, 3)] }));
    expect(logTerms(r)).toEqual([1, 3, 3, 3]);
  });

  test('leader brings divergent follower logs in line (Figure 7 cases a–f)', () => {
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6],
      [1, 1, 1, 4],
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      [1, 1, 1, 4, 4, 4, 4],
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    ];
    for (const f of followers) {
      const lead = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms(leaderTerms, [1, 2, 3]) });
      const fol = newTestRaft(2, [1, 2, 3], 10, 1, { storage: storageWithTerms(f, [1, 2, 3]) });
      // The leader of term 8 (its log's last term is 6), node 3 votes for it.
      lead.term = 7;
      fol.term = 7;
      const n = new Network([lead, fol, null]);
      n.send(hup(1));
      n.send(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 8 }));
      n.send(prop(1, ''));
      expect(lead.state).toBe(StateRole.Leader);
      expect(logTerms(fol)).toEqual(logTerms(lead));
    }
  });
});

describe('§5.4.1 election restriction', () => {
  test('a voter denies its vote to a candidate whose log is less up-to-date', () => {
    const cases: [number, number, boolean][] = [
      // candidate lastTerm, lastIndex; voter log is terms [2, 2]
      [3, 1, true],
      [2, 2, true],
      [2, 3, true],
      [2, 1, false],
      [1, 5, false],
    ];
    for (const [lt, li, granted] of cases) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([2, 2], [1, 2, 3]) });
      r.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, logTerm: lt, index: li }));
      const [m] = takeMsgs(r);
      expect([lt, li, !m.reject]).toEqual([lt, li, granted]);
    }
  });

  test('leader completeness: the node missing a committed entry cannot become leader', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.isolate(3);
    n.send(prop(1, 'committed'));
    expect(n.raft(1).raftLog.committed).toBe(2);
    n.recover();
    n.isolate(1);
    // 3 lacks index 2 and campaigns; 2 must refuse, so 3 cannot win.
    n.send(hup(3));
    expect(n.raft(3).state).not.toBe(StateRole.Leader);
    n.send(hup(2));
    expect(n.raft(2).state).toBe(StateRole.Leader);
    n.send(prop(2, 'next'));
    expect(committedData(n.raft(3))).toEqual(['committed', 'next']);
  });
});

describe('§5.4.2 committing entries from previous terms', () => {
  test('a leader does not commit an old-term entry by counting replicas (Figure 8)', () => {
    // Leader at term 3 with an uncommitted entry of term 2 at index 2.
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2], [1, 2, 3]) });
    r.term = 2;
    r.becomeCandidate();
    r.becomeLeader(); // appends its term-3 noop at index 3
    takeMsgs(r);
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
    expect(r.raftLog.committed).toBe(0);
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3 }));
    // Once an entry of term 3 is on a majority, everything before it commits too.
    expect(r.raftLog.committed).toBe(3);
  });

  test('followers learn the commit index from appends and heartbeats', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1, entries: [ent(1, 1), ent(2, 1)], commit: 1 }));
    expect(r.raftLog.committed).toBe(1);
    r.step(msg({ type: MessageType.Heartbeat, from: 2, to: 1, term: 1, commit: 2 }));
    expect(r.raftLog.committed).toBe(2);
  });
});

describe('Figure 7/8: fast conflict back-off', () => {
  test('the leader skips a whole conflicting term in one round trip', () => {
    const lead = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 1, 1, 4, 4, 4, 4, 4, 4], [1, 2, 3]) });
    const fol = newTestRaft(2, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], [1, 2, 3]) });
    lead.term = 5;
    fol.term = 5;
    const n = new Network([lead, fol, null]);
    n.tracing = true;
    n.send(hup(1));
    n.send(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 6 }));
    const rejects = n.trace.filter((l) => l.startsWith('2->1 AppResp') && l.includes('Rejected'));
    // One rejection lands on index 3 (term 1 <= 4), no per-entry walking.
    expect(rejects.length).toBeLessThanOrEqual(2);
    expect(logTerms(fol)).toEqual(logTerms(lead));
  });
});
