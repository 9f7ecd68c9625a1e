// The proxy on real node/sip messages: parsed from bytes, forwarded, serialized back to bytes.
import { DialogTracker } from '../../../node/dialog/index.js';
import {
  StatefulProxy, sipProxyFactory, type NextHop, type ProxyRequestMessage, type ProxyResponseMessage, type ProxyTransactionPort,
} from '../../../node/proxy/index.js';
import { parseMessage, serialize, SipRequest, SipResponse } from '../../../node/sip/index.js';

const INVITE = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@example.com>;tag=a1',
  'To: <sip:bob@example.com>',
  'Call-ID: real-1@192.0.2.10',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@192.0.2.10>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\r\n',
].join('\r\n');

class Port implements ProxyTransactionPort<string, number> {
  sent: Array<{ tx: number; request: ProxyRequestMessage; dest: NextHop }> = [];
  responses: ProxyResponseMessage[] = [];
  sendRequest(request: ProxyRequestMessage, dest: NextHop): number { this.sent.push({ tx: this.sent.length + 1, request, dest }); return this.sent.length; }
  respond(_s: string, response: ProxyResponseMessage): void { this.responses.push(response); }
  sendStateless(): void { /* not used here */ }
  cancelTarget(): string | undefined { return 's'; }
}

test('a parsed INVITE is forwarded with Via, Record-Route and body intact, the 180/487 round trip works on bytes', async () => {
  const port = new Port();
  const proxy = new StatefulProxy<string, number>({
    transactions: port, factory: sipProxyFactory, hooks: { onRequest: (r) => r.fork(['sip:bob@192.0.2.21:5062']) },
    isOwnAddress: (h, p) => h === '10.0.0.1' && p === 5060, advertised: { host: '10.0.0.1', port: 5060 },
    recordRoute: true, inviteTimeoutMs: 180_000, dialogs: new DialogTracker({ idleTimeoutMs: 1000 }),
  });
  const inv = parseMessage(Buffer.from(INVITE.replace('Content-Length: 4', 'Content-Length: 5'))) as SipRequest;
  await proxy.onRequest('s', inv, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 0);
  const out = port.sent[0].request as SipRequest;
  const wire = serialize(out).toString();
  expect(wire.startsWith('INVITE sip:bob@192.0.2.21:5062 SIP/2.0\r\n')).toBe(true);
  expect(out.headers.getAll('Via')[0]).toMatch(/^SIP\/2\.0\/UDP 10\.0\.0\.1:5060;branch=z9hG4bK[0-9a-f]{10}\./);
  expect(out.headers.get('Record-Route')).toBe('<sip:10.0.0.1:5060;lr>');
  expect(out.headers.get('Max-Forwards')).toBe('69');
  expect(out.body.toString()).toBe('v=0\r\n');
  expect(inv.uri).toBe('sip:bob@example.com');

  // 180 from the callee, as bytes: our Via is removed before it goes upstream.
  const ringing = new SipResponse(180, 'Ringing', 'SIP/2.0', out.headers.clone());
  ringing.headers.remove('Record-Route');
  const parsed180 = parseMessage(serialize(ringing)) as SipResponse;
  await proxy.onResponse(1, parsed180, 10);
  expect(port.responses.map((r) => r.status)).toEqual([180]);
  expect((port.responses[0] as SipResponse).headers.getAll('Via')).toEqual(['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1']);

  // The caller cancels: the CANCEL downstream carries exactly the forwarded INVITE's Via.
  const cancel = new SipRequest('CANCEL', inv.uri, 'SIP/2.0', inv.headers.clone());
  await proxy.onRequest('c', cancel, { address: '192.0.2.10', port: 5060, transport: 'UDP' }, 20);
  const down = port.sent[1].request as SipRequest;
  expect(down.method).toBe('CANCEL');
  expect(down.headers.getAll('Via')).toEqual([out.headers.getAll('Via')[0]]);
  expect(serialize(down).toString()).toContain('CSeq: 1 CANCEL\r\n');
  expect(port.responses.map((r) => r.status)).toEqual([180, 200]);
});
