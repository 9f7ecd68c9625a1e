// Runs one member of the replicated log as its own process.
//
//   node dist/ops/raft-node.js --id 1 --listen 127.0.0.1:7001 --data /tmp/n1 \
//     --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 [--client 127.0.0.1:8001] \
//     [--http 127.0.0.1:9001] [--tick-ms 50] [--election-ticks 10] [--heartbeat-ticks 1] [--join] [--no-fsync]
//     [--tls-ca ca.pem --tls-cert node.pem --tls-key node.key]
//
// Prints one JSON line {"ready":true,...} on stdout once serving. SIGTERM/SIGINT stop it cleanly.
// HTTP: POST /append (body = one entry) → 200 {"index","term"} | 503 {"error","leader"}; GET /admin/cluster.
// error NotLeader / LeaderChanged: not appended, retry at `leader`; Timeout: outcome unknown.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { LeaderChangedError, LogClientServer, NotLeaderError, ReplicatedLog, clusterStatusHandler } from '../cluster/index.js';
import type { PeerAddress } from '../cluster/index.js';

function addr(s: string): PeerAddress {
  const i = s.lastIndexOf(':');
  if (i < 0) throw new Error(`bad address "${s}" (want host:port)`);
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

function parsePeers(s: string | undefined): Map<number, PeerAddress> {
  const m = new Map<number, PeerAddress>();
  if (!s) return m;
  for (const part of s.split(',').filter(Boolean)) {
    const [id, a] = part.split('=');
    m.set(Number(id), addr(a));
  }
  return m;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      id: { type: 'string' },
      listen: { type: 'string' },
      data: { type: 'string' },
      peers: { type: 'string' },
      client: { type: 'string' },
      http: { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      'heartbeat-ticks': { type: 'string' },
      join: { type: 'boolean' },
      'no-fsync': { type: 'boolean' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
  });
  if (!v.id || !v.listen || !v.data) throw new Error('usage: raft-node --id N --listen host:port --data DIR [--peers ...]');
  const id = Number(v.id);
  const tls =
    v['tls-ca'] && v['tls-cert'] && v['tls-key']
      ? { ca: readFileSync(v['tls-ca']), cert: readFileSync(v['tls-cert']), key: readFileSync(v['tls-key']) }
      : undefined;
  const log = new ReplicatedLog({
    id,
    dataDir: v.data,
    listen: addr(v.listen),
    peers: parsePeers(v.peers),
    join: v.join ?? false,
    tickMs: v['tick-ms'] ? Number(v['tick-ms']) : 50,
    electionTicks: v['election-ticks'] ? Number(v['election-ticks']) : 10,
    heartbeatTicks: v['heartbeat-ticks'] ? Number(v['heartbeat-ticks']) : 1,
    fsync: !v['no-fsync'],
    tls,
    // A log that halted on a storage failure must not linger as a live-looking process: exit so
    // the supervisor restarts it and start-up recovery decides from what is on disk.
    onHalt: (reason) => {
      process.stderr.write(`raft-node ${id}: halted on a storage failure: ${reason.message}\n`);
      process.exit(1);
    },
  });
  const peerPort = await log.start();
  let clientPort = 0;
  let clientServer: LogClientServer | undefined;
  if (v.client) {
    clientServer = new LogClientServer(log);
    const c = addr(v.client);
    clientPort = await clientServer.listen(c.host, c.port);
  }
  let httpServer: http.Server | undefined;
  let httpPort = 0;
  if (v.http) {
    const status = clusterStatusHandler(log);
    httpServer = http.createServer((req, res) => {
      if (req.url === '/admin/cluster') return status(req, res);
      if (req.url === '/append' && req.method === 'POST') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          log.append([Buffer.concat(chunks)]).then(
            (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r)),
            (e: Error) =>
              res
                .writeHead(503, { 'content-type': 'application/json' })
                .end(JSON.stringify({ error: e.name, leader: e instanceof NotLeaderError || e instanceof LeaderChangedError ? e.leader : 0 })),
          );
        });
        return;
      }
      res.writeHead(404).end();
    });
    const h = addr(v.http);
    await new Promise<void>((r) => httpServer!.listen(h.port, h.host, () => r()));
    httpPort = (httpServer.address() as { port: number }).port;
  }
  process.stdout.write(JSON.stringify({ ready: true, id, pid: process.pid, peerPort, clientPort, httpPort }) + '\n');
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await clientServer?.close();
    if (httpServer) await new Promise((r) => httpServer!.close(r));
    await log.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: Error) => {
  process.stderr.write(`raft-node: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
