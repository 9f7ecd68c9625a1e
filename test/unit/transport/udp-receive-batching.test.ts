// The transports (UDP here; TCP/TLS and WS/WSS alike) hand the messages one poll read to the stack
// together, after the poll (inbound-batch.ts): every datagram arrives, in order, pending promise jobs
// run after the batch rather than between its datagrams, and one handler failure loses nothing else.
import { createSocket, type Socket } from 'node:dgram';
import { NO_COUNTERS, UdpTransport, type InboundHandler, type MessageSource } from '../../../node/transport/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Received {
  text: string;
  /** A promise job queued by the previous call had already run when this call came. */
  jobsRanBefore: boolean;
  source: MessageSource;
}

async function listen(onText: (text: string) => void = () => undefined): Promise<{ port: number; got: Received[]; warnings: string[] }> {
  const got: Received[] = [];
  const warnings: string[] = [];
  let jobDone = true;
  const handler: InboundHandler = {
    onMessage(bytes, source) {
      const text = bytes.toString();
      got.push({ text, jobsRanBefore: jobDone, source });
      jobDone = false;
      queueMicrotask(() => (jobDone = true));
      onText(text);
    },
    onFramingFailure: () => null,
  };
  const log = { warn: (_fields: object, msg: string) => warnings.push(msg) };
  const u = new UdpTransport({ host: '127.0.0.1', port: 0, advertise: null, recvBufferBytes: 1 << 20, maxMessageSize: 65535 }, handler, NO_COUNTERS, log);
  const info = await u.start();
  cleanups.push(() => u.stop());
  return { port: info.port, got, warnings };
}

async function sender(): Promise<Socket> {
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => peer.close(() => r())));
  return peer;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

test('a burst is handled in order, in batches with promise jobs run between batches, not between datagrams', async () => {
  const { port, got } = await listen();
  const peer = await sender();
  const sent = Array.from({ length: 60 }, (_, i) => `dgram-${i}`);
  // All queued in the listener's kernel buffer before its event loop polls again.
  for (const m of sent) peer.send(m, port, '127.0.0.1');
  await until(() => got.length === sent.length);
  expect(got.map((g) => g.text)).toEqual(sent);
  // The first of a batch finds the previous batch's jobs done; the others follow it directly.
  const batchStarts = got.filter((g) => g.jobsRanBefore).length;
  expect(batchStarts).toBeGreaterThanOrEqual(1);
  expect(batchStarts).toBeLessThan(sent.length / 2);
  expect(got[0].source).toMatchObject({ transport: 'udp', remote: { address: '127.0.0.1', port: peer.address().port }, connectionId: null });
});

test('a handler that throws on one datagram loses none of the others, and the node is told', async () => {
  const { port, got, warnings } = await listen((text) => {
    if (text === 'poison') throw new Error('handler bug');
  });
  const peer = await sender();
  for (const m of ['a', 'poison', 'b', 'c']) peer.send(m, port, '127.0.0.1');
  await until(() => got.length === 4);
  expect(got.map((g) => g.text)).toEqual(['a', 'poison', 'b', 'c']);
  expect(warnings).toEqual(['inbound message handler threw']);
  // Later datagrams still arrive.
  peer.send('d', port, '127.0.0.1');
  await until(() => got.length === 5);
  expect(got[4].text).toBe('d');
});

test('a datagram alone is handled in the loop turn that read it', async () => {
  const { port, got } = await listen();
  const peer = await sender();
  peer.send('single', port, '127.0.0.1');
  await until(() => got.length === 1);
  expect(got[0]).toMatchObject({ text: 'single', jobsRanBefore: true });
});
