// The stateful proxy driven event by event against a recording fake transaction layer.
import { DialogTracker } from '../../../node/dialog/index.js';
import {
  StatefulProxy, type ForkOptions, type ForkTarget, type ProxyHooks, type ScriptRequest, type ScriptResponse,
} from '../../../node/proxy/index.js';
import { answer, factory, FakeTransactions, request, type FakeRequest } from './fake-sip.js';

const own = (host: string, port: number): boolean => host === 'proxy.example.com' && port === 5060;
const INVITE_TIMEOUT = 180_000;

interface Harness {
  proxy: StatefulProxy<string, number>;
  tx: FakeTransactions;
  dialogs: DialogTracker;
  events: string[];
}

function harness(route: (r: ScriptRequest) => void | Promise<void>, extra: Partial<ProxyHooks> = {}): Harness {
  const tx = new FakeTransactions();
  const dialogs = new DialogTracker({ idleTimeoutMs: 3_600_000 });
  const events: string[] = [];
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    recordRoute: true, inviteTimeoutMs: INVITE_TIMEOUT, dialogs,
    hooks: {
      onRequest: route,
      onReply: (_r: ScriptRequest, res: ScriptResponse) => { events.push(`reply ${res.status}`); },
      onCancel: () => { events.push('cancel'); },
      ...extra,
    },
  });
  return { proxy, tx, dialogs, events };
}

function invite(callId = 'call-1', ...extra: string[]): FakeRequest {
  return request('INVITE sip:bob@example.com',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', `Call-ID: ${callId}`, 'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.10>', ...extra);
}

function cancelFor(inv: FakeRequest): FakeRequest {
  return request(`CANCEL ${inv.uri}`, `Via: ${inv.headers.get('Via')}`, 'Max-Forwards: 70', `From: ${inv.headers.get('From')}`,
    `To: ${inv.headers.get('To')}`, `Call-ID: ${inv.headers.get('Call-ID')}`, 'CSeq: 1 CANCEL');
}

const fork = (targets: Array<string | ForkTarget>, opts?: ForkOptions) => (r: ScriptRequest): void => { r.fork(targets, opts); };
const TWO = ['sip:bob@192.0.2.21', 'sip:bob@192.0.2.22'];

describe('stateful proxy: single relay', () => {
  test('INVITE/100/180/200: 100 absorbed, 180+200 forwarded with our Via popped, dialog confirmed, Record-Route added', async () => {
    const h = harness((r) => r.relay({ target: 'sip:bob@192.0.2.21:5062' }));
    await h.proxy.onRequest('s1', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    const [out] = h.tx.method('INVITE');
    expect(out.dest).toEqual({ host: '192.0.2.21', port: 5062, transport: 'UDP', source: 'ruri' });
    expect(out.request.headers.get('Record-Route')).toBe('<sip:proxy.example.com:5060;lr>');
    expect(out.request.headers.get('Max-Forwards')).toBe('69');
    await h.proxy.onResponse(out.tx, answer(out.request, 100), 10);
    await h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 20);
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 30);
    expect(h.tx.statuses('s1')).toEqual([180, 200]);
    for (const { response } of h.tx.responses) {
      expect(response.headers.getAll('Via')).toEqual(['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1']);
    }
    expect(h.dialogs.active).toBe(1);
    expect(h.events).toEqual(['reply 180', 'reply 200']);
  });

  test('UDP in, TCP out: two Record-Routes, the callee-facing one on top (RFC 5658); one per hop when the transports match', async () => {
    const h = harness((r) => r.relay({ target: 'sip:bob@192.0.2.21:5062;transport=tcp' }));
    await h.proxy.onRequest('s1', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    const [out] = h.tx.method('INVITE');
    expect(out.dest.transport).toBe('TCP');
    expect(out.request.headers.getAll('Record-Route')).toEqual([
      '<sip:proxy.example.com:5060;transport=tcp;lr>', '<sip:proxy.example.com:5060;lr>',
    ]);
    const same = harness((r) => r.relay({ target: 'sip:bob@192.0.2.21:5062;transport=tcp' }));
    await same.proxy.onRequest('s1', invite(), { address: '192.0.2.10', port: 5060, transport: 'TCP' }, 0);
    expect(same.tx.method('INVITE')[0].request.headers.getAll('Record-Route')).toEqual(['<sip:proxy.example.com:5060;transport=tcp;lr>']);
  });

  test('listeners on different ports per transport: the Via and each Record-Route name the listener of their transport', async () => {
    const tx = new FakeTransactions();
    const proxy = new StatefulProxy<string, number>({
      transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
      advertisedByTransport: new Map([['UDP', { host: 'proxy.example.com', port: 5060 }], ['TCP', { host: 'proxy.example.com', port: 5070 }]]),
      recordRoute: true, inviteTimeoutMs: INVITE_TIMEOUT,
      hooks: { onRequest: (r) => r.relay({ target: 'sip:bob@192.0.2.21:5062;transport=tcp' }) },
    });
    await proxy.onRequest('s1', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    const [out] = tx.method('INVITE');
    expect(out.request.headers.getAll('Record-Route')).toEqual([
      '<sip:proxy.example.com:5070;transport=tcp;lr>', '<sip:proxy.example.com:5060;lr>',
    ]);
    expect(out.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/TCP proxy\.example\.com:5070;branch=z9hG4bK/);
  });

  test('an in-dialog request carrying both of our double Record-Routes pops both and goes to the remote target', async () => {
    const h = harness((r) => { if (r.looseRoute()) r.relay(); else r.reply(404); });
    // The callee's BYE: its route set is the Record-Route list as it saw it (TCP-facing value first).
    const bye = request('BYE sip:alice@192.0.2.10:5060', 'Via: SIP/2.0/TCP 192.0.2.21:5062;branch=z9hG4bKbye2',
      'Max-Forwards: 70', 'Route: <sip:proxy.example.com:5060;transport=tcp;lr>', 'Route: <sip:proxy.example.com:5060;lr>',
      'From: <sip:bob@example.com>;tag=b1', 'To: <sip:alice@example.com>;tag=a1', 'Call-ID: call-1', 'CSeq: 1 BYE');
    await h.proxy.onRequest('s2', bye, { address: '192.0.2.21', port: 5062, transport: 'TCP' }, 0);
    const [out] = h.tx.method('BYE');
    expect(out.dest).toEqual({ host: '192.0.2.10', port: 5060, transport: 'UDP', source: 'ruri' });
    expect(out.request.headers.get('Route')).toBeUndefined();
  });

  test('in-dialog BYE follows the route set; its 200 ends the dialog', async () => {
    const h = harness((r) => { if (r.looseRoute()) r.relay(); else r.reply(404); });
    h.dialogs.observeResponse({ cseqMethod: 'INVITE', status: 200, callId: 'call-1', fromTag: 'a1', toTag: 'b1' }, 0);
    const bye = request('BYE sip:bob@192.0.2.21:5062', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye',
      'Max-Forwards: 70', 'Route: <sip:proxy.example.com:5060;lr>', 'Route: <sip:edge.example.net;lr>',
      'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b1', 'Call-ID: call-1', 'CSeq: 2 BYE');
    await h.proxy.onRequest('s2', bye, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 100);
    const [out] = h.tx.method('BYE');
    // No NAPTR locator in this harness: the hop still says §4.1 was left open.
    expect(out.dest).toEqual({ host: 'edge.example.net', port: 5060, transport: 'UDP', srv: true, naptr: true, source: 'route' });
    expect(out.request.uri).toBe('sip:bob@192.0.2.21:5062');
    expect(out.request.headers.getAll('Route')).toEqual(['<sip:edge.example.net;lr>']);
    expect(out.request.headers.get('Record-Route')).toBeUndefined(); // in-dialog: no new Record-Route
    await h.proxy.onResponse(out.tx, answer(out.request, 200), 110);
    expect(h.tx.statuses('s2')).toEqual([200]);
    expect(h.dialogs.active).toBe(0);
  });

  test('ACK for a 2xx is forwarded statelessly along the route set (Via pushed, Max-Forwards decremented)', async () => {
    const h = harness((r) => { if (r.looseRoute()) r.relay(); });
    const ack = request('ACK sip:bob@192.0.2.21:5062', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKack',
      'Max-Forwards: 70', 'Route: <sip:proxy.example.com;lr>', 'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>;tag=b1', 'Call-ID: call-1', 'CSeq: 1 ACK');
    await h.proxy.onAck(ack, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.sent).toHaveLength(0);
    expect(h.tx.stateless).toHaveLength(1);
    const [{ request: out, dest }] = h.tx.stateless;
    expect(dest).toEqual({ host: '192.0.2.21', port: 5062, transport: 'UDP', source: 'ruri' });
    expect(out.headers.getAll('Via')).toHaveLength(2);
    expect(out.headers.get('Max-Forwards')).toBe('69');
    expect(out.headers.get('Route')).toBeUndefined();
  });

  test('an ACK whose next hop is ourselves is dropped, not looped', async () => {
    const h = harness((r) => r.relay());
    const ack = request('ACK sip:bob@proxy.example.com', 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKack2', 'Max-Forwards: 70',
      'From: <sip:a@x>;tag=a1', 'To: <sip:b@x>;tag=b1', 'Call-ID: c', 'CSeq: 1 ACK');
    await h.proxy.onAck(ack, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.stateless).toHaveLength(0);
  });

  test('strict-router fix-up end to end: our RR in the R-URI is replaced by the last Route', async () => {
    const h = harness((r) => { if (r.looseRoute()) r.relay(); else r.reply(404); });
    const bye = request('BYE sip:proxy.example.com;lr', 'Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKs', 'Max-Forwards: 70',
      'Route: <sip:bob@192.0.2.21:5062>', 'From: <sip:a@x>;tag=a1', 'To: <sip:b@x>;tag=b1', 'Call-ID: c', 'CSeq: 3 BYE');
    await h.proxy.onRequest('s3', bye, { address: '198.51.100.1', port: 5060, transport: 'UDP' }, 0);
    const [out] = h.tx.method('BYE');
    expect(out.request.uri).toBe('sip:bob@192.0.2.21:5062');
    expect(out.request.headers.get('Route')).toBeUndefined();
    expect(out.dest.host).toBe('192.0.2.21');
  });
});

describe('stateful proxy: validation and local answers', () => {
  test.each([
    ['Max-Forwards 0 → 483', invite('c', 'Max-Forwards: 0'), 483],
    ['Proxy-Require foo → 420', invite('c', 'Proxy-Require: foo'), 420],
  ])('%s', async (_name, req, status) => {
    req.headers.set('Max-Forwards', req.headers.getAll('Max-Forwards').pop()!);
    const h = harness((r) => r.relay());
    await h.proxy.onRequest('s', req, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.statuses('s')).toEqual([status]);
    expect(h.tx.sent).toHaveLength(0);
  });

  test('fork to no contacts → 480', async () => {
    const h = harness(fork([]));
    await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.statuses('s')).toEqual([480]);
  });

  test('a next hop that is one of our own listeners → 482, nothing sent', async () => {
    const h = harness((r) => r.relay({ target: 'sip:bob@proxy.example.com' }));
    await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.sent).toHaveLength(0);
    expect(h.tx.statuses('s')).toEqual([482]);
  });

  test('a transport failure to send counts as 503 and goes upstream as 500', async () => {
    const h = harness((r) => r.relay({ target: 'sip:bob@192.0.2.21' }));
    h.tx.failSends = true;
    await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.statuses('s')).toEqual([500]);
  });

  test('a script that decides nothing gets 500; one that throws gets 500', async () => {
    const h = harness(() => undefined);
    await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h.tx.statuses('s')).toEqual([500]);
    const h2 = harness(() => { throw new Error('bug'); });
    await h2.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
    expect(h2.tx.statuses('s')).toEqual([500]);
  });
});

describe('stateful proxy: parallel forking and §16.7', () => {
  const src = { address: '192.0.2.10', port: 5060, transport: 'UDP' };

  test('one branch 486, the other 200: caller gets the 200, the 486 is absorbed', async () => {
    const h = harness(fork(TWO));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [a, b] = h.tx.method('INVITE');
    expect(a.request.headers.get('Via')).not.toBe(b.request.headers.get('Via')); // one branch each
    await h.proxy.onResponse(a.tx, answer(a.request, 486, { toTag: 'x' }), 10);
    await h.proxy.onResponse(b.tx, answer(b.request, 200, { toTag: 'y' }), 20);
    expect(h.tx.statuses('s')).toEqual([200]);
    expect(h.tx.method('CANCEL')).toHaveLength(0);
  });

  test('200 first then 486: still only the 200 goes up; the other branch is cancelled once it rings', async () => {
    const h = harness(fork(TWO));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [a, b] = h.tx.method('INVITE');
    await h.proxy.onResponse(b.tx, answer(b.request, 180, { toTag: 'y' }), 5);
    await h.proxy.onResponse(a.tx, answer(a.request, 200, { toTag: 'x' }), 10);
    expect(h.tx.method('CANCEL').map((c) => c.request.headers.get('Via'))).toEqual([b.request.headers.get('Via')]);
    await h.proxy.onResponse(b.tx, answer(b.request, 487, { toTag: 'y' }), 20);
    expect(h.tx.statuses('s')).toEqual([180, 200]);
  });

  test('every 2xx to INVITE is forwarded (two answering branches)', async () => {
    const h = harness(fork(TWO));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [a, b] = h.tx.method('INVITE');
    await h.proxy.onResponse(a.tx, answer(a.request, 200, { toTag: 'x' }), 10);
    await h.proxy.onResponse(b.tx, answer(b.request, 200, { toTag: 'y' }), 11);
    expect(h.tx.statuses('s')).toEqual([200, 200]);
    expect(h.dialogs.active).toBe(2);
  });

  test('6xx cancels the other (ringing) branch and is the final', async () => {
    const h = harness(fork(TWO));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [a, b] = h.tx.method('INVITE');
    await h.proxy.onResponse(a.tx, answer(a.request, 180, { toTag: 'x' }), 5);
    await h.proxy.onResponse(b.tx, answer(b.request, 603, { toTag: 'y' }), 10);
    const cancels = h.tx.method('CANCEL');
    expect(cancels).toHaveLength(1);
    expect(cancels[0].request.headers.get('Via')).toBe(a.request.headers.get('Via'));
    expect(cancels[0].dest).toEqual(a.dest);
    await h.proxy.onResponse(a.tx, answer(a.request, 487, { toTag: 'x' }), 20);
    expect(h.tx.statuses('s')).toEqual([180, 603]);
  });

  test('401 + 407 from two branches: one response carrying both challenges', async () => {
    const h = harness(fork(TWO));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [a, b] = h.tx.method('INVITE');
    await h.proxy.onResponse(a.tx, answer(a.request, 407, { toTag: 'x', headers: [['Proxy-Authenticate', 'Digest realm="a"']] }), 5);
    await h.proxy.onResponse(b.tx, answer(b.request, 401, { toTag: 'y', headers: [['WWW-Authenticate', 'Digest realm="b"']] }), 6);
    const [{ response }] = h.tx.responses;
    expect(response.status).toBe(407);
    expect(response.headers.getAll('Proxy-Authenticate')).toEqual(['Digest realm="a"']);
    expect(response.headers.getAll('WWW-Authenticate')).toEqual(['Digest realm="b"']);
  });

  test('503 + 486 → 486; 503 alone → 500', async () => {
    const h = harness(fork(TWO));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [a, b] = h.tx.method('INVITE');
    await h.proxy.onResponse(a.tx, answer(a.request, 503), 5);
    await h.proxy.onResponse(b.tx, answer(b.request, 486), 6);
    expect(h.tx.statuses('s')).toEqual([486]);
    const h2 = harness(fork(['sip:bob@192.0.2.21']));
    await h2.proxy.onRequest('s', invite(), src, 0);
    const [c] = h2.tx.method('INVITE');
    await h2.proxy.onResponse(c.tx, answer(c.request, 503), 5);
    expect(h2.tx.statuses('s')).toEqual([500]);
  });
});

describe('stateful proxy: CANCEL (§16.10, §9.1)', () => {
  const src = { address: '192.0.2.10', port: 5060, transport: 'UDP' };

  test('CANCEL while ringing: 200 to CANCEL, CANCEL on the INVITE branch, caller gets 487, onCancel once', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const inv = invite();
    await h.proxy.onRequest('s', inv, src, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 5);
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 10);
    expect(h.tx.statuses('c')).toEqual([200]);
    const [cancel] = h.tx.method('CANCEL');
    const sentVia = out.request.headers.get('Via')!;
    expect(cancel.request.headers.getAll('Via')).toEqual([sentVia]);
    expect(cancel.request.uri).toBe(out.request.uri);
    expect(cancel.dest).toEqual(out.dest);
    await h.proxy.onResponse(cancel.tx, answer(cancel.request, 200), 12); // the CANCEL's own 200: absorbed
    await h.proxy.onResponse(out.tx, answer(out.request, 487, { toTag: 'b1' }), 15);
    expect(h.tx.statuses('s')).toEqual([180, 487]);
    expect(h.events.filter((e) => e === 'cancel')).toHaveLength(1);
    // The callee's own 487 (its To tag) goes up, not a proxy-made one.
    expect(h.tx.responses.at(-1)!.response.headers.get('To')).toMatch(/;tag=b1$/);
  });

  test('a callee that builds its 487 from our CANCEL (only our Via): the caller still gets a 487 with its own Via', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const inv = invite();
    await h.proxy.onRequest('s', inv, src, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 5);
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 10);
    const [cancel] = h.tx.method('CANCEL');
    const viaLess100 = answer(cancel.request, 100);
    viaLess100.headers.set('CSeq', '1 INVITE');
    await h.proxy.onResponse(out.tx, viaLess100, 11); // a provisional with nothing left to route by: dropped
    const wrong487 = answer(cancel.request, 487, { toTag: 'b1' }); // Via: ours only
    wrong487.headers.set('CSeq', '1 INVITE');
    await h.proxy.onResponse(out.tx, wrong487, 15);
    expect(h.tx.statuses('s')).toEqual([180, 487]);
    expect(h.tx.responses.at(-1)!.response.headers.getAll('Via')).toEqual(['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1']);
  });

  test('CANCEL before any provisional is deferred until the branch sends a 1xx', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const inv = invite();
    await h.proxy.onRequest('s', inv, src, 0);
    const [out] = h.tx.method('INVITE');
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 10);
    expect(h.tx.statuses('c')).toEqual([200]);
    expect(h.tx.method('CANCEL')).toHaveLength(0);
    // Any provisional, 100 Trying included, proves the INVITE arrived: now the CANCEL can match it.
    await h.proxy.onResponse(out.tx, answer(out.request, 100), 20);
    const cancels = h.tx.method('CANCEL');
    expect(cancels).toHaveLength(1);
    expect(cancels[0].request.headers.getAll('Via')).toEqual([out.request.headers.get('Via')]);
    await h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 30);
    expect(h.tx.method('CANCEL')).toHaveLength(1); // exactly one CANCEL per branch
    await h.proxy.onResponse(out.tx, answer(out.request, 487, { toTag: 'b1' }), 40);
    expect(h.tx.statuses('s').at(-1)).toBe(487);
  });

  test('a cancelled INVITE whose branch never answers ends with a proxy-generated 487', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const inv = invite();
    await h.proxy.onRequest('s', inv, src, 0);
    const [out] = h.tx.method('INVITE');
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 10);
    await h.proxy.onClientTimeout(out.tx, 'B', 32_000);
    expect(h.tx.statuses('s')).toEqual([487]);
  });

  test('2xx-after-CANCEL glare: the 2xx is forwarded (the caller then BYEs)', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const inv = invite();
    await h.proxy.onRequest('s', inv, src, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 5);
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 10);
    expect(h.tx.method('CANCEL')).toHaveLength(1);
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 11);
    expect(h.tx.statuses('s')).toEqual([180, 200]);
    expect(h.dialogs.active).toBe(1);
  });

  test('CANCEL matching no INVITE is forwarded to its Request-URI, not answered 481 (§16.10)', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    await h.proxy.onRequest('c', cancelFor(invite('nope')), src, 0);
    expect(h.tx.statuses('c')).toEqual([]);
    expect(h.tx.method('CANCEL').map((s) => s.dest.host)).toEqual(['example.com']);
    expect(h.events).toEqual([]); // no script, no onCancel: there is no call here to tear down
  });

  test('CANCEL matching no INVITE whose only next hop is ourselves → 481', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const cancel = cancelFor(invite('nope'));
    cancel.uri = 'sip:bob@proxy.example.com';
    await h.proxy.onRequest('c', cancel, src, 0);
    expect(h.tx.statuses('c')).toEqual([481]);
    expect(h.tx.sent).toHaveLength(0);
  });
});

describe('stateful proxy: timers and sequential forking', () => {
  const src = { address: '192.0.2.10', port: 5060, transport: 'UDP' };

  test('Timer C with no provisional → 408 to the caller', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    await h.proxy.onRequest('s', invite(), src, 0);
    expect(h.proxy.nextDeadline()).toBe(INVITE_TIMEOUT);
    await h.proxy.advance(INVITE_TIMEOUT - 1);
    expect(h.tx.responses).toHaveLength(0);
    await h.proxy.advance(INVITE_TIMEOUT);
    expect(h.tx.statuses('s')).toEqual([408]);
  });

  test('Timer C after a provisional → CANCEL the branch; its 487 reaches the caller as 408', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 1000);
    await h.proxy.advance(INVITE_TIMEOUT); // reset by the 180: not yet
    expect(h.tx.method('CANCEL')).toHaveLength(0);
    await h.proxy.advance(1000 + INVITE_TIMEOUT);
    expect(h.tx.method('CANCEL')).toHaveLength(1);
    await h.proxy.onResponse(out.tx, answer(out.request, 487, { toTag: 'b1' }), 1000 + INVITE_TIMEOUT + 5);
    expect(h.tx.statuses('s')).toEqual([180, 408]);
  });

  test('client transaction timeout (Timer B) counts as 408', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    await h.proxy.onRequest('s', invite(), src, 0);
    await h.proxy.onClientTimeout(h.tx.sent[0].tx, 'B', 32_000);
    expect(h.tx.statuses('s')).toEqual([408]);
  });

  test('sequential: q order, next target after a 486, caller gets the second target\'s 200', async () => {
    const h = harness(fork([{ uri: 'sip:bob@192.0.2.22', q: 0.5 }, { uri: 'sip:bob@192.0.2.21', q: 1 }], { strategy: 'sequential' }));
    await h.proxy.onRequest('s', invite(), src, 0);
    expect(h.tx.method('INVITE').map((s) => s.request.uri)).toEqual(['sip:bob@192.0.2.21']);
    const [first] = h.tx.method('INVITE');
    await h.proxy.onResponse(first.tx, answer(first.request, 486, { toTag: 'x' }), 10);
    const [, second] = h.tx.method('INVITE');
    expect(second.request.uri).toBe('sip:bob@192.0.2.22');
    await h.proxy.onResponse(second.tx, answer(second.request, 200, { toTag: 'y' }), 20);
    expect(h.tx.statuses('s')).toEqual([200]);
  });

  test('sequential: a ringing branch past its timeout is cancelled and the next target tried', async () => {
    const h = harness(fork(TWO, { strategy: 'sequential', branchTimeoutSecs: 15 }));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [first] = h.tx.method('INVITE');
    await h.proxy.onResponse(first.tx, answer(first.request, 180, { toTag: 'x' }), 100);
    await h.proxy.advance(15_000);
    expect(h.tx.method('CANCEL').map((c) => c.request.headers.get('Via'))).toEqual([first.request.headers.get('Via')]);
    const invites = h.tx.method('INVITE');
    expect(invites.map((s) => s.request.uri)).toEqual(TWO);
    await h.proxy.onResponse(first.tx, answer(first.request, 487, { toTag: 'x' }), 15_010);
    await h.proxy.onResponse(invites[1].tx, answer(invites[1].request, 486, { toTag: 'y' }), 16_000);
    expect(h.tx.statuses('s')).toEqual([180, 486]);
  });

  test('sequential: a 6xx stops the hunt', async () => {
    const h = harness(fork(TWO, { strategy: 'sequential' }));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [first] = h.tx.method('INVITE');
    await h.proxy.onResponse(first.tx, answer(first.request, 600, { toTag: 'x' }), 10);
    expect(h.tx.method('INVITE')).toHaveLength(1);
    expect(h.tx.statuses('s')).toEqual([600]);
  });

  test('onFailure may fork again (serial hunting from the script)', async () => {
    let rounds = 0;
    const h = harness(fork(['sip:bob@192.0.2.21']), {
      onFailure: (r) => { if (rounds++ === 0) r.fork(['sip:voicemail@192.0.2.99']); },
    });
    await h.proxy.onRequest('s', invite(), src, 0);
    const [first] = h.tx.method('INVITE');
    await h.proxy.onResponse(first.tx, answer(first.request, 486, { toTag: 'x' }), 10);
    expect(h.tx.responses).toHaveLength(0);
    const [, vm] = h.tx.method('INVITE');
    expect(vm.request.uri).toBe('sip:voicemail@192.0.2.99');
    await h.proxy.onResponse(vm.tx, answer(vm.request, 200, { toTag: 'v' }), 20);
    expect(h.tx.statuses('s')).toEqual([200]);
  });

  test('a context with every branch answered is dropped at once; a 2xx retransmission then goes out statelessly (§16.7 item 5, §16.11)', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 10);
    expect(h.tx.statuses('s')).toEqual([200]);
    expect(h.proxy.contextCount).toBe(0);
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 500); // 2xx retransmission
    expect(h.tx.statelessResponses.map((r) => r.status)).toEqual([200]);
    expect(h.tx.statuses('s')).toEqual([200]);
  });
});

describe('proxy-originated requests: pre-loaded Route', () => {
  test.each([
    [undefined, ['Route: <sip:scscf.example.net:6060;lr>'], 'scscf.example.net', 6060],
    [{ host: '203.0.113.9', port: 5070, transport: 'UDP' }, ['Route: <sip:scscf.example.net;lr>'], '203.0.113.9', 5070],
    [undefined, [], 'as.example.net', 5060],
  ])('explicit %j with %j → %s:%i, R-URI unchanged', (explicit, routes, host, port) => {
    const h = harness(() => undefined);
    const sub = request('SUBSCRIBE sip:as.example.net', 'From: <sip:proxy.example.com>;tag=p', 'To: <sip:as.example.net>',
      'Call-ID: sub-1', 'CSeq: 1 SUBSCRIBE', ...routes);
    expect(h.proxy.originate(sub, 0, explicit)).toBe(1);
    expect(h.tx.sent[0].dest.host).toBe(host);
    expect(h.tx.sent[0].dest.port).toBe(port);
    expect(h.tx.sent[0].request.uri).toBe('sip:as.example.net');
    expect(h.tx.sent[0].request.headers.get('Via')).toMatch(/^SIP\/2\.0\/UDP proxy\.example\.com:5060;branch=z9hG4bK/);
  });
});

describe('stateful proxy: more §16 edges', () => {
  const src = { address: '192.0.2.10', port: 5060, transport: 'UDP' };

  test('a CANCEL while the script is still deciding ends the INVITE with 487 and nothing is forwarded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const h = harness(async (r) => { await gate; r.fork(['sip:bob@192.0.2.21']); });
    const inv = invite();
    const pending = h.proxy.onRequest('s', inv, src, 0);
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 5);
    release();
    await pending;
    expect(h.tx.statuses('c')).toEqual([200]);
    expect(h.tx.statuses('s')).toEqual([487]);
    expect(h.tx.method('INVITE')).toHaveLength(0);
  });

  test('a CANCEL after the final response changes nothing (200 to the CANCEL, no onCancel)', async () => {
    const h = harness(fork(['sip:bob@192.0.2.21']));
    const inv = invite();
    await h.proxy.onRequest('s', inv, src, 0);
    const [out] = h.tx.method('INVITE');
    await h.proxy.onResponse(out.tx, answer(out.request, 486, { toTag: 'b' }), 5);
    h.tx.cancelTargets.set('call-1', 's');
    await h.proxy.onRequest('c', cancelFor(inv), src, 10);
    expect(h.tx.statuses('c')).toEqual([200]);
    expect(h.tx.method('CANCEL')).toHaveLength(0);
    expect(h.events).not.toContain('cancel');
  });

  test('non-INVITE fork: the first 2xx goes up, a second is absorbed, no CANCEL for non-INVITE branches', async () => {
    const h = harness(fork(TWO));
    const msg = request('MESSAGE sip:bob@example.com', 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKm', 'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: m1', 'CSeq: 1 MESSAGE');
    await h.proxy.onRequest('s', msg, src, 0);
    const [a, b] = h.tx.method('MESSAGE');
    expect(a.request.headers.get('Record-Route')).toBeUndefined(); // not dialog-creating
    await h.proxy.onResponse(a.tx, answer(a.request, 202, { toTag: 'x' }), 5);
    await h.proxy.onResponse(b.tx, answer(b.request, 200, { toTag: 'y' }), 6);
    expect(h.tx.statuses('s')).toEqual([202]);
    expect(h.tx.method('CANCEL')).toHaveLength(0);
  });

  test('a request we forwarded to ourselves unchanged comes back with our Via on top → 482', async () => {
    const h = harness((r) => r.relay({ nextHop: { host: '198.51.100.1', port: 5060, transport: 'UDP' } }));
    await h.proxy.onRequest('s', invite(), src, 0);
    const [out] = h.tx.method('INVITE');
    const back = out.request;
    back.uri = 'sip:bob@example.com';
    await h.proxy.onRequest('s2', back, { address: '10.0.0.1', port: 5060, transport: 'UDP' }, 1);
    expect(h.tx.statuses('s2')).toEqual([482]);
  });
});

test('with a clock, a decision taken after an await arms Timer C from the decision instant', async () => {
  const tx = new FakeTransactions();
  let clock = 0;
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: own, advertised: { host: 'proxy.example.com', port: 5060 },
    recordRoute: true, inviteTimeoutMs: INVITE_TIMEOUT, clock: () => clock,
    hooks: { onRequest: async (r) => { await Promise.resolve(); clock = 2500; r.fork(['sip:bob@192.0.2.21']); } },
  });
  await proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  expect(proxy.nextDeadline()).toBe(2500 + INVITE_TIMEOUT);
});

test('a 2xx after our Timer C 408 went upstream is forwarded statelessly (the server transaction is completed)', async () => {
  const h = harness(fork(['sip:bob@192.0.2.21']));
  await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  const [out] = h.tx.method('INVITE');
  await h.proxy.advance(INVITE_TIMEOUT);
  expect(h.tx.statuses('s')).toEqual([408]);
  await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'late' }), INVITE_TIMEOUT + 10);
  expect(h.tx.statuses('s')).toEqual([408]);
  expect(h.tx.statelessResponses.map((r) => r.status)).toEqual([200]);
  expect(h.tx.statelessResponses[0].headers.getAll('Via')).toEqual(['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1']);
});

test('the onCancel hook is fire-and-forget: a slow or throwing hook never delays the 487', async () => {
  const h = harness(async (r) => { await new Promise((res) => setTimeout(res, 5)); r.fork(['sip:bob@192.0.2.21']); }, {
    onCancel: () => new Promise<void>((_res, rej) => setTimeout(() => rej(new Error('slow and broken')), 50)),
  });
  const inv = invite();
  const pending = h.proxy.onRequest('s', inv, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  h.tx.cancelTargets.set('call-1', 's');
  await h.proxy.onRequest('c', cancelFor(inv), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 1);
  expect(h.tx.statuses('s')).toEqual([487]);
  await pending;
  await new Promise((res) => setTimeout(res, 60));
});

test('reply-time reject on a 183: caller gets the reject code, the 183 is suppressed, the branch is cancelled, its 487 absorbed', async () => {
  let applied: boolean[] = [];
  const h = harness(fork(['sip:bob@192.0.2.21']), {
    onReply: (_r, res) => { applied.push(res.reject(503, 'Media Authorization Failed')); },
  });
  await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  const [out] = h.tx.method('INVITE');
  await h.proxy.onResponse(out.tx, answer(out.request, 183, { toTag: 'b1' }), 5);
  expect(applied).toEqual([true]);
  expect(h.tx.statuses('s')).toEqual([503]);
  expect(h.tx.responses[0].response.reason).toBe('Media Authorization Failed');
  const [cancel] = h.tx.method('CANCEL');
  expect(cancel.request.headers.getAll('Via')).toEqual([out.request.headers.get('Via')]);
  applied = [];
  await h.proxy.onResponse(out.tx, answer(out.request, 487, { toTag: 'b1' }), 10);
  expect(applied).toEqual([false]); // a final cannot be rejected
  expect(h.tx.statuses('s')).toEqual([503]);
});

test('responses of one context are processed in arrival order even when onReply is slow', async () => {
  const h = harness(fork(['sip:bob@192.0.2.21']), {
    onReply: (_r, res) => new Promise<void>((ok) => setTimeout(ok, res.status === 180 ? 20 : 0)),
  });
  await h.proxy.onRequest('s', invite(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  const [out] = h.tx.method('INVITE');
  const a = h.proxy.onResponse(out.tx, answer(out.request, 180, { toTag: 'b1' }), 5);
  const b = h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b1' }), 6);
  await Promise.all([a, b]);
  expect(h.tx.statuses('s')).toEqual([180, 200]);
});

test('memory bound: finished calls release their contexts and the timer heap is compacted', async () => {
  const h = harness(fork(['sip:bob@192.0.2.21']));
  const N = 6000;
  for (let i = 0; i < N; i++) {
    await h.proxy.onRequest(`s${i}`, invite(`m${i}`), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, i);
    const out = h.tx.sent[h.tx.sent.length - 1];
    await h.proxy.onResponse(out.tx, answer(out.request, 200, { toTag: 'b' }), i);
  }
  // Answered on their only branch: nothing lingers, and each context's Timer C entry was emptied.
  expect(h.proxy.contextCount).toBe(0);
  await h.proxy.advance(N + 40_000); // long before Timer C (180 s)
  expect(h.proxy.contextCount).toBe(0);
  expect(h.proxy.queuedTimers).toBeLessThan(N / 2);
});
