// The transports' side of RFC 3263: literals skip the resolver, names go through it (with the
// Endpoint's srv flag), an unresolvable name is the usual transport error, TCP fails over (§4.3).
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import type { NameQuery, NameResolver, ResolveCallback, SipTarget } from '../../../node/dns/index.js';
import { NO_COUNTERS, TcpTransport, UdpTransport, type InboundHandler } from '../../../node/transport/index.js';
import { tcpTestOptions } from '../transport/tcp-test-options.js';

const ignore: InboundHandler = { onMessage: () => undefined, onFramingFailure: () => null };

/** Answers from a table (synchronously, like a cache hit) and records every question. */
class TableResolver implements NameResolver {
  readonly asked: NameQuery[] = [];
  constructor(private readonly table: Record<string, readonly SipTarget[]>) {}
  lookup(query: NameQuery, done: ResolveCallback): void {
    this.asked.push(query);
    const key = `${query.srv ? 'srv' : 'a'} ${query.transport} ${query.host}`;
    const targets = this.table[key] ?? [];
    done(targets.map((t) => ({ address: t.address, port: t.port === 0 ? query.port : t.port })), targets.length > 0 ? '' : 'ENOTFOUND');
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function udpPeer(): Promise<{ sock: Socket; port: number; next: () => Promise<string> }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { sock, port: sock.address().port, next: () => new Promise((r) => sock.once('message', (m) => r(m.toString()))) };
}

async function udpTransport(resolver: NameResolver): Promise<{ u: UdpTransport; refused: () => number }> {
  let refused = 0;
  const u = new UdpTransport(
    { host: '127.0.0.1', port: 0, advertise: null, recvBufferBytes: 0, maxMessageSize: 65535, resolver },
    ignore,
    { ...NO_COUNTERS, badDestination: () => void refused++ },
  );
  await u.start();
  cleanups.push(() => u.stop());
  return { u, refused: () => refused };
}

describe('UDP transport and RFC 3263', () => {
  test('an IP literal never reaches the resolver (with or without the srv flag)', async () => {
    const resolver = new TableResolver({});
    const { u } = await udpTransport(resolver);
    const peer = await udpPeer();
    const got = peer.next();
    u.send(Buffer.from('literal'), { address: '127.0.0.1', port: peer.port, srv: true }, () => undefined);
    expect(await got).toBe('literal');
    expect(resolver.asked).toEqual([]);
  });

  test('a name without explicit port is located by SRV: the datagram reaches the SRV target port', async () => {
    const peer = await udpPeer();
    const resolver = new TableResolver({ 'srv udp example.test': [{ address: '127.0.0.1', port: peer.port }] });
    const { u } = await udpTransport(resolver);
    const got = peer.next();
    let failed = false;
    u.send(Buffer.from('by-srv'), { address: 'example.test', port: 5060, srv: true }, () => void (failed = true));
    expect(await got).toBe('by-srv');
    expect(failed).toBe(false);
    expect(resolver.asked).toEqual([{ host: 'example.test', port: 5060, transport: 'udp', srv: true }]);
  });

  test('a name with an explicit port asks for addresses only', async () => {
    const peer = await udpPeer();
    const resolver = new TableResolver({ 'a udp example.test': [{ address: '127.0.0.1', port: 0 }] });
    const { u } = await udpTransport(resolver);
    const got = peer.next();
    u.send(Buffer.from('by-a'), { address: 'example.test', port: peer.port });
    expect(await got).toBe('by-a');
    expect(resolver.asked[0].srv).toBe(false);
  });

  test('a name that does not resolve: onFailure after the call, counted', async () => {
    const { u, refused } = await udpTransport(new TableResolver({}));
    let failed = 0;
    u.send(Buffer.from('x'), { address: 'nothing.test', port: 5060, srv: true }, () => void failed++);
    expect(failed).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(failed).toBe(1);
    expect(refused()).toBe(1);
  });
});

async function tcpSink(): Promise<{ port: number; received: () => Promise<string> }> {
  const server: Server = createServer();
  let resolveData: (s: string) => void = () => undefined;
  const data = new Promise<string>((r) => (resolveData = r));
  server.on('connection', (s: NetSocket) => s.on('data', (d) => resolveData(d.toString())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => { server.close(() => r()); }));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr !== null ? addr.port : 0, received: () => data };
}

/** A port nothing listens on (bound then closed): a connect to it is refused. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const addr = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}

describe('TCP transport and RFC 3263', () => {
  test('§4.3: a failed connect to the first SRV target moves the message to the next one', async () => {
    const sink = await tcpSink();
    const dead = await deadPort();
    const resolver = new TableResolver({
      'srv tcp example.test': [{ address: '127.0.0.1', port: dead }, { address: '127.0.0.1', port: sink.port }],
    });
    const t = new TcpTransport(tcpTestOptions({ resolver }), ignore, NO_COUNTERS);
    await t.start();
    cleanups.push(() => t.stop());
    let failed = false;
    expect(t.send(Buffer.from('OPTIONS failover'), { address: 'example.test', port: 5060, srv: true }, () => void (failed = true))).toBe(true);
    expect(await sink.received()).toBe('OPTIONS failover');
    expect(failed).toBe(false);
    expect(resolver.asked[0]).toMatchObject({ transport: 'tcp', srv: true });
  });

  test('every target failing, or no target at all, is the sender\'s transport error', async () => {
    const dead = await deadPort();
    const resolver = new TableResolver({ 'srv tcp down.test': [{ address: '127.0.0.1', port: dead }] });
    const t = new TcpTransport(tcpTestOptions({ resolver }), ignore, NO_COUNTERS);
    await t.start();
    cleanups.push(() => t.stop());
    const failed = await new Promise<boolean>((r) => {
      const timer = setTimeout(() => r(false), 5000);
      t.send(Buffer.from('x'), { address: 'down.test', port: 5060, srv: true }, () => {
        clearTimeout(timer);
        r(true);
      });
    });
    expect(failed).toBe(true);
    // A cached "no such name" is refused at once, like any send that is not accepted.
    expect(t.send(Buffer.from('x'), { address: 'nothing.test', port: 5060, srv: true }, () => undefined)).toBe(false);
  });

  test('an IP literal never reaches the resolver', async () => {
    const sink = await tcpSink();
    const resolver = new TableResolver({});
    const t = new TcpTransport(tcpTestOptions({ resolver }), ignore, NO_COUNTERS);
    await t.start();
    cleanups.push(() => t.stop());
    t.send(Buffer.from('lit'), { address: '127.0.0.1', port: sink.port, srv: true });
    expect(await sink.received()).toBe('lit');
    expect(resolver.asked).toEqual([]);
  });
});
