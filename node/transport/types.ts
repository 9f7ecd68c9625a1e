/** Shapes shared by the transports and the dispatcher above them. */

export type TransportKind = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** The connection-oriented transports (TcpTransport serves tcp and tls, WsTransport ws and wss). */
export type StreamKind = 'tcp' | 'tls' | 'ws' | 'wss';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  /**
   * The address is a host name from a URI without an explicit port: RFC 3263 §4.2 SRV applies
   * (`port` is then the scheme's default, used when the name has no SRV records). Absent for
   * literals, explicit ports, and Via / Contact destinations.
   */
  readonly srv?: true;
  /** The SRV owner name RFC 3263 §4.1 NAPTR chose for this destination (with `srv`). */
  readonly srvName?: string;
}

/** A bound SIP listener and the address it advertises in Via / Record-Route (per-listener or global). */
export interface ListenerInfo {
  readonly transport: TransportKind;
  readonly host: string;
  readonly port: number;
  readonly advertisedHost: string;
  readonly advertisedPort: number;
}

/** Where an inbound message came from: enough to answer it (RFC 3261 §18.2.2) and fill received/rport. */
export interface MessageSource {
  readonly transport: TransportKind;
  readonly remote: Endpoint;
  readonly listener: ListenerInfo;
  /** Stream connection it arrived on; null for UDP. */
  readonly connectionId: number | null;
}

/** A stream framing failure with the header block (when delimited) so the core can answer it. */
export interface FramingFailure {
  readonly status: 400 | 513;
  readonly reason: string;
  readonly head: Buffer | null;
  readonly source: MessageSource;
}

export interface InboundHandler {
  onMessage(bytes: Buffer, source: MessageSource): void;
  /** Returns the bytes to send before the connection closes (e.g. a 400), or null. */
  onFramingFailure(failure: FramingFailure): Buffer | null;
}

export interface TransportCounters {
  malformed(transport: TransportKind): void;
  /** A keep-alive (not a SIP message): a CRLF ping or datagram, or a STUN Binding request. */
  keepAlive?(transport: TransportKind, kind: 'crlf' | 'stun'): void;
  shed(transport: TransportKind): void;
  connections(transport: TransportKind, delta: number): void;
  /** An inbound connection closed at accept because `tcp_max_connections` were open. */
  refused?(transport: TransportKind): void;
  /** accept() failed on a listener (e.g. EMFILE): the pending connection was closed. */
  acceptFailed?(transport: TransportKind, code: string): void;
  /** A send needing a new outbound connection was refused: the outbound cap was reached. */
  outboundRefused?(transport: TransportKind): void;
  /**
   * A send was refused before reaching the socket: its destination cannot be addressed (port 0 or
   * above 65535, no address), e.g. from a Via, Contact or DNS answer naming one.
   */
  badDestination?(transport: TransportKind): void;
  /** A TLS handshake failed (TLS, WSS): a client's (bad or missing certificate, not TLS, too slow) or ours to a peer. */
  handshakeFailed?(transport: StreamKind, direction: 'inbound' | 'outbound'): void;
}

/** Where a transport reports rare, rate-limited operator warnings (a pino logger fits). */
export interface WarnSink {
  warn(fields: object, msg: string): void;
}

export const NO_COUNTERS: TransportCounters = {
  malformed: () => undefined,
  shed: () => undefined,
  connections: () => undefined,
};
