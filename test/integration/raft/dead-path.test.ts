// Member-link dead-path detection (transport/peer-link.ts, staleMs): after silently dropped packets
// a surviving connection stays dark until TCP's backed-off retransmission; a connect whose SYN was
// dropped hangs the same way. Both are replaced after staleMs. A peer that never echoes (an older
// version) is never held to the echo.
import type { ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import net from 'node:net';
import { TcpTransport } from '../../../cluster/raft/transport/index.js';
import { PeerLink } from '../../../cluster/raft/transport/peer-link.js';
import { MessageType, type Message } from '../../../cluster/raft/types.js';
import { until } from '../../helpers/eventually.js';
import { FaultRelay } from './fault-relay.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bare member link to a local port, dead-path checked after `staleMs`, fast reconnects. */
function linkTo(port: number, staleMs: number, onUnreachable: () => void = () => undefined): PeerLink {
  return new PeerLink({
    id: 9,
    address: { host: '127.0.0.1', port },
    hello: Buffer.from('hello'),
    maxQueuedFrames: 16,
    backoffMinMs: 20,
    backoffMaxMs: 50,
    onUnreachable,
    staleMs,
  });
}

function heartbeat(from: number, to: number): Message {
  return { type: MessageType.Heartbeat, from, to, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

test('a connection that lived through dropped packets is replaced: messages flow again soon after the heal', async () => {
  let received = 0;
  const b = new TcpTransport({ id: 2, listen: { host: '127.0.0.1', port: 0 }, peers: new Map() }, { onMessages: (m) => (received += m.length) });
  const bPort = await b.start();
  cleanups.push(() => b.stop());
  const relay = new FaultRelay('1>2', bPort);
  await relay.start();
  cleanups.push(() => relay.close());
  const a = new TcpTransport(
    { id: 1, listen: { host: '127.0.0.1', port: 0 }, peers: new Map([[2, { host: '127.0.0.1', port: relay.port }]]), staleMs: 200, backoffMaxMs: 100 },
    { onMessages: () => undefined },
  );
  await a.start();
  cleanups.push(() => a.stop());
  const ticker = setInterval(() => a.send([heartbeat(1, 2)]), 20);
  cleanups.push(() => clearInterval(ticker));
  await until(() => received > 5, 3000);

  relay.drop(10_000); // the old connection would carry again only 10 s after the heal
  await sleep(1000);
  const before = received;
  relay.heal();
  const healed = Date.now();
  await until(() => received > before + 5, 3000);
  expect(Date.now() - healed).toBeLessThan(1000);
});

test('a connect attempt whose SYN goes unanswered is retried after staleMs instead of hanging', async () => {
  // A listener that never accepts, its accept queue full: Linux drops further SYNs.
  const py: ChildProcess = spawnTracked('python3', [
    '-c',
    "import socket,time\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0); print(s.getsockname()[1], flush=True); time.sleep(30)",
  ]);
  cleanups.push(() => {
    if (py.exitCode === null) process.kill(py.pid!, 'SIGKILL');
  });
  const port = await new Promise<number>((resolve) => py.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const filler = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => filler.once('connect', r));
  cleanups.push(() => void filler.destroy());
  let unreachable = 0;
  const link = linkTo(port, 150, () => unreachable++);
  cleanups.push(() => link.close());
  const check = setInterval(() => link.checkStale(Date.now()), 30);
  cleanups.push(() => clearInterval(check));
  link.send(Buffer.from('x'));
  await sleep(1200);
  // Without the check the one attempt hangs on SYN retransmission (1 s, 3 s, ...): no reset at all.
  expect(link.staleResets).toBeGreaterThanOrEqual(4);
  expect(link.isConnected).toBe(false);
  expect(unreachable).toBeGreaterThanOrEqual(1);
});

test('a peer that never echoes (an older version) keeps its connection however long the link runs', async () => {
  let bytes = 0;
  const server = net.createServer((s) => s.on('data', (d: Buffer) => (bytes += d.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  const link = linkTo(port, 100);
  cleanups.push(() => link.close());
  const check = setInterval(() => link.checkStale(Date.now()), 20);
  cleanups.push(() => clearInterval(check));
  const sender = setInterval(() => link.send(Buffer.from('frame')), 10);
  cleanups.push(() => clearInterval(sender));
  await sleep(800);
  expect(link.isConnected).toBe(true);
  expect(link.staleResets).toBe(0);
  expect(bytes).toBeGreaterThan(500);
});
