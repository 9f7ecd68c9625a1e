// How soon a member cut off for a while is back once the network heals. Member links reconnect
// with back-off; while the peer was unreachable the back-off grows. If it may grow past the
// election timeout, a healed link stays dark for up to that long: the member (and its clients)
// wait for nothing, and a leader that needs it for its quorum is down that long after the heal.
// In-process members on loopback (election timeout 0.5-1 s), member links through FaultRelays.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplicatedLog } from '../../../cluster/log/index.js';
import { StateRole } from '../../../cluster/raft/types.js';
import { until } from '../../helpers/eventually.js';
import type { FaultRelay } from './fault-relay.js';
import { startRelayedCluster, type RelayedCluster } from './relayed-cluster.js';

let dir: string;
let logs: ReplicatedLog[] = [];
let relays = new Map<string, FaultRelay>();
let cluster: RelayedCluster | undefined;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-rejoin-'));
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  logs = [];
  relays = new Map();
  await fsp.rm(dir, { recursive: true, force: true });
});

async function startCluster(): Promise<void> {
  cluster = await startRelayedCluster(dir);
  ({ logs, relays } = cluster);
}

const leader = (): ReplicatedLog | undefined => logs.find((l) => l.status().role === StateRole.Leader);

test('a member cut off for 3 s is caught up within an election timeout of the heal, three times over', async () => {
  await startCluster();
  await until(() => leader() !== undefined, 8000);

  const took: number[] = [];
  for (let round = 0; round < 3; round++) {
    const lead = leader()!;
    // Alternate: a follower, then the leader itself (it is deposed meanwhile), then a follower.
    const victim = round === 1 ? lead : logs.find((l) => l !== lead)!;
    for (const r of relays.values()) if (r.name.includes(String(victim.id))) r.cut();
    await new Promise((r) => setTimeout(r, 3000));
    const now = leader()!;
    const w = await now.append([Buffer.from(`while-${victim.id}-was-away`)]);
    const healedAt = Date.now();
    for (const r of relays.values()) r.heal();
    await until(() => victim.status().applied >= w.index && victim.status().leader === now.id, 5000);
    took.push(Date.now() - healedAt);
  }
  process.stdout.write(`rejoin after a 3 s cut: ${took.join(' / ')} ms\n`);
  // Reconnect retries at most every election-timeout/2 (250 ms here), plus a round trip or two.
  for (const ms of took) expect(ms).toBeLessThan(500);
}, 40_000);

test('after silent packet loss, links that TCP would revive only seconds later are replaced: back within an election timeout', async () => {
  await startCluster();
  await until(() => leader() !== undefined, 8000);
  const took: number[] = [];
  for (let round = 0; round < 2; round++) {
    const lead = leader()!;
    const victim = round === 1 ? lead : logs.find((l) => l !== lead)!;
    // Packets to and from the victim are dropped for 2 s; surviving connections come back 5 s
    // after the heal (TCP's backed-off retransmission), new ones at once.
    for (const r of relays.values()) if (r.name.includes(String(victim.id))) r.drop(5000);
    await new Promise((r) => setTimeout(r, 2000));
    await until(() => leader() !== undefined && leader() !== victim, 5000);
    const now = leader()!;
    const w = await now.append([Buffer.from(`while-${victim.id}-was-away`)]);
    const healedAt = Date.now();
    for (const r of relays.values()) r.heal();
    await until(() => victim.status().applied >= w.index && victim.status().leader === now.id, 8000);
    took.push(Date.now() - healedAt);
  }
  process.stdout.write(`rejoin after 2 s of dropped packets: ${took.join(' / ')} ms\n`);
  for (const ms of took) expect(ms).toBeLessThan(1500);
}, 40_000);
