// RFC 4320 §4.2 in the stateful proxy: a forwarded non-INVITE still unanswered when the client's
// Timer E reaches T2 gets one 100 Trying upstream; never earlier, never for INVITE, never after a final.
import { timerEReachesT2 } from '../../../node/app/index.js';
import { StatefulProxy, type ScriptRequest } from '../../../node/proxy/index.js';
import { answer, factory, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const own = (host: string, port: number): boolean => host === 'proxy.example.com' && port === 5060;
const TRYING_MS = 3500;

function harness(nonInviteTryingMs: number | undefined) {
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    recordRoute: true, inviteTimeoutMs: 180_000, nonInviteTryingMs,
    hooks: { onRequest: (r: ScriptRequest) => r.relay({ target: 'sip:bob@192.0.2.21:5062' }) },
  });
  return { proxy, tx };
}

function req(method: string): FakeRequest {
  return request(`${method} sip:bob@example.com`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', `Call-ID: trying-${method}`, `CSeq: 1 ${method}`);
}

const fromUdp = { address: '192.0.2.10', port: 5060, transport: 'UDP' } as const;

describe('RFC 4320 §4.2: 100 Trying for a slow non-INVITE', () => {
  test('Timer E reaches T2 after the retransmissions below T2: 3.5 s at the defaults', () => {
    expect(timerEReachesT2(500, 4000)).toBe(3500);
    expect(timerEReachesT2(100, 4000)).toBe(100 + 200 + 400 + 800 + 1600 + 3200);
    expect(timerEReachesT2(4000, 4000)).toBe(0);
  });

  test('a MESSAGE unanswered at that point gets exactly one 100 upstream, then the final as usual', async () => {
    const h = harness(TRYING_MS);
    await h.proxy.onRequest('s', req('MESSAGE'), fromUdp, 0);
    await h.proxy.advance(TRYING_MS - 1);
    expect(h.tx.statuses('s')).toEqual([]);
    await h.proxy.advance(TRYING_MS);
    await h.proxy.advance(TRYING_MS + 5000);
    expect(h.tx.statuses('s')).toEqual([100]);
    const [out] = h.tx.method('MESSAGE');
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), TRYING_MS + 6000);
    expect(h.tx.statuses('s')).toEqual([100, 200]);
  });

  test('answered in time: no 100 at all', async () => {
    const h = harness(TRYING_MS);
    await h.proxy.onRequest('s', req('MESSAGE'), fromUdp, 0);
    const [out] = h.tx.method('MESSAGE');
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 1000);
    await h.proxy.advance(TRYING_MS + 1);
    expect(h.tx.statuses('s')).toEqual([200]);
  });

  test('an INVITE is left to its server transaction (which sends its own 100 at once): no second 100', async () => {
    const h = harness(TRYING_MS);
    await h.proxy.onRequest('s', req('INVITE'), fromUdp, 0);
    await h.proxy.advance(TRYING_MS + 1);
    expect(h.tx.statuses('s')).toEqual([]);
  });

  test('without nonInviteTryingMs the proxy never sends one', async () => {
    const h = harness(undefined);
    await h.proxy.onRequest('s', req('MESSAGE'), fromUdp, 0);
    await h.proxy.advance(60_000);
    expect(h.tx.statuses('s')).toEqual([]);
  });
});
