// RFC 3326 Reason on the CANCELs the proxy sends: why a branch is cancelled (another branch
// answered, a 6xx ended the search) or the caller's own Reason carried end to end (§16.10).
import { StatefulProxy, type ScriptRequest } from '../../../node/proxy/index.js';
import { answer, factory, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const own = (host: string, port: number): boolean => host === 'proxy.example.com' && port === 5060;
const src = { address: '192.0.2.10', port: 5060, transport: 'UDP' };

function harness() {
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    recordRoute: true, inviteTimeoutMs: 180_000,
    hooks: { onRequest: (r: ScriptRequest) => r.fork(['sip:bob@192.0.2.21', 'sip:bob@192.0.2.22']) },
  });
  return { proxy, tx };
}

const invite = (): FakeRequest => request('INVITE sip:bob@example.com',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'Max-Forwards: 70',
  'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: reason-1', 'CSeq: 1 INVITE');

async function twoRinging() {
  const h = harness();
  await h.proxy.onRequest('s', invite(), src, 0);
  const [one, two] = h.tx.method('INVITE');
  await h.proxy.onResponse(one.tx, answer(one.request, 180, { toTag: 'b1' }), 5);
  await h.proxy.onResponse(two.tx, answer(two.request, 183, { toTag: 'b2' }), 6);
  return { ...h, one, two };
}

describe('RFC 3326 Reason on proxy CANCELs', () => {
  test('a branch cancelled because another answered says "Call completed elsewhere" (RFC 3326 §3)', async () => {
    const h = await twoRinging();
    await h.proxy.onResponse(h.one.tx, answer(h.one.request, 200, { toTag: 'b1' }), 10);
    const [cancel] = h.tx.method('CANCEL');
    expect(cancel.dest).toEqual(h.two.dest);
    expect(cancel.request.headers.getAll('Reason')).toEqual(['SIP;cause=200;text="Call completed elsewhere"']);
  });

  test('the reason is kept for a branch whose CANCEL waits for its first provisional (§9.1)', async () => {
    const h = harness();
    await h.proxy.onRequest('s', invite(), src, 0);
    const [one, two] = h.tx.method('INVITE');
    await h.proxy.onResponse(one.tx, answer(one.request, 200, { toTag: 'b1' }), 10);
    expect(h.tx.method('CANCEL')).toHaveLength(0);
    await h.proxy.onResponse(two.tx, answer(two.request, 180, { toTag: 'b2' }), 20);
    expect(h.tx.method('CANCEL')[0].request.headers.getAll('Reason')).toEqual(['SIP;cause=200;text="Call completed elsewhere"']);
  });

  test('a 6xx ends the search: the others are cancelled with its status as the cause', async () => {
    const h = await twoRinging();
    const decline = factory.response(h.one.request, 603, 'Decline "busy day"');
    decline.headers.set('To', `${h.one.request.headers.get('To')};tag=b1`);
    await h.proxy.onResponse(h.one.tx, decline, 10);
    // The reason phrase becomes a quoted-string: its quotes escaped (RFC 3261 §25.1 quoted-pair).
    expect(h.tx.method('CANCEL')[0].request.headers.getAll('Reason')).toEqual(['SIP;cause=603;text="Decline \\"busy day\\""']);
  });

  test("the caller's CANCEL Reason values go down with ours; without one, ours carry none", async () => {
    const h = await twoRinging();
    h.tx.cancelTargets.set('reason-1', 's');
    const cancel = request('CANCEL sip:bob@example.com', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: reason-1', 'CSeq: 1 CANCEL',
      'Reason: Q.850;cause=16;text="Normal call clearing"');
    await h.proxy.onRequest('c', cancel, src, 10);
    const sent = h.tx.method('CANCEL');
    expect(sent).toHaveLength(2);
    for (const c of sent) expect(c.request.headers.getAll('Reason')).toEqual(['Q.850;cause=16;text="Normal call clearing"']);

    const plain = await twoRinging();
    plain.tx.cancelTargets.set('reason-1', 's');
    await plain.proxy.onRequest('c', request('CANCEL sip:bob@example.com', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1',
      'Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: reason-1', 'CSeq: 1 CANCEL'), src, 10);
    for (const c of plain.tx.method('CANCEL')) expect(c.request.headers.getAll('Reason')).toEqual([]);
  });
});
