import { createSocket, type Socket } from 'node:dgram';
import {
  BAD_DESTINATION_NOTICE_MS,
  NO_COUNTERS,
  UdpTransport,
  isSendableEndpoint,
  type Endpoint,
  type InboundHandler,
} from '../../../node/transport/index.js';

const ignore: InboundHandler = { onMessage: () => undefined, onFramingFailure: () => null };

interface Harness {
  u: UdpTransport;
  peer: Socket;
  peerPort: number;
  refused: () => number;
  warnings: { fields: object; msg: string }[];
  clock: { t: number };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(): Promise<Harness> {
  let refused = 0;
  const warnings: { fields: object; msg: string }[] = [];
  const clock = { t: 1_000_000 };
  const u = new UdpTransport(
    { host: '127.0.0.1', port: 0, advertise: null, recvBufferBytes: 0, maxMessageSize: 65535 },
    ignore,
    { ...NO_COUNTERS, badDestination: () => void refused++ },
    { warn: (fields, msg) => void warnings.push({ fields, msg }) },
    () => clock.t,
  );
  await u.start();
  cleanups.push(() => u.stop());
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => peer.close(() => r())));
  return { u, peer, peerPort: peer.address().port, refused: () => refused, warnings, clock };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('UDP send to a destination that cannot be addressed', () => {
  test('port 0, ports above 65535 and a missing address are refused without throwing, counted, and reported to onFailure after the call', async () => {
    const h = await harness();
    const bad: Endpoint[] = [
      { address: '127.0.0.1', port: 0 },
      { address: '127.0.0.1', port: 65536 },
      { address: '127.0.0.1', port: 70000 },
      { address: '127.0.0.1', port: -1 },
      { address: '127.0.0.1', port: Number.NaN },
      { address: '', port: 5060 },
    ];
    const failures: number[] = [];
    bad.forEach((dest, i) => {
      expect(() => h.u.send(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), dest, () => failures.push(i))).not.toThrow();
    });
    expect(failures).toEqual([]); // never inside the send call (same contract as the TCP send)
    await flush();
    expect(failures).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.refused()).toBe(bad.length);
  });

  test('the warning is rate-limited and carries the count since the previous one', async () => {
    const h = await harness();
    for (let i = 0; i < 50; i++) h.u.send(Buffer.from('x'), { address: '127.0.0.1', port: 0 });
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0].fields).toMatchObject({ refused: 1, port: 0 });
    h.clock.t += BAD_DESTINATION_NOTICE_MS;
    h.u.send(Buffer.from('x'), { address: '127.0.0.1', port: 99999 });
    expect(h.warnings).toHaveLength(2);
    expect(h.warnings[1].fields).toMatchObject({ refused: 50, port: 99999 });
    expect(h.refused()).toBe(51);
  });

  test('a good destination still receives the datagram, before and after refused sends', async () => {
    const h = await harness();
    const got: string[] = [];
    const both = new Promise<void>((resolve) =>
      h.peer.on('message', (m) => {
        got.push(m.toString());
        if (got.length === 2) resolve();
      }),
    );
    h.u.send(Buffer.from('one'), { address: '127.0.0.1', port: h.peerPort });
    let lost = false;
    h.u.send(Buffer.from('lost'), { address: '127.0.0.1', port: 0 }, () => (lost = true));
    let failed = false;
    h.u.send(Buffer.from('two'), { address: '127.0.0.1', port: h.peerPort }, () => (failed = true));
    await both;
    expect(lost).toBe(true);
    expect(got).toEqual(['one', 'two']);
    expect(failed).toBe(false);
    expect(h.refused()).toBe(1);
  });

  test('isSendableEndpoint bounds', () => {
    expect(isSendableEndpoint({ address: '::1', port: 1 })).toBe(true);
    expect(isSendableEndpoint({ address: '10.0.0.1', port: 65535 })).toBe(true);
    expect(isSendableEndpoint({ address: '10.0.0.1', port: 5060.5 })).toBe(false);
  });

  test('a host name that does not resolve is reported to onFailure and counted; a name that resolves is sent', async () => {
    const h = await harness();
    const failed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      h.u.send(Buffer.from('OPTIONS'), { address: 'no-such-host.invalid', port: 5060 }, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(failed).toBe(true);
    expect(h.refused()).toBe(1);
    const got = new Promise<string>((r) => h.peer.once('message', (m) => r(m.toString())));
    let lost = false;
    h.u.send(Buffer.from('by-name'), { address: 'localhost', port: h.peerPort }, () => void (lost = true));
    expect(await got).toBe('by-name');
    expect(lost).toBe(false);
  }, 15_000);
});
