// A second server transaction for an upstream transaction we already forwarded must never hit the
// transaction layer's "client transaction already exists" (logged at error level, 500 upstream):
// - RFC 3261 §17.2.1: the INVITE server transaction of a non-2xx ends Timer I (T4) after the ACK,
//   the client transaction below it Timer D (32 s) after the 486; a late INVITE retransmission in
//   between opens a new server transaction for what §17.2.3 calls the same transaction: absorbed.
// - A request whose derived downstream branch is still in use for another reason (RFC 2543: no
//   branch, so the §17.2.3 key is not ours to compute) gets a distinct branch, same loop hash.
// Real transaction manager and node/sip messages; only the transport is a recording fake.
import { StatefulProxy, loopHashOfBranch } from '../../../node/proxy/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../node/sip/index.js';
import { viewOf } from '../../../node/transaction/index.js';
import { FakeTransactions, factory, request } from './fake-sip.js';
import { realManagerProxy, settle, wire, type Addr } from './real-manager-proxy.js';

const UAC = '192.0.2.10:5060';
const CALLEE = '192.0.2.21:5062';

const node = () => realManagerProxy();

const dialog = ['From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: late-1', 'CSeq: 1 INVITE'];

/** INVITE → 486 from the callee → 486 upstream → the UAC's ACK → past Timer I: the server transaction is gone. */
async function rejectedCall(via: string): Promise<ReturnType<typeof node> & { invite: () => SipMessage }> {
  const n = node();
  const invite = (): SipMessage => wire([`INVITE sip:bob@${CALLEE} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', ...dialog,
    'Contact: <sip:alice@192.0.2.10>', 'Content-Length: 0']);
  n.manager.onInbound(viewOf(invite()), UAC, 0);
  await settle();
  const fwd = invites(n)[0];
  n.manager.onInbound(viewOf(wire(['SIP/2.0 486 Busy Here', ...fwd.headers.getAll('Via').map((v) => `Via: ${v}`), dialog[0],
    `${dialog[1]};tag=b1`, dialog[2], dialog[3], 'Content-Length: 0'])), CALLEE, 100);
  await settle();
  expect(finals(n)).toEqual([486]);
  n.manager.onInbound(viewOf(wire([`ACK sip:bob@${CALLEE} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', dialog[0],
    `${dialog[1]};tag=b1`, dialog[2], 'CSeq: 1 ACK', 'Content-Length: 0'])), UAC, 200);
  n.manager.advance(5300); // Timer I (T4, 5 s) ends the INVITE server transaction; Timer D (32 s) keeps the client one
  return { ...n, invite };
}

function invites(n: { out: Array<{ to: Addr; msg: SipMessage }> }): SipRequest[] {
  return n.out.filter((o) => o.to === CALLEE && o.msg.isRequest && (o.msg as SipRequest).method === 'INVITE').map((o) => o.msg as SipRequest);
}

function finals(n: { out: Array<{ to: Addr; msg: SipMessage }> }): number[] {
  return n.out.filter((o) => o.to === UAC && !o.msg.isRequest && (o.msg as SipResponse).status >= 200).map((o) => (o.msg as SipResponse).status);
}

function branchOf(req: SipRequest): string {
  return /;branch=([^;,\s]+)/.exec(req.headers.get('Via') ?? '')?.[1] ?? '';
}

test('a late INVITE retransmission (6.5 s after the ACK, Timer D still running) is absorbed: no 500, no second INVITE, no error', async () => {
  const n = await rejectedCall('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKlate-invite-1');
  n.manager.onInbound(viewOf(n.invite()), UAC, 6700);
  await settle();
  n.manager.advance(7000); // the new server transaction's own 100 Trying is all the UAC hears
  expect(invites(n)).toHaveLength(1);
  expect(finals(n)).toEqual([486]);
  expect(n.errors).toEqual([]);
  expect(n.proxy.statelessCounts).toMatchObject({ retransmission_absorbed: 1, branch_collision: 0 });

  // Timer D ends the client transaction: the proxy forgets it (nothing kept per finished call).
  n.manager.advance(32_200);
  expect(n.proxy.trackedClientCount).toBe(0);
});

test('RFC 2543 INVITE (no branch) retransmitted late: forwarded on a distinct branch with the same loop hash, never an exception', async () => {
  const n = await rejectedCall('SIP/2.0/UDP 192.0.2.10:5060');
  n.manager.onInbound(viewOf(n.invite()), UAC, 6700);
  await settle();
  const [first, second] = invites(n);
  expect(second).toBeDefined();
  expect(branchOf(second)).not.toBe(branchOf(first));
  // §16.3 item 4 / §16.6 item 8: the loop-detection part is still where loopHashOfBranch reads it.
  expect(loopHashOfBranch(branchOf(second))).toBe(loopHashOfBranch(branchOf(first)));
  expect(n.errors).toEqual([]);
  expect(finals(n)).toEqual([486]);
  expect(n.proxy.statelessCounts).toMatchObject({ branch_collision: 1 });
});

test('different upstream transactions whose derived branch is in use below us each get their own branch (pure core)', async () => {
  const tx = new FakeTransactions();
  const inUse = new Set<string>();
  // The transaction layer knows a client transaction the proxy core did not create (another TU's).
  const port = Object.assign(tx, { clientExists: (branch: string, method: string) => inUse.has(`${branch} ${method}`) });
  const proxy = new StatefulProxy<string, number>({
    transactions: port, factory, isOwnAddress: (h, p) => h === 'proxy.example.com' && p === 5060,
    advertised: { host: 'proxy.example.com', port: 5060 }, recordRoute: false, inviteTimeoutMs: 180_000,
    hooks: { onRequest: (r) => r.relay() },
  });
  const message = (): ReturnType<typeof request> => request('MESSAGE sip:bob@192.0.2.21:5062', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKm1',
    'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=1', 'To: <sip:bob@example.com>', 'Call-ID: m1', 'CSeq: 1 MESSAGE');
  await proxy.onRequest('s1', message(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  const first = /;branch=([^;,\s]+)/.exec(tx.sent[0].request.headers.get('Via') ?? '')?.[1] ?? '';
  proxy.onTerminated(tx.sent[0].tx);
  inUse.add(`${first} MESSAGE`);
  await proxy.onRequest('s2', message(), { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 10);
  const second = /;branch=([^;,\s]+)/.exec(tx.sent[1].request.headers.get('Via') ?? '')?.[1] ?? '';
  expect(second).not.toBe(first);
  expect(second.startsWith(`${first}-`)).toBe(true);
  expect(loopHashOfBranch(second)).toBe(loopHashOfBranch(first));
  expect(proxy.statelessCounts.branch_collision).toBe(1);
});

test('only a real retransmission is absorbed: the same branch on a different request (Call-ID, CSeq) is forwarded on its own branch', async () => {
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: (h, p) => h === 'proxy.example.com' && p === 5060,
    advertised: { host: 'proxy.example.com', port: 5060 }, recordRoute: false, inviteTimeoutMs: 180_000,
    hooks: { onRequest: (r) => r.relay() },
  });
  const from = { address: '192.0.2.10', port: 5060, transport: 'TCP' };
  const message = (callId: string, cseq: number): ReturnType<typeof request> => request('MESSAGE sip:bob@192.0.2.21:5062',
    'Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKreused', 'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=1',
    'To: <sip:bob@example.com>', `Call-ID: ${callId}`, `CSeq: ${cseq} MESSAGE`);
  // Over TCP the server transaction ends with its final (Timer J = 0), the UDP client one lingers (Timer K).
  await proxy.onRequest('s1', message('c1', 1), from, 0);
  await proxy.onRequest('s2', message('c1', 1), from, 10); // the same request again: a retransmission
  await proxy.onRequest('s3', message('c2', 1), from, 20); // a broken UAC reusing its branch
  await proxy.onRequest('s4', message('c1', 2), from, 30);
  const branches = tx.method('MESSAGE').map((s) => /;branch=([^;,\s]+)/.exec(s.request.headers.get('Via') ?? '')?.[1]);
  expect(branches).toHaveLength(3);
  expect(new Set(branches).size).toBe(3);
  expect(proxy.statelessCounts).toMatchObject({ retransmission_absorbed: 1 });
  // Once the transaction layer ends the client transaction, the same request is new again.
  proxy.onTerminated(tx.sent[0].tx);
  await proxy.onRequest('s5', message('c1', 1), from, 40);
  expect(tx.method('MESSAGE')).toHaveLength(4);
});
