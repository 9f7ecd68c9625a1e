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
  private msg: SipRequest | null;
  /** From and To as received, kept once the message is released (with the fields above, all §17.2.3 matches on). */
  private fromValue: string | undefined;
  private toValue: string | undefined;
  private sentWire: Buffer | null = null;

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

  /**
   * The bytes this request was first sent as (set by the shell): a client transaction's Timer A/E
   * retransmissions resend them instead of serializing again (§17.1.1.2, §17.1.2.2).
   */
  get wire(): Buffer | null {
    return this.sentWire;
  }

  noteSent(bytes: Buffer): void {
    this.sentWire = isPooled(bytes) ? retainedWires.copy(bytes) : bytes;
  }

  /** The message; once released, a copy holding only the match headers (top Via, From, To, Call-ID, CSeq). */
  get message(): SipRequest {
    if (this.msg === null) this.msg = this.matchCopy();
    return this.msg;
  }

  headerValues(name: string): readonly string[] {
    return this.message.headers.getAll(name);
  }

  /**
   * A transaction that has its final response only matches this request by key from now on (Timer
   * J/K/L/M hold it for up to 64·T1): keep the few strings a match copy is rebuilt from, not the
   * message, its parse caches and the datagram behind them. The TU keeps its own reference to the
   * full request if it needs one.
   */
  releaseParsed(): void {
    const m = this.msg;
    if (m === null) return;
    this.fromValue = m.headers.get('From');
    this.toValue = m.headers.get('To');
    this.msg = null;
  }

  private matchCopy(): SipRequest {
    const fields: HeaderField[] = [new HeaderField('Via', 'via', this.topVia.raw)];
    if (this.fromValue !== undefined) fields.push(new HeaderField('From', 'from', this.fromValue));
    if (this.toValue !== undefined) fields.push(new HeaderField('To', 'to', this.toValue));
    fields.push(new HeaderField('Call-ID', 'call-id', this.callId), new HeaderField('CSeq', 'cseq', `${this.cseq.seq} ${this.cseq.method}`));
    return new SipRequest(this.method, this.uri, 'SIP/2.0', new Headers(fields), NO_BODY);
  }
}

/**
 * Slabs for the response bytes transactions keep to retransmit. Everything in a slab is kept for
 * about the same time (Timer J/H/L), so a slab is freed when its last response is, and a copy costs
 * a memcpy instead of an ArrayBuffer allocation per response.
 */
class WireArena {
  private static readonly SLAB = 64 * 1024;
  private slab = Buffer.allocUnsafeSlow(WireArena.SLAB);
  private offset = 0;
  /** Where the last `place` put its bytes in the buffer it returned. */
  placedAt = 0;

  /**
   * Copies `bytes` into the current slab (a large message into a buffer of its own) and returns
   * that buffer; the copy starts at `placedAt`. No Buffer object per kept message: a view keeps the
   * slab and the range, and makes the slice only when it resends.
   */
  place(bytes: Buffer): Buffer {
    const n = bytes.length;
    if (n > WireArena.SLAB / 8) {
      const own = Buffer.allocUnsafeSlow(n);
      bytes.copy(own);
      this.placedAt = 0;
      return own;
    }
    if (this.offset + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(WireArena.SLAB);
      this.offset = 0;
    }
    bytes.copy(this.slab, this.offset);
    this.placedAt = this.offset;
    this.offset = (this.offset + n + 7) & ~7;
    return this.slab;
  }

  copy(bytes: Buffer): Buffer {
    const buf = this.place(bytes);
    return buf.length === bytes.length ? buf : buf.subarray(this.placedAt, this.placedAt + bytes.length);
  }
}

const retainedWires = new WireArena();

/** A slice of a larger allocation (Node's shared pool): keeping it would pin the whole slab. */
function isPooled(bytes: Buffer): boolean {
  return bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.length;
}

/** A node/sip response seen through the transaction layer's view. */
export class SipResponseView implements ResponseView {
  readonly kind = 'response' as const;
  readonly status: number;
  readonly reason: string;
  private msg: SipResponse | null;
  /**
   * The bytes this response was sent as (set by the shell), kept instead of the message once
   * released: `wireBuf[wireStart, wireEnd)`, a range of the retained-wire arena or a buffer of its own.
   */
  private wireBuf: Buffer | null = null;
  private wireStart = 0;
  private wireEnd = 0;
  // The §17 fields, derived on first use: a response we generate is only ever asked for its status
  // (a server transaction matches by the request), so its Via, CSeq and tags are never parsed.
  private via: ViaView | null | undefined = undefined;
  private cid: string | undefined = undefined;
  private cs: CSeqView | undefined = undefined;
  private ftag: string | null | undefined = undefined;
  private ttag: string | null | undefined = undefined;

  /**
   * `checked`: parse the §17 fields now, so a malformed one in a received response throws here
   * (the shell drops it) rather than inside a state machine. Our own responses skip it.
   */
  constructor(message: SipResponse, checked = true) {
    this.msg = message;
    this.status = message.status;
    this.reason = message.reason;
    if (checked) {
      void this.topVia;
      void this.callId;
      void this.cseq;
      void this.fromTag;
      void this.toTag;
    }
  }

  get topVia(): ViaView | undefined {
    if (this.via === undefined) {
      const m = this.message;
      const raw = m.headers.get('Via');
      this.via = raw === undefined ? null : viaView(m.topVia(), raw);
    }
    return this.via ?? undefined;
  }

  get callId(): string {
    return (this.cid ??= this.message.callId());
  }

  get cseq(): CSeqView {
    return (this.cs ??= this.message.cseq());
  }

  get fromTag(): string | undefined {
    if (this.ftag === undefined) this.ftag = tagIn(this.message, 'From') ?? null;
    return this.ftag ?? undefined;
  }

  get toTag(): string | undefined {
    if (this.ttag === undefined) this.ttag = tagIn(this.message, 'To') ?? null;
    return this.ttag ?? undefined;
  }

  /** The message; after `releaseParsed` it is parsed back from the bytes that were sent (retransmissions only). */
  get message(): SipResponse {
    if (this.msg === null) this.msg = parseMessage(this.wire as Buffer) as SipResponse;
    return this.msg;
  }

  /** The serialized form, when the shell has sent this response (reused for retransmissions). */
  get wire(): Buffer | null {
    const buf = this.wireBuf;
    if (buf === null) return null;
    return this.wireStart === 0 && this.wireEnd === buf.length ? buf : buf.subarray(this.wireStart, this.wireEnd);
  }

  /**
   * The shell records what it put on the wire. Bytes carved from Node's shared 8 KiB pool are copied
   * into the retained-wire arena first: kept for 64·T1, they would pin the whole pool slab (every
   * message serialized around them).
   */
  noteSent(bytes: Buffer): void {
    if (isPooled(bytes)) {
      this.wireBuf = retainedWires.place(bytes);
      this.wireStart = retainedWires.placedAt;
    } else {
      this.wireBuf = bytes;
      this.wireStart = 0;
    }
    this.wireEnd = this.wireStart + bytes.length;
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
    if (this.wireBuf === null) this.msg.headers.releaseCache();
    else this.msg = null;
  }
}

/** The view of a response this node generated (well-formed by construction: nothing parsed up front). */
export function localResponseView(message: SipResponse): SipResponseView {
  return new SipResponseView(message, false);
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
    return localResponseView(new SipResponse(spec.status, spec.reason, 'SIP/2.0', Headers.from(spec.headers)));
  },
};
