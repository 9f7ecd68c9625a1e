/** The small pure parts of node/app: own-address matching, OPTIONS-for-us, hop/source mapping, the digest gate. */
import {
  advertisedByTransport,
  canReach,
  defaultScriptPath,
  destinationOfHop,
  digestGate,
  gatedHandlers,
  optionsForUs,
  ownAddressMatcher,
  sourceAddressOf,
} from '../../../node/app/index.js';
import type { AuthPort, HandlerSet, RequestHandler } from '../../../node/script/index.js';
import type { ScriptRequest } from '../../../node/proxy/index.js';
import { parseMessage, type SipRequest } from '../../../node/sip/index.js';
import type { ListenerInfo } from '../../../node/transport/index.js';

const udp: ListenerInfo = { transport: 'udp', host: '127.0.0.1', port: 5060, advertisedHost: 'sip.example.com', advertisedPort: 5060 };
const tcp: ListenerInfo = { transport: 'tcp', host: '0.0.0.0', port: 5070, advertisedHost: '203.0.113.7', advertisedPort: 5070 };

function request(method: string, uri: string, toTag = ''): SipRequest {
  const text =
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n` +
    `From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>${toTag}\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
  const m = parseMessage(Buffer.from(text));
  if (!m.isRequest) throw new Error('not a request');
  return m;
}

describe('ownAddressMatcher', () => {
  const isOwn = ownAddressMatcher([udp, tcp]);
  test('bound and advertised host:port are ours, case- and bracket-insensitively', () => {
    expect(isOwn('127.0.0.1', 5060)).toBe(true);
    expect(isOwn('SIP.example.com', 5060)).toBe(true);
    expect(isOwn('203.0.113.7', 5070)).toBe(true);
  });
  test('another port or host is not', () => {
    expect(isOwn('127.0.0.1', 5061)).toBe(false);
    expect(isOwn('10.0.0.1', 5060)).toBe(false);
  });
  test('a wildcard bind answers to loopback on its port', () => {
    expect(isOwn('127.0.0.1', 5070)).toBe(true);
    expect(isOwn('[::1]', 5070)).toBe(true);
  });
});

describe('optionsForUs (RFC 3261 §11.2)', () => {
  const isOwn = ownAddressMatcher([udp]);
  const none = () => false;
  test('OPTIONS to our address without a user, or to an unregistered user, is ours to answer', () => {
    expect(optionsForUs(request('OPTIONS', 'sip:127.0.0.1:5060'), isOwn, none)).toBe(true);
    expect(optionsForUs(request('OPTIONS', 'sip:nobody@127.0.0.1'), isOwn, none)).toBe(true);
  });
  test('OPTIONS to a registered user, to another host, or in a dialog is routed', () => {
    expect(optionsForUs(request('OPTIONS', 'sip:bob@127.0.0.1'), isOwn, () => true)).toBe(false);
    expect(optionsForUs(request('OPTIONS', 'sip:bob@198.51.100.1'), isOwn, none)).toBe(false);
    expect(optionsForUs(request('OPTIONS', 'sip:127.0.0.1', ';tag=x'), isOwn, none)).toBe(false);
  });
  test('other methods and tel: URIs are never answered here', () => {
    expect(optionsForUs(request('INVITE', 'sip:127.0.0.1'), isOwn, none)).toBe(false);
    expect(optionsForUs(request('OPTIONS', 'tel:+15551234'), isOwn, none)).toBe(false);
  });
});

describe('hop and source mapping', () => {
  test('a next hop leaves from our listener of its transport; IPv6 brackets are stripped', () => {
    const dest = destinationOfHop([udp, tcp]);
    expect(dest({ host: '[2001:db8::1]', port: 5080, transport: 'TCP' })).toEqual({
      transport: 'tcp', remote: { address: '2001:db8::1', port: 5080 }, listener: tcp, connectionId: null,
    });
    expect(dest({ host: '10.0.0.2', port: 5062, transport: 'udp' }).listener).toBe(udp);
  });
  test('an IPv6 next hop leaves from the IPv6 listener of its transport, an IPv4 one from the IPv4 listener', () => {
    const udp6: ListenerInfo = { transport: 'udp', host: '::1', port: 5060, advertisedHost: '::1', advertisedPort: 5060 };
    const tcp6: ListenerInfo = { transport: 'tcp', host: '::1', port: 5060, advertisedHost: '::1', advertisedPort: 5060 };
    const dest = destinationOfHop([udp, udp6, tcp, tcp6]);
    expect(dest({ host: '[::1]', port: 5080, transport: 'UDP' }).listener).toBe(udp6);
    expect(dest({ host: '::1', port: 5080, transport: 'TCP' }).listener).toBe(tcp6);
    expect(dest({ host: '10.0.0.2', port: 5080, transport: 'UDP' }).listener).toBe(udp);
    // A dual-stack wildcard serves IPv6 peers when there is no IPv6-bound listener.
    const any6: ListenerInfo = { transport: 'udp', host: '::', port: 5060, advertisedHost: '2001:db8::1', advertisedPort: 5060 };
    expect(destinationOfHop([any6])({ host: '2001:db8::7', port: 5060, transport: 'UDP' }).listener).toBe(any6);
  });
  test('canReach: a UDP hop of an address family no UDP listener can send to is refused up front', () => {
    const udp6: ListenerInfo = { transport: 'udp', host: '::1', port: 5060, advertisedHost: '::1', advertisedPort: 5060 };
    expect(canReach([udp, tcp], { host: '[2001:db8::5]', port: 5060, transport: 'UDP' })).toBe(false);
    expect(canReach([udp, tcp], { host: '192.0.2.5', port: 5060, transport: 'UDP' })).toBe(true);
    expect(canReach([udp, udp6], { host: '[2001:db8::5]', port: 5060, transport: 'UDP' })).toBe(true);
    expect(canReach([udp6], { host: '192.0.2.5', port: 5060, transport: 'UDP' })).toBe(false);
    expect(canReach([udp6], { host: 'sip.example.com', port: 5060, transport: 'UDP' })).toBe(true);
    const any: ListenerInfo = { transport: 'tcp', host: '::', port: 5060, advertisedHost: '2001:db8::1', advertisedPort: 5060 };
    expect(canReach([any], { host: '192.0.2.5', port: 5060, transport: 'TCP' })).toBe(true);
    expect(canReach([tcp], { host: '2001:db8::5', port: 5060, transport: 'TCP' })).toBe(true); // outbound connects are any family
  });
  test('advertised addresses per transport and per bound address family', () => {
    const udp6: ListenerInfo = { transport: 'udp', host: '::1', port: 5062, advertisedHost: '::1', advertisedPort: 5062 };
    const map = advertisedByTransport([udp, udp6, tcp]);
    expect(map.get('UDP')).toEqual({ host: 'sip.example.com', port: 5060 });
    expect(map.get('UDP/IPv4')).toEqual({ host: 'sip.example.com', port: 5060 });
    expect(map.get('UDP/IPv6')).toEqual({ host: '::1', port: 5062 });
    expect(map.get('TCP/IPv4')).toEqual({ host: '203.0.113.7', port: 5070 });
    expect(map.has('TCP/IPv6')).toBe(false);
  });
  test('one shared destination per next hop (transactions keep it for 64·T1)', () => {
    const dest = destinationOfHop([udp, tcp]);
    const a = dest({ host: '10.0.0.2', port: 5062, transport: 'UDP' });
    expect(dest({ host: '10.0.0.2', port: 5062, transport: 'udp' })).toBe(a);
    expect(dest({ host: '10.0.0.2', port: 5063, transport: 'UDP' })).not.toBe(a);
    expect(dest({ host: '10.0.0.2', port: 5062, transport: 'TCP' }).transport).toBe('tcp');
  });
  test('the proxy sees the source with its connection id and local listener', () => {
    expect(sourceAddressOf({ transport: 'tcp', remote: { address: '10.0.0.9', port: 40000 }, listener: tcp, connectionId: 7 })).toEqual({
      address: '10.0.0.9', port: 40000, transport: 'tcp', connectionId: '7', localAddress: '0.0.0.0:5070',
    });
  });
});

describe('digest gate in front of the script', () => {
  function scriptRequest(method: string, inDialog = false, ruriIsLocal = false): ScriptRequest & { replies: number[] } {
    const replies: number[] = [];
    const r = { method, inDialog, ruriIsLocal, replies, decided: false, authUser: undefined } as unknown as ScriptRequest & { replies: number[] };
    return r;
  }
  const challenged: string[] = [];
  const auth: AuthPort = {
    requireDigest: (r) => {
      challenged.push(r.method);
      return false;
    },
  };
  const gate = digestGate(auth);

  test('initial requests are challenged; ACK, CANCEL, in-dialog and keepalive OPTIONS are not', async () => {
    challenged.length = 0;
    for (const r of [scriptRequest('REGISTER'), scriptRequest('INVITE'), scriptRequest('ACK'), scriptRequest('CANCEL'),
      scriptRequest('BYE', true), scriptRequest('OPTIONS', false, true), scriptRequest('MESSAGE')]) await gate(r);
    expect(challenged).toEqual(['REGISTER', 'INVITE', 'MESSAGE']);
  });

  test('gatedHandlers puts the gate first and rebuilds only when the script handler set changes', () => {
    const h1: RequestHandler = () => undefined;
    let set: HandlerSet = { onRequest: [h1], onReply: [], onFailure: [], onCancel: [], onRegistrarChange: [] };
    const get = gatedHandlers(gate, () => set);
    const a = get();
    expect(a.onRequest).toEqual([gate, h1]);
    expect(get()).toBe(a);
    const h2: RequestHandler = () => undefined;
    set = { ...set, onRequest: [h2] };
    expect(get().onRequest).toEqual([gate, h2]);
    expect(gatedHandlers(null, () => set)()).toBe(set);
  });
});

test('the default script is found from node/app (scripts/default.ts in the sources)', () => {
  expect(defaultScriptPath()).toMatch(/scripts\/default\.(ts|js)$/);
});
