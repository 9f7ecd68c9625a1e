// RFC 4320 §4.2 in the stateful proxy: "A transaction-stateful SIP element MUST NOT send a response
// with Status-Code of 408 to a non-INVITE request." Found by the packet-loss suite: a BYE whose
// callee never answered (its 200 lost, then every retransmission) reached the caller as a 408 after
// our Timer F, which the caller's own transaction had already given up on. An INVITE still gets one.
import { DialogTracker } from '../../../node/dialog/index.js';
import { StatefulProxy, type ScriptRequest } from '../../../node/proxy/index.js';
import { answer, factory, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const own = (host: string, port: number): boolean => host === 'proxy.example.com' && port === 5060;
const fromUdp = { address: '192.0.2.10', port: 5060, transport: 'UDP' } as const;
const TARGETS = ['sip:bob@192.0.2.21:5062', 'sip:bob@192.0.2.22:5062'];

function harness(targets: readonly string[] = TARGETS.slice(0, 1)) {
  const tx = new FakeTransactions();
  const dialogs = new DialogTracker({ idleTimeoutMs: 3_600_000 });
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    recordRoute: true, inviteTimeoutMs: 180_000, nonInviteTryingMs: 3500, dialogs,
    hooks: { onRequest: (r: ScriptRequest) => r.fork([...targets]) },
  });
  return { proxy, tx, dialogs };
}

function req(method: string): FakeRequest {
  return request(`${method} sip:bob@example.com`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b1', `Call-ID: timeout-${method}`, `CSeq: 2 ${method}`);
}

describe('RFC 4320 §4.2: a non-INVITE that timed out downstream gets no 408', () => {
  test.each(['BYE', 'MESSAGE', 'OPTIONS'])('%s: Timer F on its only branch sends nothing upstream and frees the context', async (method) => {
    const h = harness();
    await h.proxy.onRequest('s', req(method), fromUdp, 0);
    const [out] = h.tx.method(method);
    await h.proxy.onClientTimeout(out.tx, 'F', 32_000);
    expect(h.tx.statuses('s')).toEqual([]);
    expect(h.proxy.contextCount).toBe(0);
    expect(h.proxy.statelessCounts.non_invite_timeout_unanswered).toBe(1);
    // nothing left armed for it: the 100 Trying timer went with the context
    await h.proxy.advance(64_000);
    expect(h.tx.statuses('s')).toEqual([]);
  });

  test('the 100 Trying sent at T2 stays the only response', async () => {
    const h = harness();
    await h.proxy.onRequest('s', req('BYE'), fromUdp, 0);
    await h.proxy.advance(3500);
    const [out] = h.tx.method('BYE');
    await h.proxy.onClientTimeout(out.tx, 'F', 32_000);
    expect(h.tx.statuses('s')).toEqual([100]);
  });

  test('a 408 the next hop itself sent to a non-INVITE is not passed up either', async () => {
    const h = harness();
    await h.proxy.onRequest('s', req('MESSAGE'), fromUdp, 0);
    const [out] = h.tx.method('MESSAGE');
    await h.proxy.onResponse(out.tx, answer(out.request, 408, { toTag: 'x' }), 10);
    expect(h.tx.statuses('s')).toEqual([]);
    expect(h.proxy.contextCount).toBe(0);
  });

  test('forked: a real final from one branch still goes up when the other timed out', async () => {
    const h = harness(TARGETS);
    await h.proxy.onRequest('s', req('MESSAGE'), fromUdp, 0);
    const [a, b] = h.tx.method('MESSAGE');
    await h.proxy.onClientTimeout(a.tx, 'F', 32_000);
    await h.proxy.onResponse(b.tx, answer(b.request, 486, { toTag: 'y' }), 32_001);
    expect(h.tx.statuses('s')).toEqual([486]);
    expect(h.proxy.statelessCounts.non_invite_timeout_unanswered).toBe(0);
  });

  test('a BYE nobody answered still ends its dialog (§15), though no 408 goes up', async () => {
    const h = harness();
    h.dialogs.observeResponse({ cseqMethod: 'INVITE', status: 200, callId: 'timeout-BYE', fromTag: 'a1', toTag: 'b1' }, 0);
    expect(h.dialogs.active).toBe(1);
    await h.proxy.onRequest('s', req('BYE'), fromUdp, 1000);
    const [out] = h.tx.method('BYE');
    await h.proxy.onClientTimeout(out.tx, 'F', 33_000);
    expect(h.tx.statuses('s')).toEqual([]);
    expect(h.dialogs.active).toBe(0);
  });

  test('an INVITE whose branch timed out (Timer B) still gets its 408 (§16.7 item 6)', async () => {
    const h = harness();
    await h.proxy.onRequest('s', req('INVITE'), fromUdp, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onClientTimeout(out.tx, 'B', 32_000);
    expect(h.tx.statuses('s')).toEqual([408]);
  });
});
