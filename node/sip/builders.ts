/**
 * Building messages the stack sends: responses per RFC 3261 §8.2.6 (and §16.7 for proxies) and
 * new requests per §8.1.1.
 */
import { SipParseError } from './errors.js';
import { HeaderField, Headers } from './headers.js';
import { SipRequest, SipResponse } from './message.js';
import { parseNameAddr, formatNameAddr } from './name-addr.js';
import { reasonPhrase } from './reason-phrases.js';

export interface ResponseOptions {
  /** To tag to add when the request's To has none (RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** copy Record-Route in order (RFC 3261 §12.1.1: a UAS does so on responses that create a dialog) */
  recordRoute?: boolean;
  /** extra headers appended after the copied ones */
  headers?: Iterable<readonly [string, string]>;
  body?: Buffer;
}

/** The To field with `tag` added; the received field unchanged when it already has one or cannot be re-written. */
function toWithTag(to: HeaderField, tag: string | undefined): HeaderField {
  if (tag === undefined) return to;
  try {
    const na = parseNameAddr(to.value);
    if (na.params.has('tag')) return to;
    na.params.set('tag', tag);
    const h = new Headers();
    h.append('To', formatNameAddr(na));
    return h.list()[0];
  } catch {
    // Hostile bytes must never make building a reply throw; the 4xx then goes out without our tag.
    return to;
  }
}

function buildResponse(headers: Headers, status: number, reason: string | undefined, opts: ResponseOptions): SipResponse {
  const out = new Headers();
  // RFC 3261 §8.2.6.2: Via (all, in order), From, To, Call-ID and CSeq are copied; the fields keep
  // their received bytes, so a reply can be built from any message the parser accepted.
  // One pass finds them all (the first of each single-valued one).
  let from: HeaderField | undefined;
  let to: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  let timestamp: HeaderField | undefined;
  for (const f of headers.list()) {
    const key = f.key;
    if (key === 'via') out.appendField(f);
    else if (key === 'from') from ??= f;
    else if (key === 'to') to ??= f;
    else if (key === 'call-id') callId ??= f;
    else if (key === 'cseq') cseq ??= f;
    else if (key === 'timestamp') timestamp ??= f;
  }
  if (from !== undefined) out.appendField(from);
  if (to !== undefined) out.appendField(status === 100 ? to : toWithTag(to, opts.toTag));
  if (callId !== undefined) out.appendField(callId);
  if (cseq !== undefined) out.appendField(cseq);
  if (opts.recordRoute === true) for (const f of headers.list()) if (f.key === 'record-route') out.appendField(f);
  // RFC 3261 §8.2.6.1: a 100 Trying echoes Timestamp.
  if (status === 100 && timestamp !== undefined) out.appendField(timestamp);
  if (opts.headers !== undefined) for (const [n, v] of opts.headers) out.append(n, v);
  // The Vias are the request's own fields: its parse of the top one holds for the response too
  // (§18.2.2 addresses the response by it), so it is not parsed again.
  const topVia = headers.peek('topVia');
  if (topVia !== undefined) out.remember('topVia', topVia);
  return new SipResponse(status, reason ?? reasonPhrase(status), 'SIP/2.0', out, opts.body);
}

export function createResponse(req: SipRequest, status: number, reason?: string, opts: ResponseOptions = {}): SipResponse {
  return buildResponse(req.headers, status, reason, opts);
}

/**
 * The reply to a request whose start line could not be parsed (err.action 'reject' with err.headers).
 * Returns null when there is nothing to answer to (no Via to send it back along, RFC 3261 §18.2.2).
 */
export function createErrorResponse(err: SipParseError, opts: ResponseOptions = {}): SipResponse | null {
  if (err.action !== 'reject' || err.headers === undefined || !err.headers.has('Via')) return null;
  return buildResponse(err.headers, err.status, err.reason, opts);
}

export interface RequestSpec {
  method: string;
  uri: string;
  /** each header as [name, value]; Via, From, To, Call-ID, CSeq and Max-Forwards are the caller's to supply */
  headers: Iterable<readonly [string, string]>;
  body?: Buffer;
}

export function createRequest(spec: RequestSpec): SipRequest {
  return new SipRequest(spec.method, spec.uri, 'SIP/2.0', Headers.from(spec.headers), spec.body ?? Buffer.alloc(0));
}
