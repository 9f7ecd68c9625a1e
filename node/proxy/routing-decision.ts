// The surface a routing script (node/script) uses to decide what the proxy does with a request.
// The proxy implements it per request; the script module only sees these types.

export type ForkStrategy = 'parallel' | 'sequential';

/** Where to send a request when it is not derived from Route/R-URI (§16.6 item 7 "policy"). */
export interface NextHop {
  readonly host: string;
  readonly port: number;
  readonly transport: string;
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
}

/** What a script handler can read from and do with a request. Grows with the scripting issue. */
export interface ScriptRequest {
  readonly method: string;
  /** Current Request-URI (after §16.4 strict-router fix-up). */
  readonly ruri: string;
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  /** Has a To tag: a mid-dialog request (§12.2). */
  readonly inDialog: boolean;
  readonly source: SourceAddress;
  /** First value of a header (any compact/long form), undefined if absent. */
  header(name: string): string | undefined;
  /** Every value of a header, in order. */
  headers(name: string): string[];
  /** Respond on the server transaction with a final (or provisional) response. */
  reply(code: number, reason?: string, headers?: Readonly<Record<string, string>>): void;
  /** Forward to one target (default: current R-URI / Route set). */
  relay(opts?: RelayOptions): void;
  /** Fork to several targets (§16.6). An empty list answers 480 (§16.5: no targets). */
  fork(targets: ReadonlyArray<string | ForkTarget>, opts?: ForkOptions): void;
  /** Insert our Record-Route on the forwarded copies (§16.6 item 4). */
  recordRoute(): void;
  /** §16.4/§16.12: true when the request carries a Route set to follow (in-dialog routing). */
  looseRoute(): boolean;
  /** A decision (reply/relay/fork) has been made. */
  readonly decided: boolean;
}

/** A response as seen by onReply/onFailure handlers. */
export interface ScriptResponse {
  readonly status: number;
  readonly reason: string;
  header(name: string): string | undefined;
}
