// RFC 3261 §9.1 through the proxy on the real TransactionManager: a ringing branch we CANCELled
// whose callee never sends the 487 (all of them lost, or it died ringing). Found by the packet-loss
// suite: the INVITE client transaction gave up 64*T1 after the CANCEL without telling the proxy,
// so the branch stayed pending forever and the caller never got a final response. Now the branch
// ends as cancelled: 487 to a caller who CANCELled, 408 when our own Timer C did (§16.8).
import type { SipRequest, SipResponse } from '../../../node/sip/index.js';
import { viewOf } from '../../../node/transaction/index.js';
import { realManagerProxy, settle, wire, type RealManagerProxy } from './real-manager-proxy.js';

const CALLER = '192.0.2.10:5060';
const CALLEE = '192.0.2.21:5062';
const T1 = 500;
const common = ['From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: cu-1', 'Max-Forwards: 70'];
const uacVia = 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuacCU';

async function at(h: RealManagerProxy, now: number, deliver?: () => void): Promise<void> {
  h.clock.now = now;
  deliver?.();
  h.manager.advance(now);
  await h.proxy.advance(now);
  await settle();
}

const upstream = (h: RealManagerProxy): number[] =>
  h.out.filter((o) => !o.msg.isRequest && o.to === CALLER).map((o) => (o.msg as SipResponse).status);

/** INVITE forwarded, 180 back from the callee at t = 100. */
async function ringing(): Promise<{ h: RealManagerProxy; invite: SipRequest }> {
  const h = realManagerProxy((r) => r.fork([`sip:bob@${CALLEE}`]));
  await at(h, 0, () => h.manager.onInbound(viewOf(wire(['INVITE sip:bob@example.com SIP/2.0', uacVia, ...common,
    'CSeq: 1 INVITE', 'Content-Length: 0'])), CALLER, 0));
  const invite = h.out.find((o) => o.msg.isRequest && o.msg.method === 'INVITE')!.msg as SipRequest;
  await at(h, 100, () => h.manager.onInbound(viewOf(wire(['SIP/2.0 180 Ringing', ...invite.headers.getAll('Via').map((v) => `Via: ${v}`),
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b9', 'Call-ID: cu-1', 'CSeq: 1 INVITE', 'Content-Length: 0'])), CALLEE, 100));
  return { h, invite };
}

const cancelsSent = (h: RealManagerProxy): number => h.out.filter((o) => o.msg.isRequest && o.msg.method === 'CANCEL' && o.to === CALLEE).length;

test('the caller CANCELs, the callee answers the CANCEL but its 487 never comes: 487 to the caller 64*T1 later', async () => {
  const { h } = await ringing();
  await at(h, 200, () => h.manager.onInbound(viewOf(wire(['CANCEL sip:bob@example.com SIP/2.0', uacVia, ...common,
    'CSeq: 1 CANCEL', 'Content-Length: 0'])), CALLER, 200));
  expect(cancelsSent(h)).toBe(1);
  expect(upstream(h)).toEqual([180, 200]);
  await at(h, 200 + 64 * T1 - 1);
  expect(upstream(h)).toEqual([180, 200]);
  await at(h, 200 + 64 * T1);
  expect(upstream(h)).toEqual([180, 200, 487]);
  expect(h.proxy.contextCount).toBe(0);
  expect(h.errors).toEqual([]);
});

test('our own Timer C cancelled the ringing branch and no 487 came: the caller gets 408 (§16.8)', async () => {
  const { h } = await ringing();
  const timerC = 100 + 180_000;
  await at(h, timerC);
  expect(cancelsSent(h)).toBe(1);
  await at(h, timerC + 64 * T1);
  expect(upstream(h)).toEqual([180, 408]);
  expect(h.proxy.contextCount).toBe(0);
  expect(h.errors).toEqual([]);
});

test('a 487 inside the wait still ends the call the usual way: one 487 upstream, nothing more later', async () => {
  const { h, invite } = await ringing();
  await at(h, 200, () => h.manager.onInbound(viewOf(wire(['CANCEL sip:bob@example.com SIP/2.0', uacVia, ...common,
    'CSeq: 1 CANCEL', 'Content-Length: 0'])), CALLER, 200));
  await at(h, 5000, () => h.manager.onInbound(viewOf(wire(['SIP/2.0 487 Request Terminated', ...invite.headers.getAll('Via').map((v) => `Via: ${v}`),
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b9', 'Call-ID: cu-1', 'CSeq: 1 INVITE', 'Content-Length: 0'])), CALLEE, 5000));
  await at(h, 200 + 64 * T1 + 1);
  await at(h, 120_000);
  // the 200 answers the CANCEL; the 487s are one final and its Timer G retransmissions
  expect(new Set(upstream(h))).toEqual(new Set([180, 200, 487]));
});
