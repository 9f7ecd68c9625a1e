// Adapter between node/sip messages and the transaction layer's message view. Reading the view
// parses exactly the headers §17 needs (top Via, Call-ID, CSeq, From/To tags), once, up front, so a
// malformed one surfaces here as a SipParseError for the shell to answer (400) or drop — never
// inside a state machine.
import {
  Headers,
  SipRequest,
  SipResponse,
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

  constructor(readonly message: SipRequest) {
    this.method = message.method;
    this.uri = message.uri;
    this.topVia = viaView(message.topVia(), message.headers.get('Via') ?? '');
    this.callId = message.callId();
    this.cseq = message.cseq();
    this.fromTag = tagIn(message, 'From');
    this.toTag = tagIn(message, 'To');
  }

  headerValues(name: string): readonly string[] {
    return this.message.headers.getAll(name);
  }

  releaseParsed(): void {
    this.message.headers.releaseCache();
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

  constructor(readonly message: SipResponse) {
    this.status = message.status;
    this.reason = message.reason;
    const raw = message.headers.get('Via');
    this.topVia = raw === undefined ? undefined : viaView(message.topVia(), raw);
    this.callId = message.callId();
    this.cseq = message.cseq();
    this.fromTag = tagIn(message, 'From');
    this.toTag = tagIn(message, 'To');
  }

  headerValues(name: string): readonly string[] {
    return this.message.headers.getAll(name);
  }

  releaseParsed(): void {
    this.message.headers.releaseCache();
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
