// The minimal view of a SIP message the transaction layer needs (RFC 3261 §17.1.3, §17.2.3,
// §17.1.1.3). It is deliberately small so the state machines stay independent of the message
// stack; `sip-adapter.ts` maps node/sip messages onto it.

/** The topmost Via of a message (RFC 3261 §20.42). */
export interface ViaView {
  /** The branch parameter, if any. */
  readonly branch: string | undefined;
  /** sent-by host as written (compared case-insensitively). */
  readonly host: string;
  /** sent-by port, if written. */
  readonly port: number | undefined;
  /** Transport token of sent-protocol (UDP, TCP, TLS, ...). */
  readonly transport: string;
  /** The whole Via field value, used by the RFC 2543 fallback comparison. */
  readonly raw: string;
}

export interface CSeqView {
  readonly seq: number;
  readonly method: string;
}

interface CommonView {
  readonly callId: string;
  readonly cseq: CSeqView;
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  /** Every value of a header (comma-joined fields split into values), in message order. */
  headerValues(name: string): readonly string[];
  /**
   * The transaction only keeps this message to match and resend it from now on (Timer J/H/I hold
   * it for up to 64·T1): drop whatever the message caches and can derive again on demand.
   */
  releaseParsed?(): void;
}

export interface RequestView extends CommonView {
  readonly kind: 'request';
  readonly method: string;
  /** Request-URI as text. */
  readonly uri: string;
  readonly topVia: ViaView;
}

export interface ResponseView extends CommonView {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
  readonly topVia: ViaView | undefined;
}

export type MessageView = RequestView | ResponseView;

/** One header line of a message the transaction layer constructs (ACK, CANCEL, 100 Trying). */
export type HeaderSpec = readonly [name: string, value: string];

export interface RequestSpec {
  readonly method: string;
  readonly uri: string;
  readonly headers: readonly HeaderSpec[];
}

export interface ResponseSpec {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HeaderSpec[];
}

/** Turns a construction recipe into a real message of the message stack in use. */
export interface MessageFactory {
  request(spec: RequestSpec): RequestView;
  response(spec: ResponseSpec): ResponseView;
}
