// A seeded nemesis (Jepsen style) against 3 real raft-node processes while writers append through
// every member: for a bounded time it picks one fault after another — a frozen member (SIGSTOP),
// two frozen members (no quorum), a member isolated (cut / refused / blackhole / stalled / dropped
// packets with TCP's retransmission wait), a one-way link, a flapping link, every link slow, a
// kill -9 and restart — holds it, heals it, and checks the cluster finds a leader again each time.
// At the end: one log on every member, every ack in it exactly once at its index and term, nothing
// the log promised was not appended in it, and appends in real-time order. The seed is printed;
// RAFT_NEMESIS_SEED=n replays the same schedule.
import { seeded } from '../../helpers/seeded.js';
import { FaultCluster, sleep } from './fault-cluster.js';

const NEMESIS_MS = 32_000;
const SEED = process.env.RAFT_NEMESIS_SEED ? Number(process.env.RAFT_NEMESIS_SEED) : Math.floor(Math.random() * 2 ** 31);

let cluster: FaultCluster | undefined;

afterAll(async () => {
  await cluster?.close();
});

test(`nemesis (seed ${SEED}): random pauses, partitions, one-way and flapping links, slow links, crashes`, async () => {
  const rnd = seeded(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const between = (lo: number, hi: number): number => Math.round(lo + rnd() * (hi - lo));
  cluster = await FaultCluster.create();
  const c = cluster;
  await c.underLoad(500);

  const done: string[] = [];
  const end = Date.now() + NEMESIS_MS;
  while (Date.now() < end) {
    const kind = pick(['pause', 'pause', 'pause2', 'isolate', 'isolate', 'oneway', 'flap', 'slow', 'crash'] as const);
    // Faults aim at the leader half the time: that is where they hurt.
    const lead = rnd() < 0.5 ? (await c.leader(6000)).id : pick(c.ids);
    const other = pick(c.ids.filter((id) => id !== lead));
    const ms = between(300, 2500);
    const t0 = Date.now();
    let what: string;
    switch (kind) {
      case 'pause':
        c.pause(lead);
        await sleep(ms);
        c.resume(lead);
        what = `pause ${lead} ${ms}ms`;
        break;
      case 'pause2':
        c.pause(lead);
        c.pause(other);
        await sleep(Math.min(ms, 1500));
        c.resume(other);
        c.resume(lead);
        what = `pause ${lead}+${other} ${Math.min(ms, 1500)}ms`;
        break;
      case 'isolate': {
        const how = pick(['cut', 'refuse', 'blackhole', 'hold', 'drop'] as const);
        c.isolate(lead, how);
        await sleep(ms);
        c.healAll();
        what = `isolate ${lead} (${how}) ${ms}ms`;
        break;
      }
      case 'oneway':
        c.link(lead, other).cut();
        await sleep(ms);
        c.healAll();
        what = `cut ${lead}→${other} ${ms}ms`;
        break;
      case 'flap': {
        let n = 0;
        const how = pick(['cut', 'drop'] as const);
        while (Date.now() - t0 < ms) {
          c.link(lead, other)[how]();
          c.link(other, lead)[how]();
          await sleep(between(100, 300));
          c.healAll();
          await sleep(between(100, 300));
          n++;
        }
        what = `flap ${lead}↔${other} (${how}) ${n}×`;
        break;
      }
      case 'slow': {
        const d = between(20, 120);
        for (const r of c.relays.values()) r.delay(d, d);
        await sleep(ms);
        c.healAll();
        what = `slow ${d}-${2 * d}ms ${ms}ms`;
        break;
      }
      case 'crash':
        await c.node(lead).kill9();
        await sleep(Math.min(ms, 1000));
        await c.node(lead).start();
        what = `kill -9 ${lead}`;
        break;
    }
    // Liveness: healed, the cluster has a leader again soon.
    const l = await c.leader(8000);
    done.push(`${what} → leader ${l.id}@t${l.term} after ${Date.now() - t0}ms`);
    await sleep(between(200, 800));
  }

  const { log, late } = await c.finish();
  process.stdout.write(`nemesis seed ${SEED}: ${done.length} faults\n  ${done.join('\n  ')}\n  ${c.summary()}, log length ${log.length} (+${late} late)\n`);
  expect(done.length).toBeGreaterThanOrEqual(8);
  for (const id of c.ids) expect(c.acked().some((r) => r.node === id)).toBe(true);
}, 60_000);
