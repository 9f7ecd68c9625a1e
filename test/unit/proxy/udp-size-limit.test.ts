// RFC 3261 §18.1.1 in the stateful proxy: a forwarded request larger than 1300 bytes leaves over
// TCP instead of UDP (Via and Record-Route follow), and when the next hop refuses TCP it is retried
// over UDP as a new transaction of the same branch.
import { StatefulProxy, sipProxyFactory, type ScriptRequest } from '../../../node/proxy/index.js';
import { parseMessage, serialize, type SipRequest } from '../../../node/sip/index.js';
import type { ProxyMessageFactory, ProxyRequestMessage } from '../../../node/proxy/index.js';
import { answer, factory, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const own = (host: string, port: number): boolean => host === 'proxy.example.com' && port === 5060;

/** The fake messages' size: start line plus "Name: value\r\n" per field (no body in these tests). */
function fakeSize(r: ProxyRequestMessage): number {
  const fields = (r as FakeRequest).headers.fields;
  return `${r.method} ${r.uri} SIP/2.0\r\n`.length + fields.reduce((n, [k, v]) => n + k.length + v.length + 4, 2);
}

const sizing: ProxyMessageFactory = { ...factory, largerThan: (r, limit) => fakeSize(r) > limit };

function harness(opts: { tcpListener?: boolean; udpSizeLimit?: number } = {}) {
  const tx = new FakeTransactions();
  const advertisedByTransport = new Map([['UDP', { host: 'proxy.example.com', port: 5060 }]]);
  if (opts.tcpListener !== false) advertisedByTransport.set('TCP', { host: 'proxy.example.com', port: 5060 });
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory: sizing, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    advertisedByTransport, recordRoute: true, inviteTimeoutMs: 180_000, udpSizeLimit: opts.udpSizeLimit,
    hooks: { onRequest: (r: ScriptRequest) => r.relay({ target: 'sip:bob@192.0.2.21:5062' }) },
  });
  return { proxy, tx };
}

/** `branch`: each upstream transaction its own (§8.1.1.7); one reused is a retransmission (§17.2.3). */
function message(padding: number, branch = 'z9hG4bKuac1'): FakeRequest {
  return request('MESSAGE sip:bob@example.com',
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}`, 'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: size-1', 'CSeq: 1 MESSAGE',
    `X-Padding: ${'p'.repeat(padding)}`);
}

function invite(padding: number): FakeRequest {
  return request('INVITE sip:bob@example.com',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac2', 'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: size-2', 'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.10>', `X-Padding: ${'p'.repeat(padding)}`);
}

const fromUdp = { address: '192.0.2.10', port: 5060, transport: 'UDP' } as const;

describe('RFC 3261 §18.1.1: requests too large for UDP', () => {
  test('a request that stays under 1300 bytes is forwarded over UDP as resolved', async () => {
    const h = harness();
    await h.proxy.onRequest('s', message(600), fromUdp, 0);
    const [out] = h.tx.method('MESSAGE');
    expect(fakeSize(out.request)).toBeLessThanOrEqual(1300);
    expect(out.dest.transport).toBe('UDP');
    expect(out.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/UDP /);
  });

  test('one over 1300 bytes leaves over TCP, with a TCP Via (and the RFC 5658 double Record-Route for an INVITE)', async () => {
    const h = harness();
    await h.proxy.onRequest('s', invite(1300), fromUdp, 0);
    const [out] = h.tx.method('INVITE');
    expect(out.dest).toMatchObject({ host: '192.0.2.21', port: 5062, transport: 'TCP' });
    expect(out.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/TCP proxy\.example\.com:5060;branch=/);
    expect(out.request.headers.getAll('Record-Route')).toEqual([
      '<sip:proxy.example.com:5060;transport=tcp;lr>', '<sip:proxy.example.com:5060;lr>',
    ]);
  });

  test('without a TCP listener the node has no congestion-controlled transport: it stays on UDP', async () => {
    const h = harness({ tcpListener: false });
    await h.proxy.onRequest('s', message(1400), fromUdp, 0);
    expect(h.tx.method('MESSAGE')[0].dest.transport).toBe('UDP');
  });

  test('transport.udp_mtu sets the bound (limit = MTU - 200); 0 never switches (phones behind NAT)', async () => {
    const byDefault = harness();
    await byDefault.proxy.onRequest('s', message(900), fromUdp, 0);
    const [udp] = byDefault.tx.method('MESSAGE');
    expect(fakeSize(udp.request)).toBeGreaterThan(1080);
    expect(udp.dest.transport).toBe('UDP');
    const lowered = harness({ udpSizeLimit: 1080 }); // udp_mtu 1280, the IPv6 minimum
    await lowered.proxy.onRequest('s', message(900), fromUdp, 0);
    expect(lowered.tx.method('MESSAGE')[0].dest.transport).toBe('TCP');
    const off = harness({ udpSizeLimit: 0 });
    await off.proxy.onRequest('s', message(3000), fromUdp, 0);
    expect(off.tx.method('MESSAGE')[0].dest.transport).toBe('UDP');
  });

  test('the next hop refuses TCP: the request is retried over UDP on a new branch, and its answer goes upstream', async () => {
    const h = harness();
    await h.proxy.onRequest('s', message(1400), fromUdp, 0);
    const [overTcp] = h.tx.method('MESSAGE');
    expect(overTcp.dest.transport).toBe('TCP');
    await h.proxy.onTransportError(overTcp.tx, 10);
    const [, overUdp] = h.tx.method('MESSAGE');
    expect(overUdp.dest).toMatchObject({ host: '192.0.2.21', port: 5062, transport: 'UDP' });
    expect(overUdp.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/UDP /);
    const branchOf = (r: FakeRequest) => /branch=([^;]+)/.exec(r.headers.get('Via') ?? '')?.[1];
    expect(branchOf(overUdp.request)).not.toBe(branchOf(overTcp.request));
    expect(h.tx.statuses('s')).toEqual([]); // no 503/500 for the failed TCP attempt
    await h.proxy.onResponse(overUdp.tx, answer(overUdp.request, 200, { toTag: 'b1' }), 20);
    expect(h.tx.statuses('s')).toEqual([200]);
  });

  test('when the UDP retry cannot be sent either, the branch ends as 503 and the caller gets 500 (§16.9, §16.7)', async () => {
    const h = harness();
    await h.proxy.onRequest('s', message(1400), fromUdp, 0);
    const [overTcp] = h.tx.method('MESSAGE');
    h.tx.failSends = true;
    await h.proxy.onTransportError(overTcp.tx, 10);
    expect(h.tx.statuses('s')).toEqual([500]);
    // The caller's trace says why: not an internal fault.
    expect(h.tx.responses.filter((r) => r.serverTx === 's').map((r) => r.response.reason)).toEqual(['Next Hop Unreachable']);
  });

  test('a second transport error (the UDP retry failing too) is not retried again', async () => {
    const h = harness();
    await h.proxy.onRequest('s', message(1400), fromUdp, 0);
    await h.proxy.onTransportError(h.tx.method('MESSAGE')[0].tx, 10);
    await h.proxy.onTransportError(h.tx.method('MESSAGE')[1].tx, 20);
    expect(h.tx.method('MESSAGE')).toHaveLength(2);
    expect(h.tx.statuses('s')).toEqual([500]);
  });
});

describe('sipProxyFactory.largerThan on node/sip messages', () => {
  const wire = (bodyLength: number): SipRequest => {
    const body = 'b'.repeat(bodyLength);
    return parseMessage(Buffer.from(
      'MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n' +
      'From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\n' +
      `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1')) as SipRequest;
  };

  test('exact at the limit: the serialised size of the forwarded copy decides', () => {
    const received = wire(1000);
    const fwd = sipProxyFactory.copy(received) as SipRequest;
    fwd.headers.prepend('Via', 'SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKproxy1');
    const size = serialize(fwd).length;
    expect(sipProxyFactory.largerThan?.(fwd, size, received)).toBe(false);
    expect(sipProxyFactory.largerThan?.(fwd, size - 1, received)).toBe(true);
  });

  test('a small request is judged from the received size alone (no serialisation needed)', () => {
    const received = wire(100);
    expect(sipProxyFactory.largerThan?.(sipProxyFactory.copy(received), 1300, received)).toBe(false);
    expect(sipProxyFactory.largerThan?.(wire(1500), 1300)).toBe(true);
  });
});

describe('§18.1.1 fallback memory: a next hop that failed TCP gets later over-size requests over UDP at once', () => {
  test('after one failed TCP attempt, the next large request to that hop leaves over UDP; other hops still switch', async () => {
    const h = harness();
    await h.proxy.onRequest('s1', message(1400), fromUdp, 0);
    await h.proxy.onTransportError(h.tx.method('MESSAGE')[0].tx, 5000); // e.g. the connect timed out
    expect(h.tx.method('MESSAGE').map((m) => m.dest.transport)).toEqual(['TCP', 'UDP']);
    await h.proxy.onRequest('s2', message(1400, 'z9hG4bKuac-s2'), fromUdp, 6000);
    expect(h.tx.method('MESSAGE')[2].dest).toMatchObject({ host: '192.0.2.21', port: 5062, transport: 'UDP' });
    expect(h.tx.method('MESSAGE')[2].request.headers.get('Via')).toMatch(/^SIP\/2\.0\/UDP /);
  });

  test('the memory expires (udpOnlyMemoryMs): then TCP is tried again', async () => {
    const tx = new FakeTransactions();
    const proxy = new StatefulProxy<string, number>({
      transactions: tx, factory: sizing, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
      advertisedByTransport: new Map([['UDP', { host: 'proxy.example.com', port: 5060 }], ['TCP', { host: 'proxy.example.com', port: 5060 }]]),
      recordRoute: true, inviteTimeoutMs: 180_000, udpOnlyMemoryMs: 60_000,
      hooks: { onRequest: (r: ScriptRequest) => r.relay({ target: 'sip:bob@192.0.2.21:5062' }) },
    });
    await proxy.onRequest('s1', message(1400), fromUdp, 0);
    await proxy.onTransportError(tx.method('MESSAGE')[0].tx, 10);
    await proxy.onRequest('s2', message(1400, 'z9hG4bKuac-s2'), fromUdp, 59_000);
    await proxy.onRequest('s3', message(1400, 'z9hG4bKuac-s3'), fromUdp, 60_011);
    expect(tx.method('MESSAGE').map((m) => m.dest.transport)).toEqual(['TCP', 'UDP', 'UDP', 'TCP']);
  });

  test('a hop that answered over TCP is not remembered: later large requests to it still switch', async () => {
    const h = harness();
    await h.proxy.onRequest('s1', message(1400), fromUdp, 0);
    const [overTcp] = h.tx.method('MESSAGE');
    await h.proxy.onResponse(overTcp.tx, answer(overTcp.request, 200, { toTag: 'b1' }), 10);
    await h.proxy.onRequest('s2', message(1400, 'z9hG4bKuac-s2'), fromUdp, 20);
    expect(h.tx.method('MESSAGE').map((m) => m.dest.transport)).toEqual(['TCP', 'TCP']);
  });
});

describe('§18.1.1 UDP retry only while the request is still wanted', () => {
  test('the caller CANCELs while the size-driven TCP connect is pending: the failure is not retried over UDP, the caller gets 487', async () => {
    const h = harness();
    await h.proxy.onRequest('s', invite(1400), fromUdp, 0);
    const [overTcp] = h.tx.method('INVITE');
    expect(overTcp.dest.transport).toBe('TCP');
    h.tx.cancelTargets.set('size-2', 's');
    const cancel = request('CANCEL sip:bob@example.com', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac2', 'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: size-2', 'CSeq: 1 CANCEL');
    await h.proxy.onRequest('c', cancel, fromUdp, 100);
    expect(h.tx.statuses('c')).toEqual([200]);
    await h.proxy.onTransportError(overTcp.tx, 5000);
    expect(h.tx.method('INVITE')).toHaveLength(1); // no phone rung after the caller hung up
    expect(h.tx.method('CANCEL')).toHaveLength(0); // nothing reached the callee, nothing to cancel (§9.1)
    expect(h.tx.statuses('s')).toEqual([487]);
  });
});
