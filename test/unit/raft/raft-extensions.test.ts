// Beyond the paper's core: PreVote, CheckQuorum, leadership transfer, ReadIndex, learners,
// joint consensus and chunked snapshot install (Raft thesis §§3.10, 4, 6, 9.6).
import { Changer, ConfChangeError, encodeConfChange } from '../../../cluster/raft/confchange/index.js';
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import { RawNode } from '../../../cluster/raft/rawnode.js';
import { ErrProposalDropped } from '../../../cluster/raft/raft.js';
import { ProgressState } from '../../../cluster/raft/tracker/index.js';
import { ConfChangeType, EntryType, MessageType, NONE, StateRole, type ConfChange } from '../../../cluster/raft/types.js';
import { Network, committedData, dec, describe as describeMsg, enc, ent, hup, msg, newTestRaft, prop, seeded, takeMsgs } from './harness.js';

const tickN = (n: Network, id: number, times: number) => {
  for (let i = 0; i < times; i++) n.raft(id).tick();
};

describe('PreVote (thesis §9.6)', () => {
  test('a partitioned node does not inflate its term and does not disrupt on rejoin', () => {
    const n = new Network([undefined, undefined, undefined], { preVote: true });
    n.send(hup(1));
    expect(n.raft(1).state).toBe(StateRole.Leader);
    n.isolate(3);
    for (let i = 0; i < 5; i++) n.send(hup(3));
    expect(n.raft(3).term).toBe(1); // pre-votes failed, term never bumped
    expect(n.raft(3).state).toBe(StateRole.PreCandidate);
    n.recover();
    n.send(prop(1, 'after'));
    expect(n.raft(1).state).toBe(StateRole.Leader);
    expect(n.raft(1).term).toBe(1);
    expect(n.raft(3).state).toBe(StateRole.Follower);
    expect(committedData(n.raft(3))).toEqual(['after']);
  });

  test('pre-vote then vote: the trace shows the future term in pre-votes only', () => {
    const n = new Network([undefined, undefined, undefined], { preVote: true });
    n.tracing = true;
    n.send(hup(1));
    expect(n.trace.slice(1, 7)).toEqual([
      '1->2 PreVote Term:1 Log:0/0',
      '1->3 PreVote Term:1 Log:0/0',
      '2->1 PreVoteResp Term:1 Log:0/0',
      '3->1 PreVoteResp Term:1 Log:0/0',
      '1->2 Vote Term:1 Log:0/0',
      '1->3 Vote Term:1 Log:0/0',
    ]);
    expect(n.raft(2).term).toBe(1);
  });
});

describe('CheckQuorum and leader lease (thesis §6.2, §4.2.3)', () => {
  test('a leader that cannot reach a quorum steps down after an election timeout', () => {
    const n = new Network([undefined, undefined, undefined], { checkQuorum: true });
    n.send(hup(1));
    n.isolate(1);
    tickN(n, 1, n.raft(1).electionTimeout);
    expect(n.raft(1).state).toBe(StateRole.Leader); // first window: followers were marked active
    tickN(n, 1, n.raft(1).electionTimeout);
    expect(n.raft(1).state).toBe(StateRole.Follower);
  });

  test('followers in lease ignore a rejoining node campaigning with a higher term', () => {
    const n = new Network([undefined, undefined, undefined], { checkQuorum: true });
    n.send(hup(1));
    n.isolate(3);
    // 3 times out repeatedly and bumps its term (no PreVote here).
    n.send(hup(3));
    n.send(hup(3));
    expect(n.raft(3).term).toBe(3);
    n.recover();
    n.send(hup(3)); // 1 and 2 heard from leader 1 recently: they ignore the vote request
    expect(n.raft(1).state).toBe(StateRole.Leader);
    expect(n.raft(2).lead).toBe(1);
    expect(n.raft(2).term).toBe(1);
    // Without PreVote the cost shows later: 3's higher term rejects the leader's heartbeat with
    // a response carrying term 4, so the leader steps down (the next test shows PreVote avoids it).
    n.raft(1).tick();
    n.flush();
    expect([n.raft(3).term, n.raft(1).state, n.raft(1).term]).toEqual([4, StateRole.Follower, 4]);
  });

  test('with PreVote+CheckQuorum a rejoining node does not depose a healthy leader', () => {
    const n = new Network([undefined, undefined, undefined], { checkQuorum: true, preVote: true });
    n.send(hup(1));
    n.isolate(3);
    for (let i = 0; i < 3; i++) {
      tickN(n, 3, 2 * n.raft(3).electionTimeout);
      n.flush();
    }
    n.recover();
    for (let i = 0; i < 3; i++) {
      tickN(n, 1, 1);
      n.flush();
    }
    expect(n.raft(1).state).toBe(StateRole.Leader);
    expect(n.raft(1).term).toBe(1);
    expect(n.raft(3).lead).toBe(1);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  test('an up-to-date transferee receives TimeoutNow and wins', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.tracing = true;
    n.send(msg({ type: MessageType.TransferLeader, from: 2, to: 1 }));
    expect(n.trace[1]).toBe('1->2 TimeoutNow Term:1 Log:0/0');
    expect(n.raft(2).state).toBe(StateRole.Leader);
    expect(n.raft(1).state).toBe(StateRole.Follower);
    expect(n.raft(1).lead).toBe(2);
  });

  test('a lagging transferee is caught up first; proposals are refused meanwhile', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.isolate(3);
    n.send(prop(1, 'a'));
    n.recover();
    n.ignore(MessageType.AppResp);
    n.send(msg({ type: MessageType.TransferLeader, from: 3, to: 1 }));
    expect(n.raft(1).leadTransferee).toBe(3);
    expect(() => n.raft(1).step(prop(1, 'refused'))).toThrow(ErrProposalDropped);
    n.recover();
    n.send(msg({ type: MessageType.Heartbeat, from: 1, to: 3, term: 1, commit: 0 }));
    expect(n.raft(3).state).toBe(StateRole.Leader);
  });

  test('a transfer that does not complete is aborted after an election timeout', () => {
    const n = new Network([undefined, undefined, null]);
    n.send(hup(1));
    n.send(msg({ type: MessageType.TransferLeader, from: 3, to: 1 }));
    expect(n.raft(1).leadTransferee).toBe(3);
    tickN(n, 1, n.raft(1).electionTimeout);
    expect(n.raft(1).leadTransferee).toBe(NONE);
    n.flush();
    n.send(prop(1, 'ok'));
    expect(committedData(n.raft(2))).toEqual(['ok']);
  });

  test('a learner cannot be made leader', () => {
    const a = newTestRaft(1, [1, 2], 10, 1, { learners: [3] });
    a.becomeCandidate();
    a.becomeLeader();
    a.step(msg({ type: MessageType.TransferLeader, from: 3, to: 1 }));
    expect(a.leadTransferee).toBe(NONE);
  });
});

describe('ReadIndex (thesis §6.4)', () => {
  test('leader confirms leadership with a quorum heartbeat round before answering', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.tracing = true;
    n.send(msg({ type: MessageType.ReadIndex, from: 0, to: 1, context: enc('r1') }));
    expect(n.trace).toEqual([
      '0->1 ReadIndex Term:0 Log:0/0',
      '1->2 Heartbeat Term:1 Log:0/0 Commit:1',
      '1->3 Heartbeat Term:1 Log:0/0 Commit:1',
      '2->1 HeartbeatResp Term:1 Log:0/0',
      '3->1 HeartbeatResp Term:1 Log:0/0',
    ]);
    expect(n.raft(1).readStates.map((r) => [r.index, dec(r.requestCtx)])).toEqual([[1, 'r1']]);
  });

  test('no answer without a quorum; a follower forwards to the leader', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.isolate(1);
    n.send(msg({ type: MessageType.ReadIndex, from: 0, to: 1, context: enc('x') }));
    expect(n.raft(1).readStates).toEqual([]);
    n.recover();
    n.send(msg({ type: MessageType.ReadIndex, from: 0, to: 2, context: enc('y') }));
    expect(n.raft(2).readStates.map((r) => [r.index, dec(r.requestCtx)])).toEqual([[1, 'y']]);
  });

  test('a new leader defers reads until it committed an entry of its term', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeCandidate();
    r.becomeLeader();
    takeMsgs(r);
    r.step(msg({ type: MessageType.ReadIndex, from: 0, to: 1, context: enc('early') }));
    expect(takeMsgs(r)).toEqual([]); // no heartbeat round yet
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    const hb = takeMsgs(r).filter((m) => m.type === MessageType.Heartbeat);
    expect(hb.map((m) => dec(m.context ?? new Uint8Array()))).toEqual(['early', 'early']);
    r.step(msg({ type: MessageType.HeartbeatResp, from: 3, to: 1, term: 1, context: enc('early') }));
    expect(r.readStates.map((s) => s.index)).toEqual([1]);
  });
});

describe('acknowledgements a follower cannot have sent', () => {
  test('an AppResp past the leader\'s last index moves neither match nor commit, and replication goes on', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1);
    r.becomeCandidate();
    r.becomeLeader();
    r.step(prop(1, 'a'));
    takeMsgs(r);
    const last = r.raftLog.lastIndex();
    const committed = r.raftLog.committed;
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: last + 3 }));
    expect(r.trk.progress.get(2)!.match).toBe(0);
    expect(r.raftLog.committed).toBe(committed);
    // The real acknowledgement still commits.
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: last }));
    expect(r.trk.progress.get(2)!.match).toBe(last);
    expect(r.raftLog.committed).toBe(last);
  });
});

describe('learners (thesis §4.2.1)', () => {
  test('a learner receives the log but never campaigns and never counts in a quorum', () => {
    const st = [1, 2, 3].map(() => new MemoryStorage({ voters: [1, 2], learners: [3] }));
    const rs = [1, 2, 3].map((id) => newTestRaft(id, [1, 2], 10, 1, { storage: st[id - 1] }));
    const n = new Network(rs);
    expect(n.raft(3).isLearner).toBe(true);
    tickN(n, 3, 100);
    expect(n.raft(3).state).toBe(StateRole.Follower);
    expect(takeMsgs(n.raft(3))).toEqual([]);
    n.send(hup(1));
    n.send(prop(1, 'to-learner'));
    expect(committedData(n.raft(3))).toEqual(['to-learner']);
    // With voter 2 gone, the learner's ack cannot commit anything.
    n.isolate(2);
    n.send(prop(1, 'stuck'));
    expect(n.raft(1).raftLog.committed).toBe(2);
    expect(n.raft(3).raftLog.lastIndex()).toBe(3);
  });

  test("a learner's vote never counts toward an election", () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { learners: [4, 5] });
    r.step(hup(1));
    expect(takeMsgs(r).map((m) => m.to)).toEqual([2, 3]); // learners are not asked
    r.step(msg({ type: MessageType.VoteResp, from: 4, to: 1, term: 1 }));
    r.step(msg({ type: MessageType.VoteResp, from: 5, to: 1, term: 1 }));
    expect(r.state).toBe(StateRole.Candidate);
    r.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1 }));
    expect(r.state).toBe(StateRole.Leader);
  });

  test('learner promotion: AddNode on a learner makes it a voter', () => {
    const n = new Network([undefined, undefined]);
    n.send(hup(1));
    const r1 = n.raft(1);
    r1.applyConfChange({ changes: [{ type: ConfChangeType.AddLearner, nodeId: 3 }] });
    expect(r1.trk.confState().learners).toEqual([3]);
    r1.applyConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 3 }] });
    const cs = r1.trk.confState();
    expect([cs.voters, cs.learners]).toEqual([[1, 2, 3], []]);
  });
});

describe('membership changes (thesis §4.1, §4.3)', () => {
  const cc = (changes: ConfChange['changes'], transition?: number): ConfChange => (transition === undefined ? { changes } : { changes, transition });

  test('one-at-a-time: a simple change may alter at most one voter', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    const two = [{ type: ConfChangeType.AddNode, nodeId: 4 }, { type: ConfChangeType.AddNode, nodeId: 5 }];
    const ch = new Changer(r.trk.config, r.trk.progress, 1, 8, 0);
    expect(() => ch.simple(two)).toThrow(ConfChangeError);
    expect(() => ch.simple([{ type: ConfChangeType.RemoveNode, nodeId: 1 }, { type: ConfChangeType.RemoveNode, nodeId: 2 }, { type: ConfChangeType.RemoveNode, nodeId: 3 }])).toThrow(/removed all voters/);
    // With the Auto transition, two voter changes go through joint consensus instead.
    r.applyConfChange(cc(two));
    expect(r.trk.config.voters.toString()).toBe('(1 2 3 4 5)&&(1 2 3)');
    expect(() => r.applyConfChange(cc([{ type: ConfChangeType.AddNode, nodeId: 6 }]))).toThrow(/joint/);
  });

  test('joint consensus: enter C_old,new, commit needs both majorities, auto-leave to C_new', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    const data = encodeConfChange(cc([{ type: ConfChangeType.RemoveNode, nodeId: 3 }, { type: ConfChangeType.AddLearner, nodeId: 3 }]));
    n.send(msg({ type: MessageType.Prop, from: 1, to: 1, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }] }));
    const r1 = n.raft(1);
    expect(r1.raftLog.committed).toBe(2);
    // Apply it like a shell would, on every node.
    for (const id of [1, 2, 3]) n.raft(id).applyConfChange(cc([{ type: ConfChangeType.RemoveNode, nodeId: 3 }, { type: ConfChangeType.AddLearner, nodeId: 3 }]));
    const cs = r1.trk.confState();
    expect([cs.voters, cs.votersOutgoing, cs.learnersNext, cs.autoLeave]).toEqual([[1, 2], [1, 2, 3], [3], true]);
    r1.raftLog.appliedTo(2);
    r1.onApplied(2); // auto-leave proposes the empty ConfChange
    n.flush();
    expect(r1.raftLog.committed).toBe(3);
    const last = r1.raftLog.slice(3, 4, 1e9)[0];
    expect(last.type).toBe(EntryType.ConfChange);
    for (const id of [1, 2, 3]) n.raft(id).applyConfChange({ changes: [] });
    const cs2 = r1.trk.confState();
    expect([cs2.voters, cs2.votersOutgoing, cs2.learners]).toEqual([[1, 2], [], [3]]);
  });

  test('a second conf change is refused while one is pending', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeCandidate();
    r.becomeLeader();
    r.raftLog.commitTo(1);
    r.raftLog.appliedTo(1);
    r.pendingConfIndex = 0;
    const e = (id: number) => ({ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc([{ type: ConfChangeType.AddLearner, nodeId: id }])) });
    r.step(msg({ type: MessageType.Prop, from: 1, to: 1, entries: [e(4), e(5)] }));
    const ents = r.raftLog.slice(2, 4, 1e9);
    expect(ents.map((x) => x.type)).toEqual([EntryType.ConfChange, EntryType.Normal]);
  });

  test('a removed leader steps down', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.send(hup(1));
    n.raft(1).applyConfChange(cc([{ type: ConfChangeType.RemoveNode, nodeId: 1 }]));
    expect(n.raft(1).state).toBe(StateRole.Follower);
    expect(n.raft(1).promotable()).toBe(false);
  });
});

describe('snapshots and log compaction (§7)', () => {
  test('a follower behind the compacted log gets a chunked InstallSnapshot and catches up', () => {
    const stores = [1, 2, 3].map(() => new MemoryStorage({ voters: [1, 2, 3] }));
    const nodes = [1, 2, 3].map((id) => new RawNode({ id, storage: stores[id - 1], electionTick: 10, heartbeatTick: 1, snapshotChunkSize: 4, random: seeded(id) }));
    const inbox: { to: number; m: ReturnType<typeof msg> }[] = [];
    const trace: string[] = [];
    let down = 3;
    const pump = () => {
      for (let round = 0; round < 50; round++) {
        let any = false;
        for (const [i, rn] of nodes.entries()) {
          if (!rn.hasReady()) continue;
          any = true;
          const rd = rn.ready();
          if (rd.snapshot) stores[i].applySnapshot(rd.snapshot);
          stores[i].append(rd.entries);
          if (rd.hardState) stores[i].setHardState(rd.hardState);
          for (const m of rd.messages) inbox.push({ to: m.to, m });
          rn.advance(rd);
        }
        while (inbox.length) {
          const { to, m } = inbox.shift()!;
          if (to === down) continue;
          if (m.type === MessageType.Snap) {
            trace.push(describeMsg(m));
            if (m.snapshotDone) nodes[0].reportSnapshot(to, true);
          }
          nodes[to - 1].step(m);
          any = true;
        }
        if (!any) return;
      }
    };
    nodes[0].campaign();
    pump();
    for (let i = 0; i < 5; i++) nodes[0].propose(enc(`v${i}`));
    pump();
    expect(nodes[0].status().commit).toBe(6);
    // Compact the leader's log into a 10-byte snapshot.
    const cs = nodes[0].status().config;
    stores[0].createSnapshot(6, cs, enc('state@0006'));
    stores[0].compact(6);
    down = 0;
    nodes[0].tick();
    pump();
    expect(trace).toEqual([
      '1->3 Snap Term:1 Log:0/0 Snapshot:1/6@0',
      '1->3 Snap Term:1 Log:0/0 Snapshot:1/6@4',
      '1->3 Snap Term:1 Log:0/0 Snapshot:1/6@8 done',
    ]);
    expect(dec(stores[2].snapshot().data)).toBe('state@0006');
    nodes[0].propose(enc('after'));
    pump();
    expect(nodes[2].status().commit).toBe(7);
    expect(stores[2].lastIndex()).toBe(7);
    expect(nodes[0].status().progress.get(3)?.state).toBe(ProgressState.Replicate);
  });

  test('chunks arriving out of order or twice are reassembled; nothing is installed half-done', () => {
    const r = newTestRaft(2, [1, 2]);
    const md = { index: 5, term: 1, conf: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } };
    const chunk = (data: string, off: number, done: boolean) =>
      msg({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: { metadata: md, data: enc(data) }, snapshotOffset: off, snapshotDone: done });
    r.step(chunk('ef', 4, true));
    r.step(chunk('cd', 2, false));
    expect(r.raftLog.committed).toBe(0); // bytes 0..1 still missing
    r.step(chunk('cd', 2, false));
    r.step(chunk('ab', 0, false));
    expect(r.raftLog.committed).toBe(5);
    expect(dec(r.raftLog.unstable.snapshot!.data)).toBe('abcdef');
    // A chunk of another snapshot starts over.
    const r2 = newTestRaft(2, [1, 2]);
    r2.step(chunk('ab', 0, false));
    r2.step(msg({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: { metadata: { ...md, index: 6 }, data: enc('cd') }, snapshotOffset: 2, snapshotDone: true }));
    expect(r2.raftLog.committed).toBe(0);
  });
});

describe('flow control: pipelining bounded by inflight count and bytes', () => {
  test('replicate state stops sending when the inflight window is full', () => {
    const r = newTestRaft(1, [1, 2], 10, 1, { maxInflightMsgs: 3, maxSizePerMsg: 1 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    takeMsgs(r);
    for (let i = 0; i < 10; i++) r.step(prop(1, `e${i}`));
    const apps = takeMsgs(r).filter((m) => m.type === MessageType.App);
    expect(apps.length).toBe(3);
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: apps[1].entries[0].index }));
    expect(takeMsgs(r).filter((m) => m.type === MessageType.App).length).toBe(2);
  });

  test('the byte bound limits in-flight payload', () => {
    const r = newTestRaft(1, [1, 2], 10, 1, { maxInflightMsgs: 100, maxInflightBytes: 100, maxSizePerMsg: 1 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    takeMsgs(r);
    for (let i = 0; i < 10; i++) r.step(prop(1, 'x'.repeat(34))); // 50 bytes with overhead
    expect(takeMsgs(r).filter((m) => m.type === MessageType.App).length).toBe(2);
  });

  test('batching: one append carries every pending entry up to maxSizePerMsg', () => {
    const n = new Network([undefined, undefined]);
    n.send(hup(1));
    n.isolate(2);
    for (let i = 0; i < 5; i++) n.send(prop(1, `b${i}`));
    n.recover();
    n.tracing = true;
    n.send(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    const apps = n.trace.filter((l) => l.includes(' App '));
    expect(apps.some((l) => l.includes('b0') && l.includes('b4'))).toBe(true);
    expect(ent(1, 1).index).toBe(1);
  });
});
