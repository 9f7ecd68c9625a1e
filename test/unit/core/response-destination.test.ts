// RFC 3261 §18.2.2 / RFC 3581 §4: where the node sends a response, from the top Via and the source.
import { responseDestination, type ViaRouting } from '../../../node/core/index.js';
import type { MessageSource } from '../../../node/transport/index.js';

const listener = { transport: 'udp' as const, host: '::1', port: 5060, advertisedHost: '::1', advertisedPort: 5060 };
const udp = (address: string, port: number): MessageSource => ({ transport: 'udp', remote: { address, port }, listener, connectionId: null });
const via = (host: string, port: number | undefined, params: Record<string, string | null>): ViaRouting => ({ host, port, params: new Map(Object.entries(params)) });

describe('responseDestination', () => {
  it('answers a UDP request without rport to received and the sent-by port', () => {
    expect(responseDestination(via('pc.example.com', 5070, { received: '192.0.2.4' }), udp('192.0.2.4', 40000))).toEqual({ kind: 'endpoint', endpoint: { address: '192.0.2.4', port: 5070 } });
  });

  it('answers with rport to the source address and port', () => {
    expect(responseDestination(via('10.0.0.1', 5060, { rport: '40000', received: '192.0.2.4' }), udp('192.0.2.4', 40000))).toEqual({ kind: 'endpoint', endpoint: { address: '192.0.2.4', port: 40000 } });
  });

  it('strips the brackets of an IPv6 sent-by, of a bracketed received and of a bracketed maddr', () => {
    expect(responseDestination(via('[2001:db8::9]', 5062, {}), udp('2001:db8::9', 5062))).toEqual({ kind: 'endpoint', endpoint: { address: '2001:db8::9', port: 5062 } });
    expect(responseDestination(via('[2001:db8::9]', 5062, { received: '[2001:db8::7]' }), udp('2001:db8::7', 5062))).toEqual({ kind: 'endpoint', endpoint: { address: '2001:db8::7', port: 5062 } });
    expect(responseDestination(via('[2001:db8::9]', 5062, { maddr: '[ff02::1]' }), udp('2001:db8::9', 5062))).toEqual({ kind: 'endpoint', endpoint: { address: 'ff02::1', port: 5062 } });
  });

  it('answers a stream request on its connection, falling back to received and the sent-by port', () => {
    const tcp: MessageSource = { transport: 'tcp', remote: { address: '::1', port: 40001 }, listener: { ...listener, transport: 'tcp' }, connectionId: 7 };
    expect(responseDestination(via('[::1]', undefined, { received: '[::1]' }), tcp)).toEqual({ kind: 'connection', connectionId: 7, fallback: { address: '::1', port: 5060 } });
  });
});
