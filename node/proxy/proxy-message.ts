// The view of a SIP message the proxy works on. Kept narrow (as node/transaction does with its
// MessageView) so the §16 logic is testable with a plain fake and independent of parser internals.
// node/sip's SipRequest/SipResponse satisfy these interfaces as they are; sip-factory.ts builds them.

export interface ProxyHeaders {
  /** First value of a header (compact and long names are the same header), or undefined. */
  get(name: string): string | undefined;
  /** Every value, comma-separated list headers split into values, in message order. */
  getAll(name: string): string[];
  /** Replace every value of the header with one value. */
  set(name: string, value: string): void;
  /** Insert a value before every existing value (Via push, Record-Route insertion). */
  prepend(name: string, value: string): void;
  /** Add a value after every existing value. */
  append(name: string, value: string): void;
  /** Remove every value of the header. */
  remove(name: string): void;
  /** Remove only the first value (Via pop, Route pop). */
  removeFirstValue(name: string): void;
}

/** The Via fields the proxy reads (§16.3 item 4 loop detection). */
export interface ParsedVia {
  readonly protocol: string;
  readonly host: string;
  readonly port?: number;
  readonly branch?: string;
}

export interface ProxyRequestMessage {
  readonly method: string;
  /** Request-URI text; the proxy retargets by assigning it. */
  uri: string;
  readonly headers: ProxyHeaders;
  /**
   * Every Via value already parsed, top first, when the message keeps them (node/sip's SipRequest
   * parses them once for validation); throws when one is malformed. Without it the proxy parses
   * the header values itself.
   */
  vias?(): readonly ParsedVia[];
}

export interface ProxyResponseMessage {
  readonly status: number;
  readonly reason: string;
  readonly headers: ProxyHeaders;
}

/** Builds the messages the proxy itself originates. */
export interface ProxyMessageFactory {
  /**
   * A response to `request` (§8.2.6: Via, From, To, Call-ID, CSeq copied; a To tag added for
   * anything but 100), with extra header values appended in order.
   */
  response(request: ProxyRequestMessage, status: number, reason: string,
    extra?: ReadonlyArray<readonly [string, string]>): ProxyResponseMessage;
  /** A deep copy, body included: each branch forwards its own copy (§16.6 item 1). */
  copy(request: ProxyRequestMessage): ProxyRequestMessage;
  /** A new request with the given headers in order and no body. */
  request(method: string, uri: string, headers: ReadonlyArray<readonly [string, string]>): ProxyRequestMessage;
  /**
   * Whether `request` (a forwarded copy of `received`) serialises to more than `limit` bytes
   * (RFC 3261 §18.1.1 size rule). Absent: the proxy never changes transport for size.
   */
  largerThan?(request: ProxyRequestMessage, limit: number, received?: ProxyRequestMessage): boolean;
}
