// Addresses on a live node are node/transport's MessageSource (the transaction layer's address
// type in node/core's dispatcher): where a message came from, or where a request goes.
import type { NextHop, SourceAddress } from '../proxy/index.js';
import { isIP } from 'node:net';
import type { ListenerInfo, MessageSource, TransportKind } from '../transport/index.js';
import { stripBrackets } from '../util/index.js';

const KNOWN_TRANSPORTS: ReadonlyMap<string, TransportKind> = new Map([['udp', 'udp'], ['tcp', 'tcp'], ['tls', 'tls'], ['ws', 'ws'], ['wss', 'wss']]);

/**
 * Transports this node sends on; a next hop asking for another (sctp) is tried over UDP. TLS is
 * never swapped for a plaintext transport: without a TLS listener such a send fails (§26.2.2).
 */
export function transportOfHop(hop: NextHop): TransportKind {
  return KNOWN_TRANSPORTS.get(hop.transport.toLowerCase()) ?? 'udp';
}

/** Distinct next hops remembered by destinationOfHop before it starts over. */
const DESTINATIONS_KEPT = 1024;

/**
 * A resolved next hop as a send destination, leaving from our first listener of that transport.
 * One shared (read-only) destination per next hop: a client transaction keeps its destination for
 * up to 64·T1, and a proxy sends most requests to a few next hops.
 */
export function destinationOfHop(listeners: readonly ListenerInfo[]): (hop: NextHop) => MessageSource {
  const known = new Map<string, MessageSource>();
  return (hop) => {
    const transport = transportOfHop(hop);
    const address = stripBrackets(hop.host);
    const connectionId = hop.connectionId === undefined ? null : Number(hop.connectionId);
    const key = `${transport} ${address} ${hop.port}${hop.srv === true ? ` srv ${hop.srvName ?? ''}` : ''}${connectionId === null ? '' : ` conn ${connectionId}`}`;
    let dest = known.get(key);
    if (dest === undefined) {
      // The socket must be of the destination's address family: an IPv4 socket cannot send to
      // an IPv6 peer. A wildcard '::' listener is dual-stack and serves both.
      const v6 = address.includes(':');
      const listener = listeners.find((l) => l.transport === transport && l.host.includes(':') === v6)
        ?? listeners.find((l) => l.transport === transport && l.host === '::')
        ?? listeners.find((l) => l.transport === transport) ?? listeners[0];
      // RFC 3263 §4.2: a name without an explicit port is located by SRV (the transports resolve it).
      const remote = hop.srv !== true ? { address, port: hop.port }
        : hop.srvName !== undefined ? { address, port: hop.port, srv: true as const, srvName: hop.srvName }
        : { address, port: hop.port, srv: true as const };
      // A connection id is tried first; the dispatcher falls back to `remote` once it has closed.
      dest = { transport, remote, listener, connectionId: Number.isSafeInteger(connectionId) ? connectionId : null };
      if (known.size >= DESTINATIONS_KEPT) known.clear();
      known.set(key, dest);
    }
    return dest;
  };
}

/**
 * Whether a UDP listener can send to the hop's address family: an IPv4 socket cannot reach an
 * IPv6 peer nor an IPv6-bound one an IPv4 peer (a '::' wildcard is dual-stack). Such a datagram
 * is dropped by the kernel without an error and the call would wait out Timer B; refusing the
 * send makes it a transport failure at once (§16.9: the branch is a 503). TCP and TLS connect
 * from no listener's socket, so any family is reachable over them.
 */
export function canReach(listeners: readonly ListenerInfo[], hop: NextHop): boolean {
  const transport = transportOfHop(hop);
  const host = stripBrackets(hop.host);
  if (transport !== 'udp' || isIP(host) === 0) return true; // a name: whatever it resolves to is the transport's business
  const v6 = host.includes(':');
  return listeners.some((l) => l.transport === transport && (l.host === '::' || l.host.includes(':') === v6));
}

/** "host:port" per listener, built once (this runs for every request). */
const localAddresses = new WeakMap<ListenerInfo, string>();

function localAddressOf(l: ListenerInfo): string {
  let s = localAddresses.get(l);
  if (s === undefined) {
    s = `${l.host}:${l.port}`;
    localAddresses.set(l, s);
  }
  return s;
}

/** The proxy's view of where a request came from (RFC 5626 flows use the connection id). */
export function sourceAddressOf(source: MessageSource): SourceAddress {
  return {
    address: source.remote.address,
    port: source.remote.port,
    transport: source.transport,
    connectionId: source.connectionId === null ? null : String(source.connectionId),
    localAddress: localAddressOf(source.listener),
  };
}
