/** The queue-delay probe and the kernel drop counter that feed overload control, on real sockets. */
import { createSocket } from 'node:dgram';
import { PROBE_BYTES, UdpQueueProbe } from '../../../node/transport/index.js';
import { dropsForPort, readUdpDrops } from '../../../node/transport/socket-drops.js';

function listener(): Promise<{ port: number; next(): Promise<{ msg: Buffer; address: string; port: number }>; close(): void }> {
  const s = createSocket('udp4');
  const queue: { msg: Buffer; address: string; port: number }[] = [];
  const waiters: ((m: { msg: Buffer; address: string; port: number }) => void)[] = [];
  s.on('message', (msg, r) => {
    const m = { msg, address: r.address, port: r.port };
    const w = waiters.shift();
    if (w !== undefined) w(m);
    else queue.push(m);
  });
  return new Promise((resolve) =>
    s.bind(0, '127.0.0.1', () =>
      resolve({
        port: s.address().port,
        next: () => new Promise((r) => (queue.length > 0 ? r(queue.shift()!) : waiters.push(r))),
        close: () => s.close(),
      }),
    ),
  );
}

describe('UdpQueueProbe', () => {
  test('measures send-to-read delay, recognises only its own datagrams, and reports an overtaken probe as lost', async () => {
    const l = await listener();
    const delays: number[] = [];
    const lost: number[] = [];
    let clock = 1000;
    const probe = new UdpQueueProbe('127.0.0.1', l.port, (ms) => delays.push(ms), (sentAt) => lost.push(sentAt), () => clock);
    await probe.start('udp4');
    try {
      probe.send(); // sent at 1000
      clock = 1010;
      probe.send(); // sent at 1010
      const first = await l.next();
      const second = await l.next();
      expect(first.msg.length).toBe(PROBE_BYTES);
      expect(probe.matches(second.msg, second.address, second.port)).toBe(true);
      expect(probe.matches(second.msg, second.address, second.port + 1)).toBe(false);
      expect(probe.matches(Buffer.from('OPTIONS sip:x SIP/2.0\r\n'), second.address, second.port)).toBe(false);
      const forged = Buffer.from(second.msg);
      forged.writeUInt32BE((forged.readUInt32BE(8) ^ 1) >>> 0, 8); // another process's nonce
      expect(probe.matches(forged, second.address, second.port)).toBe(false);

      expect(probe.oldestInFlightMs()).toBe(10);
      expect(probe.oldestInFlightMs(1005)).toBe(0); // the one sent at 1010 is 0 ms old
      clock = 1250;
      expect(probe.oldestInFlightMs(1005)).toBe(240);
      // Only the second is read: the first was dropped on the way (the queue overflowed).
      probe.received(second.msg);
      expect(delays).toEqual([240]);
      expect(lost).toEqual([1000]);
      expect(probe.oldestInFlightMs()).toBe(0);
    } finally {
      await probe.stop();
      l.close();
    }
  });
});

describe('kernel drop counter (/proc/net/udp)', () => {
  const text = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
    ' 4722: 0100007F:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4006301 2 000000004969a0c0 17       ',
    ' 4723: 0100007F:13C5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4006302 2 000000004969a0c1 3        ',
    ' 4724: 00000000:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4006303 2 000000004969a0c2 5        ',
  ].join('\n');

  test('sums the drops of the sockets bound to a local port; null when none is', () => {
    expect(dropsForPort(text, 0x13c4)).toBe(22);
    expect(dropsForPort(text, 0x13c5)).toBe(3);
    expect(dropsForPort(text, 0x13c6)).toBeNull();
  });

  test('reads a live socket of each family from its own table: 0 drops for a fresh one', async () => {
    const l = await listener();
    const v6 = createSocket('udp6');
    await new Promise<void>((r) => v6.bind(0, '::1', () => r()));
    try {
      expect(await readUdpDrops(l.port)).toBe(0);
      expect(await readUdpDrops(v6.address().port, 'udp6')).toBe(0);
    } finally {
      l.close();
      v6.close();
    }
  });
});
