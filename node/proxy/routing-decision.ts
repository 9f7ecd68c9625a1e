// The surface a routing script (node/script) uses to decide what the proxy does with a request.
// The proxy implements it per request; the script module only sees these types.

import type { ProxyRequestMessage, ProxyResponseMessage } from './proxy-message.js';

export type ForkStrategy = 'parallel' | 'sequential';

/** Where to send a request when it is not derived from Route/R-URI (§16.6 item 7 "policy"). */
export interface NextHop {
  readonly host: string;
  readonly port: number;
  readonly transport: string;
  /**
   * The URI had no explicit port (`port` is its scheme's default): a host name is then located
   * by RFC 3263 §4.2 SRV first. Absent when the port was given.
   */
  readonly srv?: true;
  /**
   * RFC 3263 §4.1: the URI named neither a transport nor a port and its host is a name, so NAPTR
   * chooses the transport (`transport` is the URI default until then). Cleared once chosen.
   */
  readonly naptr?: true;
  /** The SRV owner name NAPTR chose (instead of `_sip._<transport>.<host>`). */
  readonly srvName?: string;
  /**
   * A stream connection to send over while it is open (the one a contact registered over: UAs
   * over TCP/TLS seldom accept connections, and NATs never pass them); host/port/transport are
   * where to connect once it has closed.
   */
  readonly connectionId?: string;
}

/** One fork target: a registered contact (with its RFC 3327 Path) or any SIP URI. */
export interface ForkTarget {
  readonly uri: string;
  readonly q?: number;
  /** RFC 3327 Path recorded at registration: becomes the Route set towards this contact. */
  readonly path?: readonly string[];
  readonly nextHop?: NextHop;
}

export interface RelayOptions {
  /** Replace the Request-URI (§16.5 target); default: the current Request-URI. */
  readonly target?: string;
  /** Explicit next hop: wins over Route and R-URI (§16.6 item 7). */
  readonly nextHop?: NextHop;
}

export interface ForkOptions {
  readonly strategy?: ForkStrategy;
  /** Per-branch timeout for sequential forking; default transaction.invite_timeout_secs. */
  readonly branchTimeoutSecs?: number;
}

export interface SourceAddress {
  readonly address: string;
  readonly port: number;
  readonly transport: string;
  /** Stream connection the request arrived on (TCP/TLS/WS), for RFC 5626 flows. */
  readonly connectionId?: string | null;
  /** The local listener "host:port" that received it. */
  readonly localAddress?: string | null;
}

/** Header values for a locally generated response; an array adds one header line per value. */
export type ReplyHeaders = Readonly<Record<string, string | readonly string[]>>;

/** What a script handler can read from and do with a request. Grows with the scripting issue. */
export interface ScriptRequest {
  /** The underlying message (a node/sip SipRequest on a live node). */
  readonly message: ProxyRequestMessage;
  readonly method: string;
  /** Current Request-URI (after §16.4 strict-router fix-up). */
  readonly ruri: string;
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  /** Has a To tag: a mid-dialog request (§12.2). */
  readonly inDialog: boolean;
  /** The Request-URI names this node (one of our addresses or served domains): "uri == myself". */
  readonly ruriIsLocal: boolean;
  readonly source: SourceAddress;
  /** First value of a header (any compact/long form), undefined if absent. */
  header(name: string): string | undefined;
  /** Every value of a header, in order. */
  headers(name: string): string[];
  /** The digest-authenticated user, set by auth.requireDigest (undefined until then). */
  authUser: string | undefined;
  /** Respond on the server transaction with a final (or provisional) response. */
  reply(code: number, reason?: string, headers?: ReplyHeaders): void;
  /** Respond with a response built elsewhere (registrar 200 with Contacts, auth 401/407). */
  replyWith(response: ProxyResponseMessage): void;
  /** Forward to one target (default: current R-URI / Route set). */
  relay(opts?: RelayOptions): void;
  /** Fork to several targets (§16.6). An empty list answers 480 (§16.5: no targets). */
  fork(targets: ReadonlyArray<string | ForkTarget>, opts?: ForkOptions): void;
  /** Insert our Record-Route on the forwarded copies (§16.6 item 4). */
  recordRoute(): void;
  /** §16.4/§16.12: true when the request carries a Route set to follow (in-dialog routing). */
  looseRoute(): boolean;
  /**
   * NAT fix-up on demand (what `nat.fix_contact` does for every message): a Contact naming an IP
   * address behind a NAT is rewritten to where the request came from (node/proxy/nat.ts). True when changed.
   */
  fixNatedContact(): boolean;
  /** A decision (reply/relay/fork) has been made. */
  readonly decided: boolean;
}

/** A response as seen by onReply/onFailure handlers. */
export interface ScriptResponse {
  readonly status: number;
  readonly reason: string;
  header(name: string): string | undefined;
  /**
   * Reply-time reject (in onReply, on a provisional): answer the caller `code` instead, suppress
   * this provisional and CANCEL every pending branch (§9.1). True when applied; false on a final
   * response (a proxy cannot retract an answer) or when a final already went upstream.
   */
  reject(code: number, reason?: string): boolean;
}
