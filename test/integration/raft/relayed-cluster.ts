// Three in-process log members on loopback whose member links each go through a FaultRelay
// (relays.get('1>2'): what member 1 dials to reach member 2), so a test can cut, drop or hold any
// directed link. Election timeout 0.5-1 s (50 ms ticks). Data under `dir`.
import path from 'node:path';
import { ReplicatedLog, type ReplicatedLogOptions } from '../../../cluster/log/index.js';
import { FaultRelay } from './fault-relay.js';
import { freePorts } from './node-process.js';

export interface RelayedCluster {
  readonly logs: ReplicatedLog[];
  readonly relays: Map<string, FaultRelay>;
  log(id: number): ReplicatedLog;
  link(from: number, to: number): FaultRelay;
  /** Stops every member, then every relay. */
  stop(): Promise<void>;
}

export async function startRelayedCluster(dir: string, extra: Partial<ReplicatedLogOptions> = {}): Promise<RelayedCluster> {
  const ids = [1, 2, 3];
  const ports = await freePorts(3);
  const relays = new Map<string, FaultRelay>();
  for (const from of ids) {
    for (const to of ids) {
      if (from === to) continue;
      const r = new FaultRelay(`${from}>${to}`, ports[to - 1]);
      await r.start();
      relays.set(`${from}>${to}`, r);
    }
  }
  const logs = ids.map(
    (id) =>
      new ReplicatedLog({
        id,
        dataDir: path.join(dir, `n${id}`),
        listen: { host: '127.0.0.1', port: ports[id - 1] },
        peers: new Map(ids.map((p) => [p, { host: '127.0.0.1', port: p === id ? ports[id - 1] : relays.get(`${id}>${p}`)!.port }])),
        tickMs: 50,
        electionTicks: 10,
        ...extra,
      }),
  );
  await Promise.all(logs.map((l) => l.start()));
  return {
    logs,
    relays,
    log: (id) => logs[id - 1],
    link: (from, to) => relays.get(`${from}>${to}`)!,
    stop: async () => {
      await Promise.all(logs.map((l) => l.stop()));
      await Promise.all([...relays.values()].map((r) => r.close()));
    },
  };
}
