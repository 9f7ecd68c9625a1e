/**
 * RFC 3261 §25.1 / RFC 5118: a proxy with IPv4 and IPv6 listeners names the listener facing each
 * side of a forwarded request, IPv6 literals written as IPv6references, and records two routes
 * when caller and callee are of different families (RFC 5658 §4, as for a transport change).
 */
import { forwardRequest, recordRouteValue, type AdvertisedAddress } from '../../../node/proxy/index.js';
import { factory, request } from './fake-sip.js';

const v4 = { host: '192.0.2.1', port: 5060 };
const v6 = { host: '2001:db8::1', port: 5060 };
const byFamily = (_transport: string, peer?: string): AdvertisedAddress => (peer !== undefined && peer.includes(':') ? v6 : v4);
const base = ['Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: c6', 'CSeq: 1 INVITE'];
const spec = { recordRoute: true, inboundTransport: 'UDP', advertised: v4, advertisedFor: byFamily, loopHash: 'abcdef0123', branchSuffix: 's1' };

describe('IPv6 addressing of a forwarded request', () => {
  test('IPv6 caller to IPv6 callee: one bracketed Record-Route, bracketed Via sent-by', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundHost: '2001:db8::9', targetUri: 'sip:bob@[2001:db8::20]:5062' }, factory.copy)!;
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:[2001:db8::1]:5060;lr>']);
    expect(fwd.request.headers.get('Via')).toBe('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKabcdef0123.s1');
    expect(fwd.nextHop).toMatchObject({ host: '[2001:db8::20]', port: 5062 });
  });

  test('IPv4 caller to IPv6 callee: the IPv6-facing route on top (callee side), the IPv4 one below (caller side)', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundHost: '192.0.2.9', targetUri: 'sip:bob@[2001:db8::20]:5062' }, factory.copy)!;
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:[2001:db8::1]:5060;lr>', '<sip:192.0.2.1:5060;lr>']);
    expect(fwd.request.headers.get('Via')).toBe('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKabcdef0123.s1');
  });

  test('IPv6 caller to IPv4 callee over TCP: both routes, each with its own transport and family', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundHost: '2001:db8::9', targetUri: 'sip:bob@192.0.2.20:5062;transport=tcp' }, factory.copy)!;
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:192.0.2.1:5060;transport=tcp;lr>', '<sip:[2001:db8::1]:5060;lr>']);
    expect(fwd.request.headers.get('Via')).toBe('SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKabcdef0123.s1');
  });

  test('recordRouteValue brackets an IPv6 advertised host once', () => {
    expect(recordRouteValue({ host: '::1', port: 5060 }, 'TCP')).toBe('<sip:[::1]:5060;transport=tcp;lr>');
    expect(recordRouteValue({ host: '[::1]', port: 5060 }, 'UDP')).toBe('<sip:[::1]:5060;lr>');
  });
});
