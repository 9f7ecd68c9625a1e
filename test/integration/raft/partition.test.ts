// Network partitions between real raft-node processes, made by the fault relays of fault-cluster.ts
// (no root, no iptables): the leader cut off from both followers, then a follower silently
// blackholed, while writers append through every member. A minority leader must stop acknowledging
// (its appends fail with NotLeader, LeaderChanged or Timeout, never succeed), the majority elects a
// new leader and keeps committing, an isolated follower catches up after healing without deposing
// anyone, and at the end every member holds the same log with every acknowledged entry exactly once.
import { FaultCluster, sleep, type NodeStatus } from './fault-cluster.js';
import { LogClient } from '../../../cluster/log/index.js';

let cluster: FaultCluster | undefined;

afterAll(async () => {
  await cluster?.close();
});

async function probeAppend(c: FaultCluster, id: number, value: string, timeoutMs: number): Promise<string> {
  const client = await LogClient.connect('127.0.0.1', c.node(id).clientPort, 1000);
  try {
    await client.append([Buffer.from(value)], timeoutMs);
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  } finally {
    client.close();
  }
}

test('partitions: a minority leader stops acking, an isolated follower catches up, no acked entry lost or doubled', async () => {
  cluster = await FaultCluster.create();
  const c = cluster;
  await c.underLoad();
  const report: string[] = [];

  for (const how of ['cut', 'hold'] as const) {
    // ---- the leader alone on one side (links cut, or stalled with bytes held back)
    const old = await c.leader();
    const t0 = Date.now();
    c.isolate(old.id, how);
    const probe = probeAppend(c, old.id, `probe-${how}-${old.id}`, 4000);
    const s = await c.waitFor(
      `isolated leader ${old.id} (${how}): the majority elects another`,
      (all) => all.some((x) => x !== undefined && x.id !== old.id && x.role === 'leader' && x.term > old.term),
      4000,
    );
    const elected = s.find((x) => x?.role === 'leader' && x.id !== old.id) as NodeStatus;
    const electedMs = Date.now() - t0;
    // CheckQuorum: the cut-off leader notices within an election timeout or so that it leads nobody.
    await c.waitFor(`isolated leader ${old.id} steps down`, (all) => all[c.ids.indexOf(old.id)]?.role !== 'leader', 3000);
    const stepDownMs = Date.now() - t0;
    const ackedMajority = c.acked().length;
    await sleep(1200);
    expect(c.acked().length).toBeGreaterThan(ackedMajority);
    // A minority member acknowledges nothing once the partition is in place. What was in flight at
    // the cut may still land until it steps down (it committed before the cut; on a loaded box the
    // ack can take a while to reach its writer): from then on, nothing.
    const healAt = Date.now();
    const quietFrom = t0 + Math.max(500, stepDownMs + 200);
    const lateAcks = c.acked().filter((r) => r.node === old.id && r.end > quietFrom && r.end < healAt);
    expect(lateAcks).toEqual([]);
    const probed = await probe;
    expect(['NotLeader', 'LeaderChanged', 'Timeout']).toContain(probed);
    c.healAll();
    // Back in the majority: a follower of the new leader, caught up.
    await c.waitFor(
      `healed ${old.id} follows ${elected.id}'s term`,
      (all) => {
        const o = all[c.ids.indexOf(old.id)];
        return o !== undefined && o.role === 'follower' && o.term >= elected.term && o.leader !== 0;
      },
      4000,
    );
    report.push(`leader ${old.id} isolated (${how}): ${elected.id}@t${elected.term} elected in ${electedMs} ms, old stepped down in ${stepDownMs} ms, an append sent to it at the cut: ${probed}`);
    await sleep(600);
  }

  // ---- a follower silently blackholed, then healed
  const lead = await c.leader();
  const f = c.ids.find((id) => id !== lead.id)!;
  c.isolate(f, 'blackhole');
  const cutAt = Date.now();
  await sleep(2500);
  // The two others kept committing; the leader did not change (PreVote: the lone follower's
  // campaigns reached nobody, and left no higher term behind).
  expect(c.acked().filter((r) => r.node !== f && r.end > cutAt + 500).length).toBeGreaterThan(0);
  const during = (await c.status(lead.id))!;
  expect(during.role).toBe('leader');
  expect(during.term).toBe(lead.term);
  const behind = during.peers.find((p) => p.id === f)!;
  expect(behind.lag).toBeGreaterThan(0);
  c.healAll();
  const healedAt = Date.now();
  const target = during.lastIndex;
  // It catches up to what the leader had at the heal, and the leader is still the same, same term.
  await c.waitFor(
    `follower ${f} catches up after the heal`,
    (all) => {
      const l = all[c.ids.indexOf(lead.id)];
      const p = l?.peers.find((x) => x.id === f);
      return l?.role === 'leader' && l.term === lead.term && p !== undefined && p.match >= target && (all[c.ids.indexOf(f)]?.applied ?? 0) >= target;
    },
    5000,
  );
  report.push(`follower ${f} blackholed 2.5 s (lag ${behind.lag}), caught up ${Date.now() - healedAt} ms after heal, leader ${lead.id}@t${lead.term} kept`);

  const { log, late } = await c.finish();
  const end = (await c.status((await c.leader()).id))!;
  expect(end.peers.every((p) => p.lag === 0)).toBe(true);
  process.stdout.write(`partition: ${report.join('\n  ')}\n  ${c.summary()}, log length ${log.length} (+${late} late)\n`);
}, 60_000);
