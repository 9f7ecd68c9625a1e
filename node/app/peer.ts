// Addresses on a live node are node/transport's MessageSource (the transaction layer's address
// type in node/core's dispatcher): where a message came from, or where a request goes.
import type { NextHop, SourceAddress } from '../proxy/index.js';
import type { ListenerInfo, MessageSource, TransportKind } from '../transport/index.js';

/** Transports this node sends on; a next hop asking for another (tls, ws, sctp) is tried over UDP. */
export function transportOfHop(hop: NextHop): TransportKind {
  return hop.transport.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** A resolved next hop as a send destination, leaving from our first listener of that transport. */
export function destinationOfHop(listeners: readonly ListenerInfo[]): (hop: NextHop) => MessageSource {
  return (hop) => {
    const transport = transportOfHop(hop);
    const listener = listeners.find((l) => l.transport === transport) ?? listeners[0];
    return { transport, remote: { address: stripBrackets(hop.host), port: hop.port }, listener, connectionId: null };
  };
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
