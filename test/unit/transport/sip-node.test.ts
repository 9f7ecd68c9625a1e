/**
 * The node shell on real sockets, in-process: transports → dispatcher → default route, with
 * received/rport stamping (RFC 3581), §18.2.2 response addressing, and bad-input handling.
 */
import { configSchema } from '../../../config/index.js';
import { defaultRoute, startSipNode, type RequestContext, type SipNode } from '../../../node/core/index.js';
import { createLogger } from '../../../node/log/index.js';
import { parseMessage, type SipRequest } from '../../../node/sip/index.js';
import type { Tx } from '../../../node/transaction/index.js';
import type { MessageSource } from '../../../node/transport/index.js';
import { freePort } from '../../helpers/server-process.js';
import { headerOf, sipRequest, statusOf, tcpClient, udpClient } from '../../helpers/sip-client.js';

let node: SipNode;
let udpPort: number;
let tcpPort: number;

beforeAll(async () => {
  const config = configSchema.decode(
    {
      listen: { udp: ['127.0.0.1:0'], tcp: ['127.0.0.1:0'] },
      admin: { listen: '127.0.0.1:0' },
      server: { server_header: 'TestServer/1' },
      log: { level: 'silent' },
      transport: { max_message_size: 2048 },
    },
    '',
  );
  node = await startSipNode(config, createLogger(config.log).logger);
  udpPort = node.udp[0].listener.port;
  tcpPort = node.tcp[0].listener.port;
});
afterAll(() => node.stop());

describe('default route over UDP', () => {
  test('OPTIONS → 200 with the configured Server header, a To tag, and copied Call-ID/CSeq', async () => {
    const c = await udpClient();
    const req = sipRequest('OPTIONS', { viaPort: c.port });
    c.send(req, udpPort);
    const res = await c.next();
    expect(statusOf(res)).toBe(200);
    expect(headerOf(res, 'Server')).toBe('TestServer/1');
    expect(headerOf(res, 'To')).toMatch(/;tag=/);
    expect(headerOf(res, 'Call-ID')).toBe(headerOf(req, 'Call-ID'));
    expect(headerOf(res, 'CSeq')).toBe(headerOf(req, 'CSeq'));
    await c.close();
  });

  test('any other method → 501; ACK is never answered', async () => {
    const c = await udpClient();
    c.send(sipRequest('INVITE', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(501);
    c.send(sipRequest('ACK', { viaPort: c.port, toTag: 'x' }), udpPort);
    expect(await c.silentFor(300)).toBe(true);
    await c.close();
  });

  test('rport: the response goes to the source port and Via carries received + rport (RFC 3581 §4)', async () => {
    const c = await udpClient();
    // sent-by names a different host and a port nobody listens on: only rport can bring the answer back.
    c.send(sipRequest('OPTIONS', { viaHost: 'client.invalid', viaPort: 9, rport: true }), udpPort);
    const res = await c.next();
    const via = headerOf(res, 'Via') ?? '';
    expect(via).toContain('received=127.0.0.1');
    expect(via).toContain(`rport=${c.port}`);
    await c.close();
  });

  test('received is added when sent-by differs from the source; without rport the sent-by port is used', async () => {
    const c = await udpClient();
    c.send(sipRequest('OPTIONS', { viaHost: 'client.invalid', viaPort: c.port }), udpPort);
    const via = headerOf(await c.next(), 'Via') ?? '';
    expect(via).toContain('received=127.0.0.1');
    expect(via).not.toContain('rport');
    // sent-by equal to the source and no rport: Via is echoed untouched (§18.2.1).
    c.send(sipRequest('OPTIONS', { viaHost: '127.0.0.1', viaPort: c.port }), udpPort);
    expect(headerOf(await c.next(), 'Via')).not.toContain('received=');
    await c.close();
  });

  test('garbage: 400 with the parser reason when the request line is readable, silence otherwise, and no crash', async () => {
    const c = await udpClient();
    const broken = sipRequest('OPTIONS', { viaPort: c.port }).replace(/CSeq: .*\r\n/, 'CSeq: banana\r\n');
    c.send(broken, udpPort);
    const res = await c.next();
    expect(statusOf(res)).toBe(400);
    expect(res.split('\r\n')[0]).toMatch(/^SIP\/2\.0 400 Bad Request/);
    c.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]), udpPort);
    c.send('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n', udpPort); // stray response: dropped
    expect(await c.silentFor(300)).toBe(true);
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(200);
    expect(node.dispatcher.stats().dropped).toBeGreaterThanOrEqual(1);
    await c.close();
  });
});

describe('default route over TCP', () => {
  test('the response comes back over the connection the request used, even with an unreachable sent-by', async () => {
    const c = await tcpClient(tcpPort);
    c.send(sipRequest('OPTIONS', { transport: 'TCP', viaHost: 'client.invalid', viaPort: 9 }));
    const res = await c.next();
    expect(statusOf(res)).toBe(200);
    expect(headerOf(res, 'Via')).toContain('received=127.0.0.1');
    // Two requests in one segment on the same connection, then a 501.
    c.send(sipRequest('OPTIONS', { transport: 'TCP' }) + sipRequest('BYE', { transport: 'TCP', toTag: 'a' }));
    expect(statusOf(await c.next())).toBe(200);
    expect(statusOf(await c.next())).toBe(501);
    c.close();
  });

  test('a request without Content-Length on a stream gets 400 and the connection is closed (§18.3)', async () => {
    const c = await tcpClient(tcpPort);
    const closed = new Promise<void>((r) => c.socket.once('close', () => r()));
    c.send(sipRequest('OPTIONS', { transport: 'TCP' }).replace(/Content-Length: 0\r\n/, ''));
    const res = await c.next();
    expect(res.split('\r\n')[0]).toBe('SIP/2.0 400 Missing Content-Length');
    expect(headerOf(res, 'Server')).toBe('TestServer/1');
    await closed;
  });

  test('an oversize request gets 513 and the connection is closed', async () => {
    const c = await tcpClient(tcpPort);
    const closed = new Promise<void>((r) => c.socket.once('close', () => r()));
    c.send(sipRequest('MESSAGE', { transport: 'TCP', body: 'x'.repeat(4000), extra: 'Content-Type: text/plain\r\n' }));
    expect(statusOf(await c.next())).toBe(513);
    await closed;
  });

  test('a delimited but unparseable message gets 400 and the connection stays usable', async () => {
    const c = await tcpClient(tcpPort);
    c.send(sipRequest('OPTIONS', { transport: 'TCP' }).replace(/CSeq: .*\r\n/, 'CSeq: x y z\r\n'));
    expect(statusOf(await c.next())).toBe(400);
    c.send(sipRequest('OPTIONS', { transport: 'TCP' }));
    expect(statusOf(await c.next())).toBe(200);
    c.close();
  });
});

describe('through the RFC 3261 §17 transaction layer', () => {
  const seen: string[] = [];
  beforeAll(() =>
    node.setRoute({
      onRequest(ctx: RequestContext) {
        seen.push(ctx.request.method);
        defaultRoute.onRequest(ctx);
      },
    }),
  );
  afterAll(() => node.setRoute(defaultRoute));

  test('a retransmitted request is absorbed: the route runs once, the same response is resent', async () => {
    seen.length = 0;
    const c = await udpClient();
    const req = sipRequest('OPTIONS', { viaPort: c.port });
    c.send(req, udpPort);
    const first = await c.next();
    c.send(req, udpPort);
    const second = await c.next();
    expect(second).toBe(first); // byte-identical, same To tag (§17.2.2)
    expect(seen).toEqual(['OPTIONS']);
    expect(node.dispatcher.stats().retransmissions_absorbed).toBeGreaterThanOrEqual(1);
    expect(node.dispatcher.stats().transactions_active).toBeGreaterThanOrEqual(1); // Timer J keeps it (64·T1 on UDP)
    await c.close();
  });

  test('the ACK for a non-2xx final response is absorbed by the INVITE server transaction', async () => {
    seen.length = 0;
    const c = await udpClient();
    const invite = sipRequest('INVITE', { viaPort: c.port });
    c.send(invite, udpPort);
    const res = await c.next();
    expect(statusOf(res)).toBe(501);
    const toTag = /;tag=([^;\s>]+)/.exec(headerOf(res, 'To') ?? '')?.[1];
    const ack = invite
      .replace(/^INVITE /, 'ACK ')
      .replace(/CSeq: (\d+) INVITE/, 'CSeq: $1 ACK')
      .replace(/^To: (.*)$/m, `To: $1;tag=${toTag}`);
    c.send(ack, udpPort);
    expect(await c.silentFor(700)).toBe(true); // no answer to ACK, and no 501 retransmission (Timer G stopped)
    expect(seen).toEqual(['INVITE']);
    await c.close();
  });

  test('a request whose copied headers carry a NUL is dropped without harming the node', async () => {
    const c = await udpClient();
    c.send(sipRequest('OPTIONS', { viaPort: c.port }).replace('From: <sip:tester', 'From: "a\u0000b" <sip:tester'), udpPort);
    await c.silentFor(200);
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(200);
    await c.close();
  });
});

describe('client transactions over TCP', () => {
  test('a request to a port that refuses the connection is a transport error for its transaction at once (§17.1.4)', async () => {
    const errors: Tx<MessageSource>[] = [];
    node.setRoute({ onRequest: (ctx) => defaultRoute.onRequest(ctx), onTransportError: (tx) => errors.push(tx) });
    try {
      const port = await freePort(); // bound and released: nothing listens there now
      const raw = sipRequest('INVITE', { transport: 'TCP', viaPort: tcpPort, uri: `sip:callee@127.0.0.1:${port};transport=tcp` });
      const req = parseMessage(Buffer.from(raw, 'latin1')) as SipRequest;
      const dest: MessageSource = { transport: 'tcp', remote: { address: '127.0.0.1', port }, listener: node.tcp[0].listener, connectionId: null };
      const started = Date.now();
      const tx = node.dispatcher.sendRequest(req, dest);
      expect(tx).toBeDefined();
      for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(errors).toEqual([tx]);
      expect(Date.now() - started).toBeLessThan(1000); // not Timer B (32 s)
    } finally {
      node.setRoute(defaultRoute);
    }
  });
});
