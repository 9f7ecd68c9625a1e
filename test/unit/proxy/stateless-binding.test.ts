// The context-free paths (§16.10 unmatched CANCEL, §16.11 stray responses) on the real transaction
// manager and real node/sip messages; only the transport is a recording fake.
import type { SipMessage, SipRequest, SipResponse } from '../../../node/sip/index.js';
import { viewOf } from '../../../node/transaction/index.js';
import { realManagerProxy, settle, wire } from './real-manager-proxy.js';

const node = () => realManagerProxy();

const dialog = ['From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: sb-1'];
const UAC_VIA = 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuacB;rport=5070;received=192.0.2.10';

test('unmatched CANCEL: forwarded once with our Via, UAC retransmission absorbed, the next hop\'s 200 answers the UAC', async () => {
  const n = node();
  const cancel = (): SipMessage => wire(['CANCEL sip:bob@192.0.2.21:5062 SIP/2.0', UAC_VIA, 'Max-Forwards: 10', ...dialog,
    'CSeq: 1 CANCEL', 'Content-Length: 0']);
  n.manager.onInbound(viewOf(cancel()), '192.0.2.10:5070', 0);
  await settle();
  n.manager.onInbound(viewOf(cancel()), '192.0.2.10:5070', 500); // the UAC's Timer E retransmission
  await settle();
  const sent = n.out.filter((o) => o.msg.isRequest && o.msg.method === 'CANCEL');
  expect(sent.map((o) => o.to)).toEqual(['192.0.2.21:5062']);
  const fwd = sent[0].msg as SipRequest;
  expect(fwd.headers.get('Max-Forwards')).toBe('9');
  const vias = fwd.headers.getAll('Via');
  expect(vias[0]).toMatch(/^SIP\/2\.0\/UDP 10\.0\.0\.1:5060;branch=z9hG4bK/);
  expect(vias[1]).toBe(UAC_VIA.slice('Via: '.length));
  expect(n.out.filter((o) => !o.msg.isRequest)).toHaveLength(0); // no 200 of ours

  // Our hop retransmits on its own Timer E (the UAC's retransmissions never reach it).
  n.manager.advance(500);
  expect(n.out.filter((o) => o.msg.isRequest && o.msg.method === 'CANCEL')).toHaveLength(2);

  n.manager.onInbound(viewOf(wire(['SIP/2.0 200 OK', ...vias.map((v) => `Via: ${v}`), dialog[0], `${dialog[1]};tag=b1`, dialog[2],
    'CSeq: 1 CANCEL', 'Content-Length: 0'])), '192.0.2.21:5062', 600);
  await settle();
  const up = n.out.filter((o) => !o.msg.isRequest);
  expect(up.map((o) => [o.to, (o.msg as SipResponse).status])).toEqual([['192.0.2.10:5070', 200]]);
  expect((up[0].msg as SipResponse).headers.getAll('Via')).toEqual([UAC_VIA.slice('Via: '.length)]);
  expect(n.proxy.unmatchedCancelCount).toBe(0);
});

test('stray 2xx with our Via on top goes to the next Via\'s received/rport; one that is not ours goes nowhere', async () => {
  const n = node();
  const ok = (top: string): SipMessage => wire(['SIP/2.0 200 OK', `Via: ${top}`, UAC_VIA, dialog[0], `${dialog[1]};tag=b1`, dialog[2],
    'CSeq: 1 INVITE', 'Contact: <sip:bob@192.0.2.21:5062>', 'Content-Length: 0']);
  n.manager.onInbound(viewOf(ok('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0123456789.ended')), '192.0.2.21:5062', 0);
  n.manager.onInbound(viewOf(ok('SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKelsewhere')), '192.0.2.21:5062', 0);
  await settle();
  expect(n.stateless.map((s) => s.to)).toEqual(['192.0.2.10:5070']);
  expect(n.stateless[0].msg.headers.getAll('Via')).toEqual([UAC_VIA.slice('Via: '.length)]);
  expect(n.proxy.statelessCounts).toMatchObject({ response_forwarded: 1, response_dropped: 1 });
});
