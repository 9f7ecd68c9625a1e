// The proxy on the real transaction manager and real node/sip messages: only the transport is fake.
import { serialize, type SipMessage, type SipRequest } from '../../../node/sip/index.js';
import { viewOf } from '../../../node/transaction/index.js';
import { realManagerProxy, settle, wire } from './real-manager-proxy.js';

test('INVITE → 180 → CANCEL → 487 through TransactionManager: CANCEL on the INVITE branch, 487 upstream, ACK for 487 downstream', async () => {
  const { manager, out, clock } = realManagerProxy((r) => r.fork(['sip:bob@192.0.2.21:5062']));
  let now = clock.now;
  const common = ['From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: tb-1', 'Max-Forwards: 70'];
  const uacVia = 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuacA';
  manager.onInbound(viewOf(wire(['INVITE sip:bob@example.com SIP/2.0', uacVia, ...common, 'CSeq: 1 INVITE', 'Content-Length: 0'])), '192.0.2.10:5060', now);
  await settle();
  const invite = out.find((o) => o.msg.isRequest && o.msg.method === 'INVITE')!;
  expect(invite.to).toBe('192.0.2.21:5062');
  const fwdVia = (invite.msg as SipRequest).headers.get('Via')!;

  // 180 from the callee.
  now = clock.now = 100;
  const resp = (status: number, reason: string, cseq: string): SipMessage => wire([`SIP/2.0 ${status} ${reason}`,
    ...(invite.msg as SipRequest).headers.getAll('Via').map((v) => `Via: ${v}`),
    'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b9', 'Call-ID: tb-1', `CSeq: ${cseq}`, 'Content-Length: 0']);
  manager.onInbound(viewOf(resp(180, 'Ringing', '1 INVITE')), '192.0.2.21:5062', now);
  await settle();
  expect(out.filter((o) => !o.msg.isRequest && o.to === '192.0.2.10:5060').map((o) => (o.msg as { status: number }).status)).toContain(180);

  // The caller CANCELs.
  now = clock.now = 200;
  manager.onInbound(viewOf(wire(['CANCEL sip:bob@example.com SIP/2.0', uacVia, ...common, 'CSeq: 1 CANCEL', 'Content-Length: 0'])), '192.0.2.10:5060', now);
  await settle();
  const cancel = out.find((o) => o.msg.isRequest && o.msg.method === 'CANCEL')!;
  expect(cancel.to).toBe('192.0.2.21:5062');
  expect((cancel.msg as SipRequest).headers.getAll('Via')).toEqual([fwdVia]);
  expect(serialize(cancel.msg).toString()).toMatch(/\r\nCSeq: 1 CANCEL\r\n/);

  // The callee answers the CANCEL and the INVITE with 487.
  now = clock.now = 300;
  const cancelOk = wire(['SIP/2.0 200 OK', `Via: ${fwdVia}`, 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>;tag=b9',
    'Call-ID: tb-1', 'CSeq: 1 CANCEL', 'Content-Length: 0']);
  manager.onInbound(viewOf(cancelOk), '192.0.2.21:5062', now);
  manager.onInbound(viewOf(resp(487, 'Request Terminated', '1 INVITE')), '192.0.2.21:5062', now);
  await settle();
  const upstream = out.filter((o) => !o.msg.isRequest && o.to === '192.0.2.10:5060').map((o) => (o.msg as { status: number }).status);
  expect(upstream).toEqual(expect.arrayContaining([180, 200, 487]));
  expect(upstream.filter((s) => s === 487)).toHaveLength(1);
  // The ICT acknowledged the 487 hop-by-hop with the INVITE's branch.
  const ack = out.find((o) => o.msg.isRequest && o.msg.method === 'ACK')!;
  expect((ack.msg as SipRequest).headers.get('Via')).toBe(fwdVia);
});
