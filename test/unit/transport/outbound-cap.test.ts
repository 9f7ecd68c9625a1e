import { NO_COUNTERS, TcpTransport, type InboundHandler, type MessageSource, type TcpOptions, type TransportCounters } from '../../../node/transport/index.js';
import { tcpTestOptions } from './tcp-test-options.js';


const sip = (tag: string): Buffer =>
  Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK${tag}\r\nContent-Length: 0\r\n\r\n`);

function receiver(): InboundHandler & { got: MessageSource[]; next(): Promise<MessageSource> } {
  const got: MessageSource[] = [];
  const waiters: ((s: MessageSource) => void)[] = [];
  return {
    got,
    onMessage(_bytes, source) {
      const w = waiters.shift();
      if (w) w(source);
      else got.push(source);
    },
    onFramingFailure: () => null,
    next() {
      const s = got.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

const started: TcpTransport[] = [];
async function start(handler: InboundHandler, over: Partial<TcpOptions> = {}, counters: TransportCounters = NO_COUNTERS): Promise<TcpTransport> {
  const t = new TcpTransport(tcpTestOptions(over), handler, counters);
  await t.start();
  started.push(t);
  return t;
}

afterEach(async () => {
  for (const t of started.splice(0)) await t.stop();
});

describe('outbound TCP connections are capped (so they cannot take the descriptors the admin API needs)', () => {
  test('at the cap a send needing a new connection is refused at once and counted; the open connection is still reused', async () => {
    let refused = 0;
    const client = await start(receiver(), { maxOutboundConnections: 1 }, { ...NO_COUNTERS, outboundRefused: () => void refused++ });
    const a = receiver();
    const b = receiver();
    const peerA = await start(a);
    const peerB = await start(b);
    const toA = { address: '127.0.0.1', port: peerA.listener.port };
    const toB = { address: '127.0.0.1', port: peerB.listener.port };

    expect(client.send(sip('1'), toA)).toBe(true);
    await a.next();
    expect(client.send(sip('2'), toB)).toBe(false);
    expect(refused).toBe(1);
    expect(client.send(sip('3'), toA)).toBe(true); // reuse needs no new descriptor
    await a.next();
    expect(client.connectionCount).toBe(1);
  });

  test('a connection that closes frees its place: the next destination is reached', async () => {
    const client = await start(receiver(), { maxOutboundConnections: 1 });
    const a = receiver();
    const b = receiver();
    const peerA = await start(a);
    const peerB = await start(b);
    expect(client.send(sip('1'), { address: '127.0.0.1', port: peerA.listener.port })).toBe(true);
    await a.next();
    await peerA.stop(); // closes A's end of the connection
    for (let i = 0; i < 100 && client.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(client.connectionCount).toBe(0);
    expect(client.send(sip('2'), { address: '127.0.0.1', port: peerB.listener.port })).toBe(true);
    expect((await b.next()).transport).toBe('tcp');
  });

  test('a connect that fails frees its place too', async () => {
    const client = await start(receiver(), { maxOutboundConnections: 1 });
    const dead = await start(receiver());
    const port = dead.listener.port;
    await dead.stop();
    let failed = 0;
    expect(client.send(sip('1'), { address: '127.0.0.1', port }, () => void failed++)).toBe(true);
    for (let i = 0; i < 100 && failed === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(failed).toBe(1);
    const b = receiver();
    const peerB = await start(b);
    expect(client.send(sip('2'), { address: '127.0.0.1', port: peerB.listener.port })).toBe(true);
    await b.next();
  });

  test('inbound connections do not count against the outbound cap', async () => {
    const server = receiver();
    const node = await start(server, { maxOutboundConnections: 1 });
    const caller = await start(receiver());
    expect(caller.send(sip('in'), { address: '127.0.0.1', port: node.listener.port })).toBe(true);
    await server.next();
    const a = receiver();
    const peerA = await start(a);
    expect(node.send(sip('out'), { address: '127.0.0.1', port: peerA.listener.port })).toBe(true);
    await a.next();
  });
});
