// RFC 3263 §4.2 needs to know whether the URI named a port: the next hop carries it as `srv`; and
// §4.1 whether a SIP URI named a transport: with neither, `naptr` (NAPTR chooses the transport).
import { hopFromUri } from '../../../node/proxy/index.js';

describe('next hop: SRV applies only to a host name without an explicit port', () => {
  test.each([
    ['sip:bob@example.test', { host: 'example.test', port: 5060, transport: 'UDP', srv: true, naptr: true }],
    ['sip:proxy.example.net;lr;transport=tcp', { host: 'proxy.example.net', port: 5060, transport: 'TCP', srv: true }],
    ['sips:bob@example.test', { host: 'example.test', port: 5061, transport: 'TLS', srv: true }],
    ['sip:bob@example.test:5070', { host: 'example.test', port: 5070, transport: 'UDP' }],
    ['sip:bob@example.test:5060', { host: 'example.test', port: 5060, transport: 'UDP' }],
    ['sip:bob@192.0.2.1', { host: '192.0.2.1', port: 5060, transport: 'UDP' }],
    ['sip:bob@[2001:db8::1]', { host: '[2001:db8::1]', port: 5060, transport: 'UDP' }],
    ['sip:bob@192.0.2.1;maddr=relay.example.test', { host: 'relay.example.test', port: 5060, transport: 'UDP', srv: true, naptr: true }],
    // SIPS's only NAPTR service is TLS, which this node does not send on: no NAPTR asked.
    ['sips:bob@example.test;lr', { host: 'example.test', port: 5061, transport: 'TLS', srv: true }],
    ['sip:bob@example.test;maddr=192.0.2.9', { host: '192.0.2.9', port: 5060, transport: 'UDP' }],
  ])('%s', (uri, expected) => {
    expect(hopFromUri(uri)).toEqual(expected);
  });
});
