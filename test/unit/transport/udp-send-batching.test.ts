// UdpTransport writes the datagrams of one event-loop turn together, after the turn (see its send()):
// order must hold, nothing may be lost, and a stop() still sends what was queued.
import { createSocket, type Socket } from 'node:dgram';
import { NO_COUNTERS, UdpTransport, type InboundHandler } from '../../../node/transport/index.js';

const ignore: InboundHandler = { onMessage: () => undefined, onFramingFailure: () => null };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(): Promise<{ u: UdpTransport; peer: Socket; port: number; got: string[] }> {
  const u = new UdpTransport({ host: '127.0.0.1', port: 0, advertise: null, recvBufferBytes: 0, maxMessageSize: 65535 }, ignore, NO_COUNTERS);
  await u.start();
  cleanups.push(() => u.stop());
  const peer = createSocket('udp4');
  const got: string[] = [];
  peer.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => peer.close(() => r())));
  return { u, peer, port: peer.address().port, got };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

test('datagrams queued in one turn all arrive, in the order they were sent', async () => {
  const { u, port, got } = await pair();
  const sent = Array.from({ length: 200 }, (_, i) => `msg-${i}`);
  for (const m of sent) u.send(Buffer.from(m), { address: '127.0.0.1', port });
  await until(() => got.length === sent.length);
  expect(got).toEqual(sent);
});

test('sends from consecutive turns keep their order across flushes', async () => {
  const { u, port, got } = await pair();
  u.send(Buffer.from('a'), { address: '127.0.0.1', port });
  await new Promise((r) => setImmediate(r));
  u.send(Buffer.from('b'), { address: '127.0.0.1', port });
  u.send(Buffer.from('c'), { address: '127.0.0.1', port });
  await until(() => got.length === 3);
  expect(got).toEqual(['a', 'b', 'c']);
});

test('stop() sends what was queued before closing the socket', async () => {
  const { u, port, got } = await pair();
  u.send(Buffer.from('last-final-response'), { address: '127.0.0.1', port });
  await u.stop();
  await until(() => got.length === 1);
  expect(got).toEqual(['last-final-response']);
});
