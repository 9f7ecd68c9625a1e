// RFC 3263 in the stateful proxy. §4.1: a next hop whose URI names neither transport nor port (and
// whose host is a name) gets its transport from NAPTR before the branch starts, because the Via and
// Record-Route must name it. §4.3: a named next hop's addresses are tried in turn, the branch moving
// on after a 503, a timeout without any response, or a transport error. Driven against the
// recording fake transaction layer and a scripted locator (node/dns's resolver in production).
import {
  StatefulProxy, type LocatedAddress, type LocatedTransport, type NextHop, type ScriptRequest, type TransportLocatorPort,
} from '../../../node/proxy/index.js';
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

/** Also resolves named hops: synchronously from `addresses`, or later for names in `slow`. */
class AddressLocator extends ScriptedLocator {
  readonly addresses = new Map<string, LocatedAddress[]>();
  readonly slow = new Set<string>();
  private readonly pendingTargets: Array<() => void> = [];
  targets(hop: NextHop, done: (targets: readonly LocatedAddress[]) => void): void {
    const answer = (): void => done(this.addresses.get(hop.host) ?? []);
    if (this.slow.has(hop.host)) this.pendingTargets.push(answer);
    else answer();
  }
  answerTargets(): void {
    for (const a of this.pendingTargets.splice(0)) a();
  }
}

function setup(route: (r: ScriptRequest) => void, locator: ScriptedLocator = new ScriptedLocator()) {
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: () => false, advertised: { host: 'proxy.example.com', port: 5060 },
    advertisedByTransport: new Map([['UDP', { host: 'proxy.example.com', port: 5060 }], ['TCP', { host: 'proxy.example.com', port: 5060 }]]),
    recordRoute: true, inviteTimeoutMs: 180_000, hooks: { onRequest: route }, transportLocator: locator,
  });
  return { tx, locator, proxy };
}

function failoverSetup() {
  const locator = new AddressLocator();
  locator.addresses.set('pool.example.net', [{ address: '192.0.2.51', port: 5060 }, { address: '192.0.2.52', port: 5070 }, { address: '2001:db8::53', port: 5060 }]);
  return { ...setup((r) => r.relay({ target: 'sip:bob@pool.example.net;transport=udp' }), locator), locator };
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

describe('stateful proxy: failover across a named next hop\'s addresses (RFC 3263 §4.3)', () => {
  test('a 503 moves the INVITE to the next address on a new branch id; the caller sees only the final answer', async () => {
    const h = failoverSetup();
    await h.proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    const [first] = h.tx.method('INVITE');
    expect(first.dest).toEqual({ host: '192.0.2.51', port: 5060, transport: 'UDP', source: 'ruri' });
    await h.proxy.onResponse(first.tx, answer(first.request, 503), 10);
    const [, second] = h.tx.method('INVITE');
    expect(second.dest).toEqual({ host: '192.0.2.52', port: 5070, transport: 'UDP', source: 'ruri' });
    const branchOf = (r: FakeRequest): string | undefined => /branch=([^;]+)/.exec(r.headers.get('Via') ?? '')?.[1];
    expect(branchOf(second.request)).not.toBe(branchOf(first.request));
    expect(h.tx.statuses('s')).toEqual([]);
    expect(h.proxy.statelessCounts.failover).toBe(1);
    await h.proxy.onResponse(second.tx, answer(second.request, 486), 20);
    expect(h.tx.statuses('s')).toEqual([486]);
  });

  test('a timeout without any response or a transport error moves on too; an IPv6 address gets brackets', async () => {
    const h = failoverSetup();
    await h.proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    await h.proxy.onClientTimeout(h.tx.method('INVITE')[0].tx, 'B', 32_000);
    await h.proxy.onTransportError(h.tx.method('INVITE')[1].tx, 32_010);
    const third = h.tx.method('INVITE')[2];
    expect(third.dest).toEqual({ host: '[2001:db8::53]', port: 5060, transport: 'UDP', source: 'ruri' });
    // The last address fails as well: the caller gets the timeout's verdict for the branch.
    await h.proxy.onClientTimeout(third.tx, 'B', 64_000);
    expect(h.tx.method('INVITE')).toHaveLength(3);
    expect(h.tx.statuses('s')).toEqual([408]);
  });

  test('no failover once the next hop answered a provisional, nor after a CANCEL', async () => {
    const h = failoverSetup();
    await h.proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    const [first] = h.tx.method('INVITE');
    await h.proxy.onResponse(first.tx, answer(first.request, 100), 5);
    await h.proxy.onClientTimeout(first.tx, 'B', 32_000);
    expect(h.tx.method('INVITE')).toHaveLength(1);
    expect(h.tx.statuses('s')).toEqual([408]);

    const c = failoverSetup();
    const inv = invite('sip:bob@example.com', 'n9');
    await c.proxy.onRequest('s', inv, src, 0);
    const [out] = c.tx.method('INVITE');
    await c.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b' }), 5);
    c.tx.cancelTargets.set('n9', 's');
    await c.proxy.onRequest('c', request(`CANCEL ${inv.uri}`, `Via: ${inv.headers.get('Via')}`, 'Max-Forwards: 70',
      `From: ${inv.headers.get('From')}`, `To: ${inv.headers.get('To')}`, 'Call-ID: n9', 'CSeq: 1 CANCEL'), src, 10);
    await c.proxy.onResponse(out.tx, answer(out.request, 503), 20);
    expect(c.tx.method('INVITE')).toHaveLength(1);
    expect(c.tx.statuses('s').at(-1)).toBe(487);
  });

  test('a name that resolves to nothing: 503 locally (500 upstream), nothing sent', async () => {
    const h = setup((r) => r.relay({ target: 'sip:bob@nowhere.example.net;transport=udp' }), new AddressLocator());
    await h.proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    expect(h.tx.sent).toHaveLength(0);
    expect(h.tx.statuses('s')).toEqual([500]);
    expect(h.proxy.statelessCounts.next_hop_unresolved).toBe(1);
  });

  test('a 503 with Retry-After puts that address last for later requests until then (RFC 3261 §21.5.4)', async () => {
    const h = failoverSetup();
    await h.proxy.onRequest('s1', invite('sip:bob@example.com', 'r1'), src, 0);
    const [first] = h.tx.method('INVITE');
    await h.proxy.onResponse(first.tx, answer(first.request, 503, { headers: [['Retry-After', '60 (maintenance)']] }), 10);
    const firstTried = (callId: string): string => h.tx.method('INVITE').find((s) => s.request.headers.get('Call-ID') === callId)!.dest.host;
    await h.proxy.onRequest('s2', invite('sip:bob@example.com', 'r2'), src, 30_000);
    expect(firstTried('r2')).toBe('192.0.2.52');
    // A 503 with Retry-After from the address the branch failed over to rests that one, not the first.
    const r2 = h.tx.method('INVITE').find((s) => s.request.headers.get('Call-ID') === 'r2')!;
    await h.proxy.onResponse(r2.tx, answer(r2.request, 503, { headers: [['Retry-After', '120']] }), 30_010);
    await h.proxy.onRequest('s3', invite('sip:bob@example.com', 'r3'), src, 61_000);
    expect(firstTried('r3')).toBe('192.0.2.51'); // its rest is over
    const r3 = h.tx.method('INVITE').find((s) => s.request.headers.get('Call-ID') === 'r3')!;
    await h.proxy.onResponse(r3.tx, answer(r3.request, 503), 61_010);
    expect(h.tx.method('INVITE').filter((s) => s.request.headers.get('Call-ID') === 'r3').map((s) => s.dest.host))
      .toEqual(['192.0.2.51', '[2001:db8::53]']); // .52 is still resting: last
    await h.proxy.onRequest('s4', invite('sip:bob@example.com', 'r4'), src, 151_000);
    expect(firstTried('r4')).toBe('192.0.2.51');
  });

  test('addresses not cached: the branch starts when they arrive', async () => {
    const h = failoverSetup();
    h.locator.slow.add('pool.example.net');
    await h.proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    expect(h.tx.sent).toHaveLength(0);
    h.locator.answerTargets();
    expect(h.tx.method('INVITE').map((s) => s.dest.host)).toEqual(['192.0.2.51']);
  });
});
