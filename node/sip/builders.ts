/**
 * Building messages the stack sends: responses per RFC 3261 §8.2.6 (and §16.7 for proxies) and
 * new requests per §8.1.1.
 */
import { SipParseError } from './errors.js';
import { Headers } from './headers.js';
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

function withToTag(to: string, tag: string | undefined): string {
  if (tag === undefined) return to;
  try {
    const na = parseNameAddr(to);
    if (na.params.has('tag')) return to;
    na.params.set('tag', tag);
    return formatNameAddr(na);
  } catch {
    return `${to};tag=${tag}`;
  }
}

function buildResponse(headers: Headers, status: number, reason: string | undefined, opts: ResponseOptions): SipResponse {
  const out = new Headers();
  // RFC 3261 §8.2.6.2: Via (all, in order), From, To, Call-ID and CSeq are copied; 100 Trying also Timestamp.
  for (const v of headers.getLines('Via')) out.append('Via', v);
  const from = headers.getLines('From')[0];
  if (from !== undefined) out.append('From', from);
  const to = headers.getLines('To')[0];
  if (to !== undefined) out.append('To', status === 100 ? to : withToTag(to, opts.toTag));
  const callId = headers.getLines('Call-ID')[0];
  if (callId !== undefined) out.append('Call-ID', callId);
  const cseq = headers.getLines('CSeq')[0];
  if (cseq !== undefined) out.append('CSeq', cseq);
  if (opts.recordRoute === true) for (const rr of headers.getLines('Record-Route')) out.append('Record-Route', rr);
  if (status === 100) {
    const ts = headers.getLines('Timestamp')[0];
    if (ts !== undefined) out.append('Timestamp', ts);
  }
  if (opts.headers !== undefined) for (const [n, v] of opts.headers) out.append(n, v);
  return new SipResponse(status, reason ?? reasonPhrase(status), 'SIP/2.0', out, opts.body ?? Buffer.alloc(0));
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
