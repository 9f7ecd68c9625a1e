/**
 * SIP request and response models (RFC 3261 §7). Start-line fields are plain properties; headers
 * are parsed lazily through cached accessors, so a proxy that only looks at Via and Route never pays
 * for parsing From, To or Contact.
 */
import { CSeq, parseCSeq } from './cseq.js';
import { badRequest } from './errors.js';
import { Headers } from './headers.js';
import { NameAddr, parseNameAddr } from './name-addr.js';
import { SipUri, parseUri } from './uri.js';
import { Via, parseVia } from './via.js';
import { parseDecimal } from './syntax.js';

/** The body of a message built without one (zero length, so sharing it is harmless). */
const EMPTY_BODY = Buffer.alloc(0);

/** Byte ranges of the original start line, so an unchanged start line is written back as received. */
export interface WireOrigin {
  src: Buffer;
  /** byte range of the message head: start line through the empty line */
  headStart: number;
  headEnd: number;
  /** end of the start line (exclusive, before CRLF) */
  startLineEnd: number;
  /** the three start-line fields as received (method/uri/version or version/status/reason) */
  first: string;
  second: string;
  third: string;
  /** value of the single Content-Length header as received, or -1 when absent, repeated or malformed */
  contentLength: number;
  /** false when the head did not end with an empty line (then the fast path cannot copy it) */
  complete: boolean;
}

abstract class SipMessageBase {
  version: string;
  headers: Headers;
  body: Buffer;
  /** @internal set by the parser; used by the serializer's fast paths */
  origin: WireOrigin | null = null;

  constructor(version: string, headers: Headers, body: Buffer) {
    this.version = version;
    this.headers = headers;
    this.body = body;
  }

  /** Topmost Via (RFC 3261 §8.2.6, §16.7: the one that identifies the transaction). */
  topVia(): Via {
    return this.headers.memoize('topVia', topViaOf, this);
  }

  /** All Via values, top first. */
  vias(): Via[] {
    return this.headers.memoize('vias', viasOf, this);
  }

  callId(): string {
    return this.headers.memoize('callId', callIdOf, this);
  }

  cseq(): CSeq {
    return this.headers.memoize('cseq', cseqOf, this);
  }

  from(): NameAddr {
    return this.headers.memoize('from', fromOf, this);
  }

  to(): NameAddr {
    return this.headers.memoize('to', toOf, this);
  }

  /** Max-Forwards 0..255 (RFC 3261 §20.22), undefined when absent. */
  maxForwards(): number | undefined {
    return this.headers.memoize('maxForwards', maxForwardsOf, this);
  }

  /** Contact values, or '*' for the wildcard of a REGISTER removing all bindings (RFC 3261 §10.2.2). */
  contacts(): NameAddr[] | '*' {
    return this.headers.memoize('contacts', contactsOf, this);
  }

  /**
   * Expires header in seconds; undefined when absent or out of the 0..2^32-1 range (RFC 4475 §3.1.2.4
   * allows treating an over-large expiry as absent so the default applies).
   */
  expires(): number | undefined {
    return this.headers.memoize('expires', expiresOf, this);
  }

  /** Route values, top first (RFC 3261 §20.34). */
  routes(): NameAddr[] {
    return this.headers.memoize('routes', routesOf, this);
  }

  recordRoutes(): NameAddr[] {
    return this.headers.memoize('recordRoutes', recordRoutesOf, this);
  }

  /** Declared Content-Length, undefined when absent; malformed or negative is a 400. */
  contentLength(): number | undefined {
    return this.headers.memoize('contentLength', contentLengthOf, this);
  }
}

// The accessors' parses: plain functions of the message, so a cached accessor call allocates
// nothing (a closure per call would, and accessors run several times per message).

function required(m: SipMessageBase, name: string): string {
  const v = m.headers.get(name);
  if (v === undefined) throw badRequest(`Missing ${name}`);
  return v;
}

function topViaOf(m: SipMessageBase): Via {
  const all = m.headers.peek('vias') as Via[] | undefined;
  return all !== undefined && all.length > 0 ? all[0] : parseVia(required(m, 'Via'));
}

function viasOf(m: SipMessageBase): Via[] {
  // The top one is usually parsed already (transaction matching, §18.2.1 stamping).
  const top = m.headers.peek('topVia') as Via | undefined;
  return m.headers.getAll('Via').map((v, i) => (i === 0 && top !== undefined ? top : parseVia(v)));
}

function callIdOf(m: SipMessageBase): string {
  const v = required(m, 'Call-ID').trim();
  // RFC 3261 §25.1: callid = word [ "@" word ], no whitespace.
  if (v.length === 0 || /[\s]/.test(v)) throw badRequest('Malformed Call-ID');
  return v;
}

function cseqOf(m: SipMessageBase): CSeq {
  return parseCSeq(required(m, 'CSeq'));
}

function fromOf(m: SipMessageBase): NameAddr {
  return parseNameAddr(required(m, 'From'));
}

function toOf(m: SipMessageBase): NameAddr {
  return parseNameAddr(required(m, 'To'));
}

function maxForwardsOf(m: SipMessageBase): number | undefined {
  const v = m.headers.get('Max-Forwards');
  if (v === undefined) return undefined;
  const n = parseDecimal(v.trim(), 255);
  if (n < 0) throw badRequest('Max-Forwards out of range');
  return n;
}

function contactsOf(m: SipMessageBase): NameAddr[] | '*' {
  const all = m.headers.getAll('Contact');
  if (all.length === 1 && all[0].trim() === '*') return '*' as const;
  return all.map((c) => {
    if (c.trim() === '*') throw badRequest('Contact * mixed with other contacts');
    return parseNameAddr(c);
  });
}

function expiresOf(m: SipMessageBase): number | undefined {
  const v = m.headers.get('Expires');
  if (v === undefined) return undefined;
  const n = parseDecimal(v.trim(), 0xffffffff);
  return n < 0 ? undefined : n;
}

function routesOf(m: SipMessageBase): NameAddr[] {
  return m.headers.getAll('Route').map(parseNameAddr);
}

function recordRoutesOf(m: SipMessageBase): NameAddr[] {
  return m.headers.getAll('Record-Route').map(parseNameAddr);
}

function contentLengthOf(m: SipMessageBase): number | undefined {
  const v = m.headers.get('Content-Length');
  if (v === undefined) return undefined;
  const n = parseDecimal(v.trim(), Number.MAX_SAFE_INTEGER);
  if (n < 0) throw badRequest('Malformed Content-Length');
  return n;
}

/** The Request-URI parse, tagged with the text it came from (the URI may be retargeted). */
interface ParsedRequestUri {
  readonly text: string;
  readonly uri: SipUri;
}

function requestUriOf(r: SipRequest): ParsedRequestUri {
  return { text: r.uri, uri: parseUri(r.uri) };
}

export class SipRequest extends SipMessageBase {
  readonly isRequest = true as const;
  method: string;
  /** the Request-URI exactly as received */
  uri: string;

  constructor(method: string, uri: string, version: string, headers: Headers, body: Buffer = EMPTY_BODY) {
    super(version, headers, body);
    this.method = method;
    this.uri = uri;
  }

  /**
   * An independent copy for forking (RFC 3261 §16.6 step 1: each target gets its own copy). Header fields
   * are immutable and shared; the header list, start line and body reference are per copy.
   */
  clone(): SipRequest {
    const c = new SipRequest(this.method, this.uri, this.version, this.headers.clone(), this.body);
    c.origin = this.origin;
    return c;
  }

  /** The Request-URI parsed; cached per URI text. 416 for schemes other than sip/sips/tel. */
  requestUri(): SipUri {
    let parsed = this.headers.memoize('ruri', requestUriOf, this);
    if (parsed.text !== this.uri) {
      // Retargeted since (§16.5): parse the new text and cache that instead.
      parsed = requestUriOf(this);
      this.headers.remember('ruri', parsed);
    }
    return parsed.uri;
  }
}

export class SipResponse extends SipMessageBase {
  readonly isRequest = false as const;
  status: number;
  reason: string;

  constructor(status: number, reason: string, version: string, headers: Headers, body: Buffer = EMPTY_BODY) {
    super(version, headers, body);
    this.status = status;
    this.reason = reason;
  }

  clone(): SipResponse {
    const c = new SipResponse(this.status, this.reason, this.version, this.headers.clone(), this.body);
    c.origin = this.origin;
    return c;
  }
}

export type SipMessage = SipRequest | SipResponse;
