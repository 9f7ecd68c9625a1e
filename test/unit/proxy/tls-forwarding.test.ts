/**
 * SIP over TLS in the proxy's pure forwarding: Via and Record-Route name our TLS listener for a TLS
 * side, a SIPS Request-URI or Route makes the Record-Route a SIPS URI (RFC 3261 §16.6 item 4), and a
 * contact registered over a stream connection is reached over it first (node/script's lookup).
 */
import { forwardRequest, hopFromUri, type AdvertisedAddress } from '../../../node/proxy/index.js';
import { overRegisteredConnection } from '../../../node/script/node-ports.js';
import { factory, request } from './fake-sip.js';

const ours: Record<string, AdvertisedAddress> = {
  UDP: { host: '192.0.2.1', port: 5060 },
  TCP: { host: '192.0.2.1', port: 5060 },
  TLS: { host: '192.0.2.1', port: 5061 },
};
const byTransport = (transport: string): AdvertisedAddress => ours[transport.toUpperCase()] ?? ours.UDP;
const base = ['Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: c7', 'CSeq: 1 INVITE'];
const spec = { recordRoute: true, inboundHost: '198.51.100.7', advertised: ours.UDP, advertisedFor: byTransport, loopHash: 'abcdef0123', branchSuffix: 's1' };

describe('forwarding over TLS', () => {
  test('TLS in, TLS out: one Record-Route with transport=tls on port 5061, Via SIP/2.0/TLS', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/TLS 198.51.100.7:40001;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundTransport: 'TLS', targetUri: 'sip:bob@203.0.113.5:5061;transport=tls' }, factory.copy)!;
    expect(fwd.nextHop).toMatchObject({ host: '203.0.113.5', port: 5061, transport: 'TLS' });
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:192.0.2.1:5061;transport=tls;lr>']);
    expect(fwd.request.headers.get('Via')).toMatch(/^SIP\/2\.0\/TLS 192\.0\.2\.1:5061;branch=z9hG4bK/);
  });

  test('UDP in, TLS out: two Record-Routes, the TLS one on top (RFC 5658)', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundTransport: 'UDP', targetUri: 'sip:bob@203.0.113.5;transport=tls' }, factory.copy)!;
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:192.0.2.1:5061;transport=tls;lr>', '<sip:192.0.2.1:5060;lr>']);
  });

  test('a SIPS Request-URI goes over TLS to 5061 and makes the Record-Route a SIPS URI (§16.6 item 4)', () => {
    const inv = request('INVITE sips:bob@example.com', 'Via: SIP/2.0/TLS 198.51.100.7:40001;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundTransport: 'TLS', targetUri: 'sips:bob@203.0.113.5' }, factory.copy)!;
    expect(fwd.nextHop).toMatchObject({ host: '203.0.113.5', port: 5061, transport: 'TLS' });
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sips:192.0.2.1:5061;lr>']);
  });

  test('a SIPS topmost Route also asks for a SIPS Record-Route, naming our TLS listener', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/TLS 198.51.100.7:40001;branch=z9hG4bKuac', 'Route: <sips:edge.example.com;lr>', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundTransport: 'TLS', targetUri: 'sip:bob@example.com' }, factory.copy)!;
    expect(fwd.nextHop).toMatchObject({ host: 'edge.example.com', transport: 'TLS', srv: true });
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sips:192.0.2.1:5061;lr>']);
  });
});

describe('contacts registered over a stream connection', () => {
  const flow = (transport: string, connectionId: string | null) => ({ transport, address: '198.51.100.7', port: 40001, connectionId, localAddress: '192.0.2.1:5061' });

  test('a TLS contact is reached over its registration connection, its own address the fallback', () => {
    const hop = overRegisteredConnection({ uri: 'sip:alice@10.0.0.5:5061;transport=tls', route: [], flow: flow('tls', '42') });
    expect(hop).toEqual({ ...hopFromUri('sip:alice@10.0.0.5:5061;transport=tls'), connectionId: '42' });
  });

  test('with a Path the fallback is the edge proxy, not the contact', () => {
    const hop = overRegisteredConnection({ uri: 'sip:alice@10.0.0.5;transport=tcp', route: ['<sip:edge.example.com:5060;transport=tcp;lr>'], flow: flow('tcp', '7') });
    expect(hop).toMatchObject({ host: 'edge.example.com', port: 5060, transport: 'TCP', connectionId: '7' });
  });

  test('UDP registrations, and contacts asking for another transport than they registered over, route as the contact says', () => {
    expect(overRegisteredConnection({ uri: 'sip:alice@10.0.0.5', route: [], flow: flow('udp', null) })).toBeUndefined();
    expect(overRegisteredConnection({ uri: 'sip:alice@10.0.0.5', route: [], flow: flow('tcp', '9') })).toBeUndefined();
    expect(overRegisteredConnection({ uri: 'sip:alice@10.0.0.5;transport=tls', route: [], flow: null })).toBeUndefined();
  });
});
