// Real-process chaos: 3 raft-node processes on loopback, writers appending unique entries while a
// bounded loop kill -9's a random member (the leader included, deliberately often) and restarts it.
// At the end every acknowledged entry is in every member's committed log exactly once, and all
// members hold the same log in the same order. Needs dist/ (built by `npm test`'s pretest).
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogClient } from '../../../cluster/log/index.js';
import { NodeProcess, compiledNodeAvailable, freePorts, readCommittedLog } from './node-process.js';

const CHAOS_MS = 45_000;
const WRITERS = 12;


let dir: string;
let nodes: NodeProcess[] = [];

beforeAll(async () => {
  if (!compiledNodeAvailable()) throw new Error('dist/ops/raft-node.js missing: run `npx tsc -p .` first');
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-chaos-'));
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await fsp.rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tryStatus(n: NodeProcess): Promise<{ role: string; leader: number; applied: number; commit: number } | undefined> {
  if (!n.running) return undefined;
  try {
    const c = await LogClient.connect('127.0.0.1', n.clientPort, 500);
    try {
      return JSON.parse((await c.status(1000)).statusJson);
    } finally {
      c.close();
    }
  } catch {
    return undefined;
  }
}

test('kill -9 of random members (leader included) loses no acknowledged entry and never forks the log', async () => {
  const ports = await freePorts(6);
  const peers = [1, 2, 3].map((id, i) => `${id}=127.0.0.1:${ports[2 * i]}`).join(',');
  nodes = [1, 2, 3].map((id, i) => new NodeProcess(id, ports[2 * i], ports[2 * i + 1], path.join(dir, `n${id}`), peers));
  await Promise.all(nodes.map((n) => n.start()));

  const acked = new Map<string, number>(); // value -> index acknowledged
  let attempts = 0;
  let failures = 0;
  let stop = false;

  async function writer(w: number): Promise<void> {
    let client: LogClient | undefined;
    let target = w % 3;
    let seq = 0;
    while (!stop) {
      if (!client) {
        try {
          client = await LogClient.connect('127.0.0.1', nodes[target].clientPort, 500);
        } catch {
          target = (target + 1) % 3;
          await sleep(50);
          continue;
        }
      }
      // Never retried: a value is written at most once, so a duplicate in the log would be a bug.
      const value = `w${w}-${seq++}`;
      attempts++;
      try {
        const r = await client.append([Buffer.from(value)], 3000);
        acked.set(value, r.index);
      } catch (e) {
        failures++;
        const err = e as Error & { leader?: number };
        if (err.name === 'ConnectionClosed' || err.name === 'Timeout') {
          client.close();
          client = undefined;
          target = (target + 1) % 3;
        } else if (err.name === 'NotLeader' && err.leader) {
          client.close();
          client = undefined;
          target = err.leader - 1;
        }
        await sleep(20);
      }
    }
    client?.close();
  }

  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  const kills: string[] = [];
  const end = Date.now() + CHAOS_MS;
  let round = 0;
  while (Date.now() < end) {
    await sleep(1500 + Math.random() * 1500);
    // Every other round targets the current leader; the rest a random member.
    let victim = nodes[Math.floor(Math.random() * 3)];
    if (round++ % 2 === 0) {
      for (const n of nodes) {
        const s = await tryStatus(n);
        if (s?.role === 'leader') victim = n;
      }
    }
    const wasLeader = (await tryStatus(victim))?.role === 'leader';
    await victim.kill9();
    kills.push(`${victim.id}${wasLeader ? '(leader)' : ''}`);
    await sleep(300 + Math.random() * 1200);
    await victim.start();
  }
  stop = true;
  await Promise.all(writers);

  // Let every member catch up to the same applied index.
  let statuses: Array<Awaited<ReturnType<typeof tryStatus>>> = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    statuses = await Promise.all(nodes.map(tryStatus));
    const applied = statuses.map((s) => s?.applied ?? -1);
    if (applied.every((a) => a > 0 && a === applied[0]) && statuses.some((s) => s?.role === 'leader')) break;
    if (Date.now() > deadline) throw new Error(`members did not converge: ${JSON.stringify(statuses)}`);
    await sleep(200);
  }

  const logs = await Promise.all(nodes.map((n) => readCommittedLog(n.clientPort)));
  // One order: every member holds the identical sequence of (index, value).
  expect(logs[1]).toEqual(logs[0]);
  expect(logs[2]).toEqual(logs[0]);
  // Exactly once: no value appears twice, and every acknowledged value is there at the acked index.
  const where = new Map<string, number>();
  for (const e of logs[0]) {
    expect(where.has(e.value)).toBe(false);
    where.set(e.value, e.index);
  }
  let missing = 0;
  for (const [value, index] of acked) if (where.get(value) !== index) missing++;
  expect(missing).toBe(0);

  process.stdout.write(
    `chaos: ${kills.length} kill -9 (${kills.join(' ')}), ${attempts} appends attempted, ${acked.size} acked, ` +
      `${failures} failed/unknown, log length ${logs[0].length}\n`,
  );
  expect(kills.length).toBeGreaterThanOrEqual(8);
  expect(kills.some((k) => k.includes('leader'))).toBe(true);
  expect(acked.size).toBeGreaterThan(500);
}, 150_000);
