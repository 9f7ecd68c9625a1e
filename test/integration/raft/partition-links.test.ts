// Partial network faults between real raft-node processes (fault relays, no root): one-way links,
// a flapping link and slow links, while writers append through every member. In each, the leader
// keeps a quorum through the third member, so the cluster must keep committing under the same
// leader in the same term: PreVote and CheckQuorum keep a member that stops hearing the leader
// from deposing it (during the fault and once healed), and the stranded member catches up after.
// At the end every member holds the same log with every acknowledged entry exactly once.
import { FaultCluster, sleep, type NodeStatus } from './fault-cluster.js';

let cluster: FaultCluster | undefined;

afterAll(async () => {
  await cluster?.close();
});

/** Watches the leader while `ms` pass: it must stay leader in the same term throughout. */
async function sameLeaderFor(c: FaultCluster, lead: NodeStatus, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = await c.status(lead.id);
    if (s) {
      if (s.role !== 'leader' || s.term !== lead.term) throw new Error(`${what}: leader ${lead.id}@t${lead.term} became ${s.role}@t${s.term}`);
    }
    const others = await c.statuses();
    for (const o of others) if (o && o.term > lead.term) throw new Error(`${what}: member ${o.id} reached term ${o.term} (${o.role})`);
    await sleep(100);
  }
}

/** Acks whose append ended in [from, to), on members other than `except`. */
function acksBetween(c: FaultCluster, from: number, to: number, except = 0): number {
  return c.acked().filter((r) => r.end >= from && r.end < to && r.node !== except).length;
}

async function caughtUp(c: FaultCluster, lead: NodeStatus, f: number, what: string): Promise<number> {
  const at = Date.now();
  const target = (await c.status(lead.id))!.lastIndex;
  await c.waitFor(
    what,
    (all) => {
      const l = all[c.ids.indexOf(lead.id)];
      const p = l?.peers.find((x) => x.id === f);
      return p !== undefined && p.match >= target && (all[c.ids.indexOf(f)]?.applied ?? 0) >= target;
    },
    5000,
  );
  return Date.now() - at;
}

test('one-way, flapping and slow links: the leader keeps its term, commits continue, nothing acked is lost or doubled', async () => {
  cluster = await FaultCluster.create();
  const c = cluster;
  await c.underLoad();
  const report: string[] = [];

  // ---- leader → F1 cut, F1 → leader fine: F1 hears nothing, campaigns (PreVote) and must not win
  // or bump the term; the leader and F2 keep committing.
  let lead = await c.leader();
  let [f1, f2] = c.ids.filter((id) => id !== lead.id);
  c.link(lead.id, f1).cut();
  let t = Date.now();
  await sameLeaderFor(c, lead, 3000, `leader→${f1} cut`);
  expect(acksBetween(c, t + 1000, Date.now(), f1)).toBeGreaterThan(0);
  const lagged = (await c.status(lead.id))!.peers.find((p) => p.id === f1)!.lag;
  expect(lagged).toBeGreaterThan(0);
  c.link(lead.id, f1).heal();
  let ms = await caughtUp(c, lead, f1, `${f1} catches up after leader→${f1} heals`);
  await sameLeaderFor(c, lead, 1500, `after leader→${f1} healed`);
  report.push(`leader ${lead.id}→${f1} cut 3 s: term ${lead.term} kept, ${f1} lag ${lagged}, caught up in ${ms} ms`);

  // ---- the other direction: F1 → leader cut. F1 hears the leader but its answers (and the
  // appends it forwards) are lost; the leader must not count it, and commits through F2.
  c.link(f1, lead.id).cut();
  t = Date.now();
  await sameLeaderFor(c, lead, 3000, `${f1}→leader cut`);
  expect(acksBetween(c, t + 1000, Date.now(), f1)).toBeGreaterThan(0);
  c.link(f1, lead.id).heal();
  ms = await caughtUp(c, lead, f1, `${f1} catches up after ${f1}→leader heals`);
  await sameLeaderFor(c, lead, 1000, `after ${f1}→leader healed`);
  report.push(`${f1}→leader ${lead.id} cut 3 s: term ${lead.term} kept, caught up in ${ms} ms`);

  // ---- the leader↔F1 link flaps (both ways, 150-350 ms up, 150-350 ms down; cut, blackholed, or
  // dropping packets so that connections which lived through it stay dark for seconds)
  t = Date.now();
  let flaps = 0;
  const flapEnd = t + 4000;
  const watch = sameLeaderFor(c, lead, 4200, 'flapping leader↔F1');
  while (Date.now() < flapEnd) {
    const how = (['cut', 'blackhole', 'drop'] as const)[flaps % 3];
    c.link(lead.id, f1)[how]();
    c.link(f1, lead.id)[how]();
    await sleep(150 + Math.random() * 200);
    c.link(lead.id, f1).heal();
    c.link(f1, lead.id).heal();
    await sleep(150 + Math.random() * 200);
    flaps++;
  }
  await watch;
  // Progress in every second of it, not just overall.
  for (let s = t; s + 1000 <= flapEnd; s += 1000) expect(acksBetween(c, s, s + 1000, f1)).toBeGreaterThan(0);
  ms = await caughtUp(c, lead, f1, `${f1} catches up after the flapping`);
  report.push(`leader↔${f1} flapped ${flaps}× in 4 s: term ${lead.term} kept, caught up in ${ms} ms`);

  // ---- every link slow: 40-80 ms each way (a congested path, well inside the election timeout)
  for (const r of c.relays.values()) r.delay(40, 40);
  t = Date.now();
  await sameLeaderFor(c, lead, 3000, 'slow links');
  const slowAcks = acksBetween(c, t, Date.now());
  expect(slowAcks).toBeGreaterThan(0);
  c.healAll();
  report.push(`all links 40-80 ms for 3 s: term ${lead.term} kept, ${slowAcks} acks`);
  [lead] = [(await c.leader())];
  [f1, f2] = c.ids.filter((id) => id !== lead.id);
  expect(f2).toBeDefined();

  const { log, late } = await c.finish();
  const end = (await c.status((await c.leader()).id))!;
  expect(end.peers.every((p) => p.lag === 0)).toBe(true);
  process.stdout.write(`links: ${report.join('\n  ')}\n  ${c.summary()}, log length ${log.length} (+${late} late)\n`);
}, 60_000);
