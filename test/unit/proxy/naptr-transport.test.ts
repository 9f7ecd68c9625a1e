// RFC 3263 §4.1 in the stateful proxy: a next hop whose URI names neither transport nor port (and
// whose host is a name) gets its transport from NAPTR before the branch starts, because the Via and
// Record-Route must name it. Driven against the recording fake transaction layer and a scripted
// locator (node/dns's resolver in production).
import { StatefulProxy, type LocatedTransport, type ScriptRequest, type TransportLocatorPort } from '../../../node/proxy/index.js';
import { answer, factory, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const src = { address: '192.0.2.10', port: 5060, transport: 'UDP' };

/** Answers from a table; `hold` keeps a name's answer back until `release`. */
class ScriptedLocator implements TransportLocatorPort {
  readonly asked: string[] = [];
  readonly table = new Map<string, LocatedTransport | null>();
  private readonly known = new Set<string>();
  private readonly waiting: Array<() => void> = [];
  locatedNow(host: string): LocatedTransport | null | undefined {
    return this.known.has(host) ? (this.table.get(host) ?? null) : undefined;
  }
  locate(host: string, _secure: boolean, done: (choice: LocatedTransport | null) => void): void {
    this.asked.push(host);
    this.waiting.push(() => {
      this.known.add(host);
      done(this.table.get(host) ?? null);
    });
  }
  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}

function setup(route: (r: ScriptRequest) => void) {
  const tx = new FakeTransactions();
  const locator = new ScriptedLocator();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: () => false, advertised: { host: 'proxy.example.com', port: 5060 },
    advertisedByTransport: new Map([['UDP', { host: 'proxy.example.com', port: 5060 }], ['TCP', { host: 'proxy.example.com', port: 5060 }]]),
    recordRoute: true, inviteTimeoutMs: 180_000, hooks: { onRequest: route }, transportLocator: locator,
  });
  return { tx, locator, proxy };
}

function invite(ruri: string, callId = 'n1'): FakeRequest {
  return request(`INVITE ${ruri}`, 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1', `To: <${ruri}>`, `Call-ID: ${callId}`, 'CSeq: 1 INVITE');
}

describe('stateful proxy: NAPTR transport selection (RFC 3263 §4.1)', () => {
  test('waits for NAPTR, then sends over the chosen transport to the chosen SRV name; Via and Record-Route say TCP', async () => {
    const h = setup((r) => r.relay());
    h.locator.table.set('example.net', { transport: 'tcp', srvName: '_sip._tcp.pool.example.net' });
    await h.proxy.onRequest('s', invite('sip:bob@example.net'), src, 0);
    expect(h.locator.asked).toEqual(['example.net']);
    expect(h.tx.sent).toHaveLength(0); // the Via cannot be written before the transport is known
    h.locator.release();
    const [out] = h.tx.method('INVITE');
    expect(out.dest).toEqual({ host: 'example.net', port: 5060, transport: 'TCP', srv: true, srvName: '_sip._tcp.pool.example.net', source: 'ruri' });
    expect(out.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/TCP proxy\.example\.com:5060;branch=/);
    // RFC 5658: arrived over UDP, leaves over TCP: two Record-Routes, the TCP one on top.
    expect(out.request.headers.getAll('Record-Route')).toEqual(['<sip:proxy.example.com:5060;transport=tcp;lr>', '<sip:proxy.example.com:5060;lr>']);
    // A second request to the same domain uses the cached answer: sent at once.
    await h.proxy.onRequest('s2', invite('sip:carol@example.net', 'n2'), src, 10);
    expect(h.tx.method('INVITE')).toHaveLength(2);
    expect(h.locator.asked).toEqual(['example.net']);
    await h.proxy.onResponse(out.tx, answer(out.request, 486), 20);
    expect(h.tx.statuses('s')).toEqual([486]);
  });

  test('no NAPTR record applies: the URI default (UDP, _sip._udp SRV)', async () => {
    const h = setup((r) => r.relay());
    await h.proxy.onRequest('s', invite('sip:bob@plain.example.net'), src, 0);
    h.locator.release();
    const [out] = h.tx.method('INVITE');
    expect(out.dest).toEqual({ host: 'plain.example.net', port: 5060, transport: 'UDP', srv: true, source: 'ruri' });
    expect(out.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/UDP /);
  });

  test('a URI with a transport parameter, a port or an IP address is never asked about', async () => {
    const h = setup((r) => r.relay());
    await h.proxy.onRequest('s1', invite('sip:bob@example.net;transport=tcp', 'a'), src, 0);
    await h.proxy.onRequest('s2', invite('sip:bob@example.net:5070', 'b'), src, 0);
    await h.proxy.onRequest('s3', invite('sip:bob@192.0.2.30', 'c'), src, 0);
    expect(h.locator.asked).toEqual([]);
    expect(h.tx.method('INVITE').map((s) => s.dest.transport)).toEqual(['TCP', 'UDP', 'UDP']);
  });

  test('a CANCEL while NAPTR is pending: 487 once the answer is in, and no branch is ever started', async () => {
    const h = setup((r) => r.relay());
    const inv = invite('sip:bob@slow.example.net');
    await h.proxy.onRequest('s', inv, src, 0);
    h.tx.cancelTargets.set('n1', 's');
    const cancel = request(`CANCEL ${inv.uri}`, `Via: ${inv.headers.get('Via')}`, 'Max-Forwards: 70', `From: ${inv.headers.get('From')}`,
      `To: ${inv.headers.get('To')}`, 'Call-ID: n1', 'CSeq: 1 CANCEL');
    await h.proxy.onRequest('c', cancel, src, 5);
    expect(h.tx.statuses('c')).toEqual([200]);
    expect(h.tx.statuses('s')).toEqual([]); // the context waits for its pending lookup
    h.locator.release();
    await new Promise((r) => setImmediate(r));
    expect(h.tx.sent).toHaveLength(0);
    expect(h.tx.statuses('s')).toEqual([487]);
  });

  test('parallel fork: each target located on its own; a cached one starts at once', async () => {
    const h = setup((r) => r.fork(['sip:bob@a.example.net', 'sip:bob@192.0.2.40']));
    h.locator.table.set('a.example.net', { transport: 'udp', srvName: '_sip._udp.a-pool.example.net' });
    await h.proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    expect(h.tx.method('INVITE').map((s) => s.dest.host)).toEqual(['192.0.2.40']);
    h.locator.release();
    expect(h.tx.method('INVITE').map((s) => [s.dest.host, s.dest.srvName])).toEqual([['192.0.2.40', undefined], ['a.example.net', '_sip._udp.a-pool.example.net']]);
  });
});
