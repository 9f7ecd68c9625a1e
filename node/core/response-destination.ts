/**
 * RFC 3261 §18.2.2 (with RFC 3581 §4): where a server sends a response, from the topmost Via of
 * the request and the connection it arrived on.
 */
import type { Endpoint, MessageSource } from '../transport/index.js';
import { stripBrackets } from '../util/index.js';

export interface ViaRouting {
  readonly host: string;
  readonly port?: number;
  readonly params: ReadonlyMap<string, string | null>;
}

export type ResponseDestination =
  /** Reliable transport: the request's connection first, then a new connection to `fallback`. */
  | { readonly kind: 'connection'; readonly connectionId: number; readonly fallback: Endpoint }
  | { readonly kind: 'endpoint'; readonly endpoint: Endpoint };

const DEFAULT_PORT = 5060;
const DEFAULT_TLS_PORT = 5061;

export function responseDestination(via: ViaRouting, source: MessageSource): ResponseDestination {
  const received = via.params.get('received');
  // RFC 5118 §4.5 writes received= without brackets; a UA that brackets its own value is tolerated.
  const address = stripBrackets(received !== undefined && received !== null && received !== '' ? received : via.host);
  const rport = via.params.get('rport');
  const hasRport = rport !== undefined && rport !== null && /^\d{1,5}$/.test(rport);
  if (source.connectionId !== null) {
    // §18.2.2: reliable transport → same connection; if it closed, connect to received:sent-by port.
    // §18.2.2 with §26.2: a TLS sent-by without a port means 5061.
    return { kind: 'connection', connectionId: source.connectionId, fallback: { address, port: via.port ?? (source.transport === 'tls' ? DEFAULT_TLS_PORT : DEFAULT_PORT) } };
  }
  // RFC 3581 §4: with rport, answer to the source IP and port the request came from. The source,
  // not the stamped value: a retransmission matching the transaction from another port (§17.2.3
  // ignores the port it arrived from) is answered where it came from, like the original was.
  if (hasRport) return { kind: 'endpoint', endpoint: { address: source.remote.address, port: source.remote.port } };
  const maddr = via.params.get('maddr');
  if (maddr !== undefined && maddr !== null && maddr !== '') return { kind: 'endpoint', endpoint: { address: stripBrackets(maddr), port: via.port ?? DEFAULT_PORT } };
  return { kind: 'endpoint', endpoint: { address, port: via.port ?? DEFAULT_PORT } };
}
