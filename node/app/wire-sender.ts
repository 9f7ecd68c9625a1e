// Stateless sends outside any transaction: the ACK for a 2xx, forwarded end to end by the proxy
// (RFC 3261 §13.2.2.4, §16.11). Serializes and hands the bytes to the UDP, TCP or TLS transport,
// reusing an open connection to the destination; never waits on the peer.
import { serialize, type SipRequest } from '../sip/index.js';
import type { Endpoint, ListenerInfo, MessageSource } from '../transport/index.js';

/** The sockets the node owns (node/core's SipNode exposes these). */
interface StreamSender {
  readonly listener: ListenerInfo;
  sendOnConnection(connectionId: number, bytes: Buffer): boolean;
  send(bytes: Buffer, dest: Endpoint): boolean;
  /** Keeps a connection open through `ms` of silence (see TcpTransport.holdOpen). */
  holdOpen?(connectionId: number, ms: number): boolean;
}

export interface WireTransports {
  readonly udp: readonly { readonly listener: ListenerInfo; send(bytes: Buffer, dest: Endpoint): void }[];
  readonly tcp: readonly StreamSender[];
  /** Absent or empty: the node sends nothing over TLS (never falls back to plaintext). */
  readonly tls?: readonly StreamSender[];
  /** WebSocket listeners: they send only over connections clients opened (RFC 7118). */
  readonly ws?: readonly StreamSender[];
  readonly wss?: readonly StreamSender[];
}

/**
 * A contact registered over a stream connection is reachable only over it (node/script's
 * connection reuse, flow tokens): the connection is held open until its registration ends, and a
 * little after, for the refresh (Kamailio's registrar `tcp_persistent_flag` does the same).
 */
export function holdRegisteredConnection(t: WireTransports, connectionId: number, ms: number): void {
  for (const streams of [t.tcp, t.tls ?? [], t.ws ?? [], t.wss ?? []]) {
    for (const s of streams) if (s.holdOpen?.(connectionId, ms) === true) return;
  }
}

/** Returns false when no transport could take the message. */
export function sendStateless(t: WireTransports, request: SipRequest, dest: MessageSource): boolean {
  const bytes = serialize(request);
  if (dest.transport === 'udp') {
    const u = t.udp.find((x) => x.listener === dest.listener) ?? t.udp[0];
    if (u === undefined) return false;
    u.send(bytes, dest.remote);
    return true;
  }
  const streams = dest.transport === 'tcp' ? t.tcp : t[dest.transport] ?? [];
  if (dest.connectionId !== null) for (const c of streams) if (c.sendOnConnection(dest.connectionId, bytes)) return true;
  const c = streams[0];
  return c === undefined ? false : c.send(bytes, dest.remote);
}
