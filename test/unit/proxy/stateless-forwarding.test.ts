// RFC 3261 §16.10 (a CANCEL that finds no response context), §16.11 / §18.1.2 (responses that match
// no client transaction) and the deterministic branch both rely on, on the pure proxy core.
import { Registry } from 'prom-client';
import {
  StatefulProxy, branchSuffix, processStrayResponse, registerStatelessProxyCounter, responseNextHop,
  type ProxyHooks, type ScriptRequest, type SourceAddress,
} from '../../../node/proxy/index.js';
import { answer, factory, FakeHeaders, FakeResponse, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const own = (host: string, port: number): boolean => host === 'proxy.example.com' && port === 5060;
const src: SourceAddress = { address: '192.0.2.10', port: 5060, transport: 'UDP' };
const UAC_VIA = 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1;rport=5060;received=192.0.2.10';

function makeProxy(route: (r: ScriptRequest) => void = (r) => r.relay(), extra: Partial<ProxyHooks> = {},
  localDomains: string[] = []): { proxy: StatefulProxy<string, number>; tx: FakeTransactions } {
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    recordRoute: true, inviteTimeoutMs: 180_000, localDomains, lingerMs: 32_000, hooks: { onRequest: route, ...extra },
  });
  return { proxy, tx };
}

function invite(uri: string, ...extra: string[]): FakeRequest {
  return request(`INVITE ${uri}`, `Via: ${UAC_VIA}`, 'Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>', 'Call-ID: call-s1', 'CSeq: 7 INVITE', ...extra);
}

/** §9.1: the CANCEL carries the INVITE's Request-URI, top Via, Call-ID, From, To, CSeq number and Route. */
function cancelOf(inv: FakeRequest, maxForwards = '70'): FakeRequest {
  return request(`CANCEL ${inv.uri}`, ...inv.headers.getAll('Via').map((v) => `Via: ${v}`), `Max-Forwards: ${maxForwards}`,
    ...inv.headers.getAll('Route').map((r) => `Route: ${r}`), `From: ${inv.headers.get('From')}`, `To: ${inv.headers.get('To')}`,
    `Call-ID: ${inv.headers.get('Call-ID')}`, 'CSeq: 7 CANCEL');
}

describe('§16.10: a CANCEL matching no response context', () => {
  test('is forwarded along its Route set: our Route popped, Max-Forwards decremented, our Via on top, no answer from us', async () => {
    const { proxy, tx } = makeProxy();
    const cancel = cancelOf(invite('sip:bob@192.0.2.99', 'Route: <sip:proxy.example.com;lr>', 'Route: <sip:edge.example.net:5070;lr>'));
    await proxy.onRequest('c1', cancel, src, 0);
    expect(tx.responses).toEqual([]);
    const [out] = tx.method('CANCEL');
    expect(out.dest).toEqual({ host: 'edge.example.net', port: 5070, transport: 'UDP', source: 'route' });
    expect(out.request.uri).toBe('sip:bob@192.0.2.99');
    expect(out.request.headers.getAll('Route')).toEqual(['<sip:edge.example.net:5070;lr>']);
    expect(out.request.headers.get('Max-Forwards')).toBe('69');
    const vias = out.request.headers.getAll('Via');
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(/^SIP\/2\.0\/UDP proxy\.example\.com:5060;branch=z9hG4bK[0-9a-f]{10}\.[0-9a-f]{16}$/);
    expect(vias[1]).toBe(UAC_VIA);
    expect(out.request.headers.get('Record-Route')).toBeUndefined();
    expect(proxy.statelessCounts.cancel_forwarded).toBe(1);
  });

  test('the next hop\'s answer is relayed upstream with our Via popped; its 100 is not', async () => {
    const { proxy, tx } = makeProxy();
    await proxy.onRequest('c1', cancelOf(invite('sip:bob@192.0.2.99:5062')), src, 0);
    const [out] = tx.method('CANCEL');
    expect(out.dest).toEqual({ host: '192.0.2.99', port: 5062, transport: 'UDP', source: 'ruri' });
    expect(proxy.unmatchedCancelCount).toBe(1);
    await proxy.onResponse(out.tx, answer(out.request, 100), 5);
    expect(tx.responses).toEqual([]);
    await proxy.onResponse(out.tx, answer(out.request, 481, { toTag: 'dn' }), 10);
    expect(tx.statuses('c1')).toEqual([481]);
    expect(tx.responses[0].response.headers.getAll('Via')).toEqual([UAC_VIA]);
    expect(proxy.unmatchedCancelCount).toBe(0);
    // A late retransmission of that answer is not relayed twice.
    await proxy.onResponse(out.tx, answer(out.request, 481, { toTag: 'dn' }), 20);
    expect(tx.statuses('c1')).toEqual([481]);
  });

  test('its branch is the one the INVITE got when relayed to the same next hop, on any node, every time (§9.2, §16.11)', async () => {
    const inv = invite('sip:bob@192.0.2.21:5062', 'Route: <sip:proxy.example.com;lr>');
    const a = makeProxy((r) => r.relay());
    await a.proxy.onRequest('s', factory.copy(inv), src, 0);
    const [forwardedInvite] = a.tx.method('INVITE');
    // Node A lost its state (or another node got the CANCEL after a failover): B has no context.
    for (const n of [1, 2]) {
      const b = makeProxy();
      await b.proxy.onRequest(`c${n}`, cancelOf(inv), src, 10);
      const [cancel] = b.tx.method('CANCEL');
      expect(cancel.request.headers.get('Via')).toBe(forwardedInvite.request.headers.get('Via'));
      expect(cancel.dest).toEqual(forwardedInvite.dest);
    }
  });

  test.each([
    ['Request-URI names us, no Route', 'sip:bob@proxy.example.com', [], []],
    ['Request-URI names us, only our own Route', 'sip:bob@proxy.example.com', ['Route: <sip:proxy.example.com;lr>'], []],
    ['Request-URI in a domain we serve (a registrar lookup would be needed)', 'sip:bob@example.org', [], ['example.org']],
    ['tel: Request-URI, no Route', 'tel:+15551234567', [], []],
  ])('no next hop but ourselves: 481 (%s)', async (_name, uri, routes, domains) => {
    const { proxy, tx } = makeProxy((r) => r.relay(), {}, domains);
    await proxy.onRequest('c', cancelOf(invite(uri, ...routes)), src, 0);
    expect(tx.statuses('c')).toEqual([481]);
    expect(tx.sent).toHaveLength(0);
    expect(proxy.statelessCounts).toMatchObject({ cancel_no_next_hop: 1, cancel_forwarded: 0 });
  });

  test('Max-Forwards 0 → 483, nothing forwarded (§16.3 item 3)', async () => {
    const { proxy, tx } = makeProxy();
    await proxy.onRequest('c', cancelOf(invite('sip:bob@192.0.2.99'), '0'), src, 0);
    expect(tx.statuses('c')).toEqual([483]);
    expect(tx.sent).toHaveLength(0);
    expect(proxy.statelessCounts.cancel_rejected).toBe(1);
  });

  test('a CANCEL that loops back to us is a loop (482), not forwarded again', async () => {
    const { proxy, tx } = makeProxy();
    await proxy.onRequest('c1', cancelOf(invite('sip:bob@192.0.2.99')), src, 0);
    const [out] = tx.method('CANCEL');
    await proxy.onRequest('c2', factory.copy(out.request), { address: '192.0.2.99', port: 5060, transport: 'UDP' }, 1);
    expect(tx.statuses('c2')).toEqual([482]);
    expect(tx.method('CANCEL')).toHaveLength(1);
  });

  test('no answer from the next hop → nothing upstream (RFC 4320 §4.2: never a 408 to a CANCEL); a transport failure → 500 (§16.9)', async () => {
    const { proxy, tx } = makeProxy();
    await proxy.onRequest('c1', cancelOf(invite('sip:bob@192.0.2.99')), src, 0);
    await proxy.onRequest('c2', cancelOf(invite('sip:carol@192.0.2.98')), src, 0);
    const [first, second] = tx.method('CANCEL');
    await proxy.onClientTimeout(first.tx, 'F', 32_000);
    await proxy.onTransportError(second.tx, 10);
    expect(tx.statuses('c1')).toEqual([]);
    expect(tx.statuses('c2')).toEqual([500]);
    expect(tx.responses.map((r) => r.response.headers.get('CSeq'))).toEqual(['7 CANCEL']);
    expect(proxy.unmatchedCancelCount).toBe(0);
    expect(proxy.statelessCounts.non_invite_timeout_unanswered).toBe(1);
  });

  test('the client transaction could not be created → 500, nothing left pending', async () => {
    const { proxy, tx } = makeProxy();
    tx.failSends = true;
    await proxy.onRequest('c', cancelOf(invite('sip:bob@192.0.2.99')), src, 0);
    expect(tx.statuses('c')).toEqual([500]);
    expect(proxy.unmatchedCancelCount).toBe(0);
  });

  test('a terminated client transaction drops its bookkeeping', async () => {
    const { proxy, tx } = makeProxy();
    await proxy.onRequest('c', cancelOf(invite('sip:bob@192.0.2.99')), src, 0);
    proxy.onTerminated(tx.method('CANCEL')[0].tx);
    expect(proxy.unmatchedCancelCount).toBe(0);
  });

  test('a CANCEL whose INVITE transaction outlived its finished context gets 200 and is not forwarded (§16.10)', async () => {
    const { proxy, tx } = makeProxy((r) => r.relay());
    await proxy.onRequest('s', invite('sip:bob@192.0.2.21'), src, 0);
    const [out] = tx.method('INVITE');
    await proxy.onResponse(out.tx, answer(out.request, 486), 10);
    await proxy.advance(40_000);
    expect(proxy.contextCount).toBe(0);
    tx.cancelTargets.set('call-s1', 's'); // the IST is still in its Completed state
    await proxy.onRequest('c', cancelOf(invite('sip:bob@192.0.2.21')), src, 40_001);
    expect(tx.statuses('c')).toEqual([200]);
    expect(tx.method('CANCEL')).toHaveLength(0);
  });

  test('a CANCEL with a context still takes the stateful path: 200 from us, no stateless forward', async () => {
    const { proxy, tx } = makeProxy((r) => r.relay());
    const inv = invite('sip:bob@192.0.2.21');
    await proxy.onRequest('s', inv, src, 0);
    tx.cancelTargets.set('call-s1', 's');
    await proxy.onRequest('c', cancelOf(invite('sip:bob@192.0.2.21')), src, 1);
    expect(tx.statuses('c')).toEqual([200]);
    expect(proxy.statelessCounts.cancel_forwarded).toBe(0);
  });
});

describe('§16.11 / §18.1.2: responses matching no client transaction', () => {
  const ours = 'SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK0123456789.gone';
  const stray = (...vias: string[]): FakeResponse => new FakeResponse(200, 'OK', new FakeHeaders([
    ...vias.map((v): [string, string] => ['Via', v]), ['From', '<sip:alice@example.com>;tag=a1'],
    ['To', '<sip:bob@example.com>;tag=b1'], ['Call-ID', 'call-s1'], ['CSeq', '7 INVITE'],
  ]));

  test('our Via on top: popped, and the rest goes to the next Via', () => {
    const { proxy, tx } = makeProxy();
    expect(proxy.onStrayResponse(stray(ours, UAC_VIA))).toBe(true);
    expect(tx.statelessResponses).toHaveLength(1);
    expect(tx.statelessResponses[0].headers.getAll('Via')).toEqual([UAC_VIA]);
    expect(proxy.statelessCounts.response_forwarded).toBe(1);
  });

  test.each([
    ['a top Via that is not ours', [UAC_VIA, ours]],
    ['our Via with nothing below (the answer to a request we originated)', [ours]],
    ['no Via at all', []],
    ['an unreadable Via', ['garbage;;;', UAC_VIA]],
    ['our host on another port', ['SIP/2.0/UDP proxy.example.com:5070;branch=z9hG4bKx', UAC_VIA]],
  ])('discarded: %s', (_name, vias) => {
    const { proxy, tx } = makeProxy();
    const res = stray(...vias);
    expect(proxy.onStrayResponse(res)).toBe(false);
    expect(tx.statelessResponses).toHaveLength(0);
    expect(res.headers.getAll('Via')).toEqual(vias); // untouched
    expect(proxy.statelessCounts.response_dropped).toBe(1);
  });

  test('without a stateless response path in the port the response is dropped, not thrown', () => {
    const tx = new FakeTransactions();
    const port = { ...tx, sendRequest: tx.sendRequest.bind(tx), respond: tx.respond.bind(tx), sendStateless: tx.sendStateless.bind(tx),
      cancelTarget: tx.cancelTarget.bind(tx), forwardResponseStateless: undefined };
    const proxy = new StatefulProxy<string, number>({
      transactions: port, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
      recordRoute: false, inviteTimeoutMs: 180_000, hooks: { onRequest: (r) => r.relay() },
    });
    expect(proxy.onStrayResponse(stray(ours, UAC_VIA))).toBe(false);
  });

  test('processStrayResponse reads a Via without a port as the default port of its transport', () => {
    const res = stray('SIP/2.0/TLS proxy.example.com;branch=z9hG4bKx', UAC_VIA);
    expect(processStrayResponse(res, (h, p) => h === 'proxy.example.com' && p === 5061)).toBe('forward');
    expect(processStrayResponse(stray('SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx', UAC_VIA), own)).toBe('forward');
  });

  test('a 2xx retransmission after the context is gone (RFC 6026 Accepted) still reaches the caller; a late 486 does not', async () => {
    const { proxy, tx } = makeProxy((r) => r.relay());
    await proxy.onRequest('s', invite('sip:bob@192.0.2.21'), src, 0);
    const [out] = tx.method('INVITE');
    await proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 10);
    expect(tx.statuses('s')).toEqual([200]);
    await proxy.advance(40_000); // linger over: context dropped
    expect(proxy.contextCount).toBe(0);
    await proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 40_010);
    expect(tx.statelessResponses.map((r) => r.status)).toEqual([200]);
    expect(tx.statelessResponses[0].headers.getAll('Via')).toEqual([UAC_VIA]);
    await proxy.onResponse(out.tx, answer(out.request, 486), 40_020);
    expect(tx.statelessResponses).toHaveLength(1);
    expect(tx.statuses('s')).toEqual([200]);
  });
});

describe('§18.2.2 / RFC 3581: where a stateless response goes', () => {
  test.each([
    ['sent-by only', 'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKa', { host: '192.0.2.10', port: 5070, transport: 'UDP' }],
    ['default port', 'SIP/2.0/UDP uac.example.com;branch=z9hG4bKa', { host: 'uac.example.com', port: 5060, transport: 'UDP' }],
    ['TLS default port', 'SIP/2.0/TLS uac.example.com;branch=z9hG4bKa', { host: 'uac.example.com', port: 5061, transport: 'TLS' }],
    ['received', 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;received=203.0.113.7', { host: '203.0.113.7', port: 5060, transport: 'UDP' }],
    ['received + rport', 'SIP/2.0/UDP 10.0.0.5:5060;rport=40123;branch=z9hG4bKa;received=203.0.113.7', { host: '203.0.113.7', port: 40123, transport: 'UDP' }],
    ['rport without value (not stamped)', 'SIP/2.0/UDP 10.0.0.5:5062;rport;branch=z9hG4bKa', { host: '10.0.0.5', port: 5062, transport: 'UDP' }],
    ['maddr', 'SIP/2.0/UDP 10.0.0.5:5062;maddr=239.1.1.1;branch=z9hG4bKa', { host: '239.1.1.1', port: 5062, transport: 'UDP' }],
    ['IPv6 received', 'SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKa;received=[2001:db8::9]', { host: '2001:db8::9', port: 5060, transport: 'TCP' }],
    ['case-insensitive names', 'SIP/2.0/UDP 10.0.0.5;RPORT=1234;Received=198.51.100.2;branch=z9hG4bKa', { host: '198.51.100.2', port: 1234, transport: 'UDP' }],
  ])('%s', (_name, via, hop) => {
    expect(responseNextHop(via)).toEqual(hop);
  });

  test('an unreadable Via has no next hop', () => {
    expect(responseNextHop('not a via')).toBeUndefined();
  });
});

describe('deterministic branches', () => {
  test('an ACK retransmission forwarded statelessly keeps its branch (§16.11)', async () => {
    const { proxy, tx } = makeProxy((r) => r.relay());
    const ack = (): FakeRequest => request('ACK sip:bob@192.0.2.21:5062', `Via: ${UAC_VIA.replace('uac1', 'ack1')}`, 'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b1', 'Call-ID: call-s1', 'CSeq: 7 ACK');
    await proxy.onAck(ack(), src, 0);
    await proxy.onAck(ack(), src, 500);
    const [a, b] = tx.stateless.map((s) => s.request.headers.get('Via'));
    expect(a).toBe(b);
  });

  test('each branch of a fork, and a re-fork to the same target, has its own branch (§16.6 item 8)', async () => {
    let rounds = 0;
    const { proxy, tx } = makeProxy((r) => r.fork(['sip:bob@192.0.2.21', 'sip:bob@192.0.2.22']), {
      onFailure: (r) => { if (rounds++ === 0) r.fork(['sip:bob@192.0.2.21']); },
    });
    await proxy.onRequest('s', invite('sip:bob@example.com'), src, 0);
    const [b1, b2] = tx.method('INVITE');
    await proxy.onResponse(b1.tx, answer(b1.request, 486), 1);
    await proxy.onResponse(b2.tx, answer(b2.request, 486), 2);
    const branches = tx.method('INVITE').map((s) => s.request.headers.get('Via'));
    expect(branches).toHaveLength(3);
    expect(new Set(branches).size).toBe(3);
  });

  test('branchSuffix depends on the upstream transaction, the target and the index only', () => {
    const inv = invite('sip:bob@example.com');
    const base = branchSuffix(inv, 'sip:bob@192.0.2.21', 0);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    const restamped = invite('sip:bob@example.com');
    restamped.headers.set('Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1;rport=40000;received=192.0.2.77');
    expect(branchSuffix(restamped, 'sip:bob@192.0.2.21', 0)).toBe(base);
    expect(branchSuffix(inv, 'sip:bob@192.0.2.22', 0)).not.toBe(base);
    expect(branchSuffix(inv, 'sip:bob@192.0.2.21', 1)).not.toBe(base);
    const other = invite('sip:bob@example.com');
    other.headers.set('Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac2');
    expect(branchSuffix(other, 'sip:bob@192.0.2.21', 0)).not.toBe(base);
  });
});

test('siphon_proxy_stateless_total publishes the proxy\'s counts by event', async () => {
  const { proxy } = makeProxy();
  await proxy.onRequest('c1', cancelOf(invite('sip:bob@192.0.2.99')), src, 0);
  await proxy.onRequest('c2', cancelOf(invite('sip:bob@proxy.example.com')), src, 0);
  proxy.onStrayResponse(new FakeResponse(200, 'OK', new FakeHeaders([['Via', UAC_VIA]])));
  const registry = new Registry();
  registerStatelessProxyCounter(proxy, registry);
  const text = await registry.metrics();
  expect(text).toMatch(/siphon_proxy_stateless_total\{event="cancel_forwarded"\} 1/);
  expect(text).toMatch(/siphon_proxy_stateless_total\{event="cancel_no_next_hop"\} 1/);
  expect(text).toMatch(/siphon_proxy_stateless_total\{event="response_dropped"\} 1/);
  expect(text).toMatch(/siphon_proxy_stateless_total\{event="response_forwarded"\} 0/);
});
