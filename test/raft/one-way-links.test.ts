// The pure core under the partial partitions the real-process fault tests inject
// (test/integration/raft/partition-links.test.ts), deterministic here: a one-way link in each
// direction and a flapping link between the leader and one follower of three, with PreVote and
// CheckQuorum on (as ReplicatedLog runs it). The third member keeps the leader's quorum, so the
// leader must keep its term throughout and after healing, commits continue, and the stranded
// follower ends with the same log.
import { StateRole } from '../../cluster/raft/types.js';
import { Network, committedData, hup, prop } from '../unit/raft/harness.js';

function cluster(): Network {
  const n = new Network([undefined, undefined, undefined], { preVote: true, checkQuorum: true });
  n.send(hup(1));
  expect(n.raft(1).state).toBe(StateRole.Leader);
  expect(n.raft(1).term).toBe(1);
  return n;
}

/** `ticks` clock ticks on every member, delivering what each tick produces; a proposal every 5. */
function run(n: Network, ticks: number, tag: string, between?: (t: number) => void): void {
  for (let t = 0; t < ticks; t++) {
    between?.(t);
    for (const id of [1, 2, 3]) n.raft(id).tick();
    n.flush();
    if (t % 5 === 0) n.send(prop(1, `${tag}${t}`));
  }
}

function expectStableLeader(n: Network): void {
  expect(n.raft(1).state).toBe(StateRole.Leader);
  for (const id of [1, 2, 3]) expect(n.raft(id).term).toBe(1);
}

test('leader→follower lost, follower→leader fine: the follower campaigns in vain, the term stays, it catches up once healed', () => {
  const n = cluster();
  n.drop(1, 3, 2);
  run(n, 120, 'a');
  expectStableLeader(n);
  expect(n.raft(3).state).toBe(StateRole.PreCandidate); // timed out, pre-votes ignored by members in lease
  expect(committedData(n.raft(2))).toHaveLength(24);
  expect(committedData(n.raft(3))).toHaveLength(0);
  n.recover();
  run(n, 30, 'b');
  expectStableLeader(n);
  expect(n.raft(3).state).toBe(StateRole.Follower);
  expect(committedData(n.raft(3))).toEqual(committedData(n.raft(1)));
  expect(committedData(n.raft(1))).toHaveLength(30);
});

test('follower→leader lost, leader→follower fine: the leader commits through the other follower and keeps its term', () => {
  const n = cluster();
  n.drop(3, 1, 2);
  run(n, 120, 'a');
  expectStableLeader(n);
  expect(n.raft(3).state).toBe(StateRole.Follower); // it hears the leader: never campaigns
  expect(committedData(n.raft(2))).toHaveLength(24);
  n.recover();
  run(n, 30, 'b');
  expectStableLeader(n);
  expect(committedData(n.raft(3))).toEqual(committedData(n.raft(1)));
});

test('a flapping leader↔follower link (3 ticks up, 3 down, both ways) never changes the term', () => {
  const n = cluster();
  run(n, 240, 'f', (t) => {
    if (t % 6 === 0) n.cut(1, 3);
    else if (t % 6 === 3) n.recover();
  });
  n.recover();
  run(n, 30, 'g');
  expectStableLeader(n);
  for (const id of [2, 3]) expect(committedData(n.raft(id))).toEqual(committedData(n.raft(1)));
  expect(committedData(n.raft(1))).toHaveLength(54);
});
