// An append whose term ends before it commits (the leader it went to failed or was cut off) is
// proposed again, once a later term's entry is applied, to the current leader: Raft logs are
// term-ordered, so the first copy can never commit, and the writer neither waits out its timeout
// nor risks a duplicate. A forward that arrives late, after its leader was re-elected in a later
// term, is not proposed (it would commit the append a second time). And an append that may have
// committed inside a snapshot the member installed is left alone. In-process members on loopback,
// member links through FaultRelays.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeaderChangedError, NotLeaderError, ReplicatedLog } from '../../../cluster/log/index.js';
import { StateRole } from '../../../cluster/raft/types.js';
import { until } from '../../helpers/eventually.js';
import { startRelayedCluster, type RelayedCluster } from './relayed-cluster.js';

const APPEND_TIMEOUT_MS = 10_000;
let dir: string;
let logs: ReplicatedLog[] = [];
let cluster: RelayedCluster | undefined;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-lc-'));
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  logs = [];
  await fsp.rm(dir, { recursive: true, force: true });
});

async function startCluster(appendTimeoutMs = APPEND_TIMEOUT_MS): Promise<RelayedCluster> {
  cluster = await startRelayedCluster(dir, { appendTimeoutMs });
  logs = cluster.logs;
  return cluster;
}

function leaderOf(): ReplicatedLog | undefined {
  const ls = logs.filter((l) => l.status().role === StateRole.Leader).sort((a, b) => b.status().term - a.status().term);
  return ls[0];
}

function values(l: ReplicatedLog): string[] {
  return l.readCommitted(1, 100_000).map((e) => Buffer.from(e.data).toString());
}

test('an append forwarded to a leader that is then cut off is proposed again to the new leader and commits once, soon', async () => {
  const c = await startCluster();
  await until(() => leaderOf() !== undefined, 8000);
  const old = leaderOf()!;
  await old.append([Buffer.from('before')]);
  const f = logs.find((l) => l !== old)!;
  await until(() => f.status().leader === old.id && f.status().applied >= old.status().commit);
  const oldTerm = old.status().term;
  for (const l of logs) {
    if (l === old) continue;
    c.link(old.id, l.id).cut();
    c.link(l.id, old.id).cut();
  }
  const t0 = Date.now();
  const r = await f.append([Buffer.from('outlives-its-leader')]);
  const ms = Date.now() - t0;
  // Committed in the new leader's term: a new election (0.5-1 s timeout) and a commit, not the 10 s timeout.
  expect(r.term).toBeGreaterThan(oldTerm);
  expect(ms).toBeLessThan(4000);
  for (const rl of c.relays.values()) rl.heal();
  await until(() => logs.every((l) => l.status().applied >= r.index && l.status().role !== StateRole.Candidate), 8000);
  for (const l of logs) expect(values(l).filter((v) => v === 'outlives-its-leader')).toHaveLength(1);
});

test('a forward held up by the network until its leader leads again in a later term is not proposed: the append commits once', async () => {
  const c = await startCluster();
  await until(() => leaderOf() !== undefined, 8000);
  const lead = leaderOf()!;
  const [f, g] = logs.filter((l) => l !== lead);
  await lead.append([Buffer.from('before')]);
  await until(() => f.status().leader === lead.id && f.status().applied >= lead.status().commit && g.status().applied >= lead.status().commit);
  const term0 = lead.status().term;
  // f's link to the leader stalls (bytes wait in the kernel), then f forwards an append on it.
  c.link(f.id, lead.id).hold();
  const pending = f.append([Buffer.from('stale-forward')]).then(
    () => undefined,
    (e: Error) => e,
  );
  await new Promise((r) => setTimeout(r, 100));
  // The leader hands over to g (term0 + 1), which commits an entry f applies (f reaches g directly):
  // the first copy can no longer commit, so f proposes the append again, through g, and it commits.
  await lead.transferLeadership(g.id);
  const mid = await g.append([Buffer.from('mid')]);
  await until(() => f.status().applied >= mid.index, 5000);
  const res = await pending;
  expect(res).toBeUndefined();
  // g hands back (term0 + 2): the same member leads again, in a later term.
  await g.transferLeadership(lead.id);
  expect(lead.status().term).toBe(term0 + 2);
  // Now the stalled bytes arrive: the forward for term0 reaches a leader of term0 + 2.
  c.link(f.id, lead.id).heal();
  await new Promise((r) => setTimeout(r, 300));
  const after = await lead.append([Buffer.from('after')]);
  await until(() => logs.every((l) => l.status().applied >= after.index), 5000);
  // Once: the late copy was not proposed.
  for (const l of logs) expect(values(l).filter((v) => v === 'stale-forward')).toHaveLength(1);
});

test('an append that committed inside a snapshot the member then installs is neither proposed again nor failed as superseded', async () => {
  const c = await startCluster(6000);
  await until(() => leaderOf() !== undefined, 8000);
  const lead = leaderOf()!;
  const [f, g] = logs.filter((l) => l !== lead);
  await lead.append([Buffer.from('before')]);
  await until(() => f.status().leader === lead.id && f.status().applied >= lead.status().commit && g.status().applied >= lead.status().commit);
  // f hears nobody (it can still send): its forwarded append commits on the others, unseen by f.
  c.link(lead.id, f.id).cut();
  c.link(g.id, f.id).cut();
  const t0 = Date.now();
  const pending = f.append([Buffer.from('in-the-snapshot')]).then(
    () => undefined,
    (e: Error) => e,
  );
  await until(() => values(lead).includes('in-the-snapshot') && g.status().applied >= lead.status().commit, 3000);
  // A later term, whose leader compacts everything f lacks into a snapshot.
  await lead.transferLeadership(g.id);
  const y = await g.append([Buffer.from('later-term')]);
  await g.compact(y.index, Buffer.from('state'));
  c.link(lead.id, f.id).heal();
  c.link(g.id, f.id).heal();
  await until(() => f.status().firstIndex > 1 && f.status().leader === g.id, 5000);
  // Entries of a still later term applied after the snapshot do not prove f's append failed: it is
  // in there. It keeps its timeout (the outcome is unknown here) and is not proposed a second time.
  await g.transferLeadership(lead.id);
  const z = await lead.append([Buffer.from('after-snapshot')]);
  expect(z.term).toBe(y.term + 1);
  await until(() => f.status().applied >= z.index, 5000);
  const err = await pending;
  expect(err).not.toBeInstanceOf(LeaderChangedError);
  expect(err?.name).toBe('Timeout');
  expect(Date.now() - t0).toBeGreaterThanOrEqual(5900);
  const after = await lead.append([Buffer.from('last')]);
  await until(() => logs.every((l) => l.status().applied >= after.index), 5000);
  for (const l of [lead, g]) expect(values(l).filter((v) => v === 'in-the-snapshot').length).toBeLessThanOrEqual(1);
  expect(values(lead)).toContain('in-the-snapshot');
});

test('an append a follower cannot even send to the leader (connection refused) fails at once with NotLeader and is not in the log', async () => {
  const c = await startCluster();
  await until(() => leaderOf() !== undefined, 8000);
  const lead = leaderOf()!;
  const f = logs.find((l) => l !== lead)!;
  await lead.append([Buffer.from('before')]);
  await until(() => f.status().leader === lead.id && f.status().applied >= lead.status().commit);
  await c.link(f.id, lead.id).refuse();
  await new Promise((r) => setTimeout(r, 100)); // f's link has seen its connection go
  const t0 = Date.now();
  const err = await f.append([Buffer.from('never-sent')]).then(
    () => undefined,
    (e: Error) => e,
  );
  // Not the 10 s append timeout: the frame was never written, so the outcome is known.
  expect(err).toBeInstanceOf(NotLeaderError);
  expect((err as NotLeaderError).leader).toBe(lead.id);
  expect(Date.now() - t0).toBeLessThan(1500);
  c.link(f.id, lead.id).heal();
  await c.link(f.id, lead.id).listening;
  const ok = await f.append([Buffer.from('after')]);
  await until(() => logs.every((l) => l.status().applied >= ok.index), 5000);
  for (const l of logs) expect(values(l)).not.toContain('never-sent');
  expect(lead.status().role).toBe(StateRole.Leader);
});
