/**
 * Transport abuse against the running node (RFC 3261 §18): stalled, garbage-spewing, oversized,
 * idle and non-reading TCP peers, and odd UDP datagrams. Each abuse must cost only the abuser:
 * a well-behaved client is still answered promptly and the node's connection gauge recovers.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { serverPerSuite, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, sipRequest, statusOf, tcpClient, udpClient } from '../../helpers/sip-client.js';
import { eventually, metricSum, metricsText, optionsAnswered, rawConnect, sleep } from './harness.js';

const IDLE_SECS = 2;
const MANY_IDLE_SECS = 10;

async function tcpConnections(server: ServerProcess): Promise<number> {
  const text = await metricsText(server);
  return metricSum(text.split('\n').filter((l) => !l.includes('transport="') || l.includes('transport="tcp"')).join('\n'), 'siphon_connections_active');
}

/** A fresh TCP client's OPTIONS round trip in ms (throws if unanswered within `timeoutMs`). */
// Bounds are generous on purpose: a wedged node never answers, a busy shared CI box answers late.
async function tcpOptionsRtt(server: ServerProcess, timeoutMs = 3000): Promise<number> {
  const c = await tcpClient(server.sipPort);
  try {
    const t0 = Date.now();
    c.send(sipRequest('OPTIONS', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: c.localPort }));
    const res = await c.next(timeoutMs);
    expect(statusOf(res)).toBe(200);
    return Date.now() - t0;
  } finally {
    c.close();
  }
}

describe('TCP abuse', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({
      config: { transport: { tcp_idle_timeout_secs: IDLE_SECS, tcp_max_write_buffer_bytes: 65_536 } },
    });
  }, 30_000);
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
  });

  it('slowloris: half a message then silence does not delay anyone else; the idle timeout reaps it', async () => {
    const slow = await rawConnect(server.sipPort);
    slow.socket.write(`OPTIONS sip:127.0.0.1:${server.sipPort} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKslow\r\nMax-For`);
    try {
      expect(await tcpOptionsRtt(server)).toBeLessThan(3000);
      expect(await optionsAnswered(server)).toBe(200);
      expect(await slow.closedWithin(IDLE_SECS * 1000 + 3000)).toBe(true);
      expect(slow.received()).toBe('');
    } finally {
      slow.destroy();
    }
  }, 15_000);

  it('garbage with a blank line closes only that connection; a neighbour connection keeps working', async () => {
    const good = await tcpClient(server.sipPort);
    const bad = await rawConnect(server.sipPort);
    try {
      bad.socket.write(Buffer.concat([Buffer.from('\x00\x01garbage \xff\xfe nonsense\r\nmore: junk\r\n\r\n', 'latin1'), randomBytes(512)]));
      expect(await bad.closedWithin(1500)).toBe(true);
      good.send(sipRequest('OPTIONS', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: good.localPort }));
      expect(statusOf(await good.next(1000))).toBe(200);
    } finally {
      good.close();
      bad.destroy();
    }
  }, 15_000);

  it('binary garbage with no line structure closes only that connection', async () => {
    const bad = await rawConnect(server.sipPort);
    try {
      const junk = randomBytes(4096);
      for (let i = 0; i < junk.length; i++) if (junk[i] === 13 || junk[i] === 10) junk[i] = 0;
      bad.socket.write(junk);
      // Closed as soon as the bytes cannot be a start line, long before the idle timeout; never answered.
      expect(await bad.closedWithin(1000)).toBe(true);
      expect(bad.received()).toBe('');
      expect(await tcpOptionsRtt(server)).toBeLessThan(3000);
    } finally {
      bad.destroy();
    }
  }, 15_000);

  it('an HTTP probe on the SIP port is closed at once without an answer; a neighbour is unaffected', async () => {
    const good = await tcpClient(server.sipPort);
    const probe = await rawConnect(server.sipPort);
    try {
      probe.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      expect(await probe.closedWithin(1000)).toBe(true);
      expect(probe.received()).toBe('');
      good.send(sipRequest('OPTIONS', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: good.localPort }));
      expect(statusOf(await good.next(1000))).toBe(200);
    } finally {
      good.close();
      probe.destroy();
    }
  }, 15_000);

  it('a start line trickled in byte by byte is still framed and answered', async () => {
    const c = await tcpClient(server.sipPort);
    try {
      const req = sipRequest('OPTIONS', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: c.localPort });
      for (const ch of req.slice(0, 60)) {
        c.send(ch);
        await sleep(2);
      }
      c.send(req.slice(60));
      expect(statusOf(await c.next(2000))).toBe(200);
    } finally {
      c.close();
    }
  }, 15_000);

  it('a Content-Length beyond the maximum message size is refused with 513 and the connection closed', async () => {
    const c = await rawConnect(server.sipPort);
    try {
      const req = sipRequest('MESSAGE', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: c.socket.localPort }).replace(
        /Content-Length: 0\r\n/,
        'Content-Type: text/plain\r\nContent-Length: 10000000\r\n',
      );
      c.socket.write(req);
      expect(await c.closedWithin(3000)).toBe(true);
      expect(statusOf(c.received())).toBe(513);
      expect(await tcpOptionsRtt(server)).toBeLessThan(3000);
    } finally {
      c.destroy();
    }
  }, 15_000);

  it('a CRLFCRLF keep-alive ping gets a CRLF pong and the connection stays usable (RFC 5626 §4.4.1)', async () => {
    const c = await tcpClient(server.sipPort);
    try {
      const pong = new Promise<string>((resolve) => c.socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
      c.send('\r\n\r\n');
      expect(await pong).toBe('\r\n');
      c.send(sipRequest('OPTIONS', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: c.localPort }));
      expect(statusOf(await c.next(1000))).toBe(200);
    } finally {
      c.close();
    }
  }, 15_000);

  it('1,000 idle connections are counted, reaped by the idle timeout, and the gauge falls back', async () => {
    // Its own node with a longer idle timeout: on a busy box opening 1,000 connections can take
    // longer than the 2 s the other tests use, and the first ones would be reaped before counting.
    const server = await startServer({ config: { transport: { tcp_idle_timeout_secs: MANY_IDLE_SECS } } });
    const base = await tcpConnections(server);
    const sockets: Socket[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        const opened = await Promise.all(
          Array.from(
            { length: 100 },
            () =>
              new Promise<Socket>((resolve, reject) => {
                const s = connect({ host: '127.0.0.1', port: server.sipPort }, () => resolve(s));
                s.on('error', reject);
              }),
          ),
        );
        for (const s of opened) s.on('error', () => undefined);
        sockets.push(...opened);
      }
      await eventually('gauge counts the idle connections', () => tcpConnections(server), (n) => n >= base + 1000, 15_000);
      // The node stays responsive with them open.
      expect(await tcpOptionsRtt(server)).toBeLessThan(3000);
      const closed = sockets.map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r()))));
      await Promise.race([Promise.all(closed), sleep(MANY_IDLE_SECS * 1000 + 10_000)]);
      expect(sockets.filter((s) => !s.destroyed && !s.readableEnded).length).toBe(0);
      await eventually('gauge falls back', () => tcpConnections(server), (n) => n <= base, 15_000);
    } finally {
      for (const s of sockets) s.destroy();
      expect(await server.stop()).toBe(0);
    }
  }, 90_000);

  it('wedge: a peer that never reads while we answer it is shed; another client is answered promptly', async () => {
    const wedge = await rawConnect(server.sipPort);
    try {
      wedge.socket.pause(); // never read: its receive window and our send buffer fill up
      // A long From tag is copied into every 200, so each answer is ~2 KB the peer never reads.
      const pad = 'p'.repeat(2000);
      let batch = '';
      for (let i = 0; i < 500; i++) batch += sipRequest('OPTIONS', { transport: 'TCP', uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: 1 }).replace(';tag=f', `;tag=${pad}`);
      for (let round = 0; round < 30 && !wedge.socket.destroyed; round++) {
        wedge.socket.write(batch);
        await sleep(50);
        expect(await tcpOptionsRtt(server)).toBeLessThan(3000);
      }
      // The node dropped the connection rather than buffer without bound (tcp_max_write_buffer_bytes).
      expect(await wedge.closedWithin(5000)).toBe(true);
      expect(await optionsAnswered(server)).toBe(200);
    } finally {
      wedge.destroy();
    }
  }, 30_000);
});

describe('UDP oddities', () => {
  const server = serverPerSuite({ config: { transport: { max_message_size: 4096 } } });

  const own = () => `sip:127.0.0.1:${server.sipPort}`;

  it('datagrams above the maximum message size: a readable request gets 513 (§21.5.14), garbage (up to the 64 KiB UDP limit) nothing', async () => {
    const c = await udpClient();
    try {
      c.send(randomBytes(65_507), server.sipPort);
      expect(await c.silentFor(300)).toBe(true);
      const big = sipRequest('MESSAGE', { uri: own(), viaPort: c.port, body: 'b'.repeat(8000) });
      c.send(big, server.sipPort);
      const reply = await c.next(3000);
      expect(statusOf(reply)).toBe(513);
      expect(headerOf(reply, 'Call-ID')).toBe(headerOf(big, 'Call-ID'));
      expect(await c.silentFor(300)).toBe(true);
      expect(await optionsAnswered(server)).toBe(200);
    } finally {
      await c.close();
    }
  }, 15_000);

  it('a datagram carrying two messages: the first is answered, the trailing octets discarded (§18.3)', async () => {
    const c = await udpClient();
    try {
      const first = sipRequest('OPTIONS', { uri: own(), viaPort: c.port });
      const second = sipRequest('OPTIONS', { uri: own(), viaPort: c.port });
      c.send(first + second, server.sipPort);
      const res = await c.next(2000);
      expect(statusOf(res)).toBe(200);
      expect(headerOf(res, 'CSeq')).toBe(headerOf(first, 'CSeq'));
      expect(await c.silentFor(500)).toBe(true);
    } finally {
      await c.close();
    }
  }, 15_000);

  it('CRLF keep-alives over UDP are ignored without reply', async () => {
    const c = await udpClient();
    try {
      c.send('\r\n\r\n', server.sipPort);
      c.send('\r\n', server.sipPort);
      c.send('', server.sipPort);
      expect(await c.silentFor(400)).toBe(true);
      expect(await optionsAnswered(server)).toBe(200);
    } finally {
      await c.close();
    }
  }, 15_000);

  it('responses matching nothing: ours on top are forwarded statelessly to the next Via, others absorbed (§16.11, §18.1.2)', async () => {
    const c = await udpClient();
    const stray = (status: string, topHost: string): string =>
      `SIP/2.0 ${status}\r\nVia: SIP/2.0/UDP ${topHost};branch=z9hG4bKnothing${status.slice(0, 3)}\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKup\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\n` +
      `Call-ID: stray-${status.slice(0, 3)}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    try {
      // Top Via not ours: discarded, whatever the status.
      for (const status of ['100 Trying', '180 Ringing', '200 OK', '487 Request Terminated', '699 Odd']) {
        c.send(stray(status, '192.0.2.77:5060'), server.sipPort);
      }
      expect(await c.silentFor(500)).toBe(true);
      // Top Via ours: popped, and the response goes to the next Via (here, the sender itself).
      for (const status of ['180 Ringing', '200 OK', '699 Odd']) {
        c.send(stray(status, `127.0.0.1:${server.sipPort}`), server.sipPort);
        const got = await c.next(3000);
        expect(statusOf(got)).toBe(Number(status.slice(0, 3)));
        expect(got).not.toContain('z9hG4bKnothing');
        expect(headerOf(got, 'Via')).toContain('z9hG4bKup');
      }
      expect(await c.silentFor(300)).toBe(true);
      expect(await optionsAnswered(server)).toBe(200);
    } finally {
      await c.close();
    }
  }, 15_000);

  it('an ACK for nothing is absorbed silently (an ACK is never answered, §17.1.1.3)', async () => {
    const c = await udpClient();
    try {
      c.send(sipRequest('ACK', { uri: own(), viaPort: c.port, toTag: 'none' }), server.sipPort);
      c.send(sipRequest('ACK', { uri: `sip:nobody@127.0.0.1:${server.sipPort}`, viaPort: c.port }), server.sipPort);
      expect(await c.silentFor(500)).toBe(true);
      expect(await optionsAnswered(server)).toBe(200);
    } finally {
      await c.close();
    }
  }, 15_000);
});
