// Adapter between node/sip messages and the transaction layer's message view. Reading the view
// parses exactly the headers §17 needs (top Via, Call-ID, CSeq, From/To tags), once, up front, so a
// malformed one surfaces here as a SipParseError for the shell to answer (400) or drop — never
// inside a state machine.
import {
  HeaderField,
  Headers,
  SipRequest,
  SipResponse,
  parseMessage,
  tagOf,
  type SipMessage,
  type Via,
} from '../sip/index.js';
import type {
  CSeqView,
  MessageFactory,
  MessageView,
  RequestSpec,
  RequestView,
  ResponseSpec,
  ResponseView,
  ViaView,
} from './message-view.js';

function viaView(via: Via, raw: string): ViaView {
  return { branch: via.branch, host: via.host, port: via.port, transport: via.transport, raw };
}

function tagIn(message: SipMessage, name: 'From' | 'To'): string | undefined {
  const value = message.headers.get(name);
  return value === undefined ? undefined : tagOf(name === 'From' ? message.from() : message.to());
}

/** Headers a finished server transaction's request still needs: the §17.2.3 match fields. */
const MATCH_KEYS = new Set(['via', 'from', 'to', 'call-id', 'cseq']);
const NO_BODY = Buffer.alloc(0);

/** A node/sip request seen through the transaction layer's view. */
export class SipRequestView implements RequestView {
  readonly kind = 'request' as const;
  readonly method: string;
  readonly uri: string;
  readonly topVia: ViaView;
  readonly callId: string;
  readonly cseq: CSeqView;
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  private msg: SipRequest;

  constructor(message: SipRequest) {
    this.msg = message;
    this.method = message.method;
    this.uri = message.uri;
    this.topVia = viaView(message.topVia(), message.headers.get('Via') ?? '');
    this.callId = message.callId();
    this.cseq = message.cseq();
    this.fromTag = tagIn(message, 'From');
    this.toTag = tagIn(message, 'To');
  }

  get message(): SipRequest {
    return this.msg;
  }

  headerValues(name: string): readonly string[] {
    return this.msg.headers.getAll(name);
  }

  /**
   * The request of a server transaction that has its final response: from here on it is only
   * matched (by key), so keep a copy holding just the match headers; the TU keeps its own reference
   * to the full request if it needs one.
   */
  releaseParsed(): void {
    const m = this.msg;
    const kept: HeaderField[] = [];
    for (const f of m.headers.list()) {
      // Decoded copies, so the received datagram itself can be collected.
      if (MATCH_KEYS.has(f.key)) kept.push(f.src === null ? f : new HeaderField(f.name, f.key, f.value));
    }
    this.msg = new SipRequest(m.method, m.uri, m.version, new Headers(kept), NO_BODY);
  }
}

/** A node/sip response seen through the transaction layer's view. */
export class SipResponseView implements ResponseView {
  readonly kind = 'response' as const;
  readonly status: number;
  readonly reason: string;
  readonly topVia: ViaView | undefined;
  readonly callId: string;
  readonly cseq: CSeqView;
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  private msg: SipResponse | null;
  /** The bytes this response was sent as (set by the shell), kept instead of the message once released. */
  private sentWire: Buffer | null = null;

  constructor(message: SipResponse) {
    this.msg = message;
    this.status = message.status;
    this.reason = message.reason;
    const raw = message.headers.get('Via');
    this.topVia = raw === undefined ? undefined : viaView(message.topVia(), raw);
    this.callId = message.callId();
    this.cseq = message.cseq();
    this.fromTag = tagIn(message, 'From');
    this.toTag = tagIn(message, 'To');
  }

  /** The message; after `releaseParsed` it is parsed back from the bytes that were sent (retransmissions only). */
  get message(): SipResponse {
    if (this.msg === null) this.msg = parseMessage(this.sentWire as Buffer) as SipResponse;
    return this.msg;
  }

  /** The serialized form, when the shell has sent this response (reused for retransmissions). */
  get wire(): Buffer | null {
    return this.sentWire;
  }

  /** The shell records what it put on the wire. */
  noteSent(bytes: Buffer): void {
    this.sentWire = bytes;
  }

  headerValues(name: string): readonly string[] {
    return this.message.headers.getAll(name);
  }

  /**
   * A final response the server transaction keeps only to retransmit (Timer J/H hold it for 64·T1):
   * once sent, its bytes are all that is needed, and are far smaller than the parsed message.
   */
  releaseParsed(): void {
    if (this.msg === null) return;
    if (this.sentWire === null) this.msg.headers.releaseCache();
    else this.msg = null;
  }
}

export type SipMessageView = SipRequestView | SipResponseView;

/**
 * The view of a parsed message. Throws the message stack's SipParseError when a header the
 * transaction layer depends on is missing or malformed.
 */
export function viewOf(message: SipRequest): SipRequestView;
export function viewOf(message: SipResponse): SipResponseView;
export function viewOf(message: SipMessage): SipMessageView;
export function viewOf(message: SipMessage): SipMessageView {
  return message.isRequest ? new SipRequestView(message) : new SipResponseView(message);
}

/** The node/sip message behind a view produced by this adapter (for serialization by the shell). */
export function sipMessageOf(view: MessageView): SipMessage {
  if (view instanceof SipRequestView || view instanceof SipResponseView) return view.message;
  throw new TypeError('message view was not produced by the node/sip adapter');
}

/** Builds the messages the transaction layer generates (ACK, CANCEL, 100 Trying) as node/sip messages. */
export const sipMessageFactory: MessageFactory = {
  request(spec: RequestSpec): SipRequestView {
    return new SipRequestView(new SipRequest(spec.method, spec.uri, 'SIP/2.0', Headers.from(spec.headers)));
  },
  response(spec: ResponseSpec): SipResponseView {
    return new SipResponseView(new SipResponse(spec.status, spec.reason, 'SIP/2.0', Headers.from(spec.headers)));
  },
};
