/**
 * Wire → model. One pass over the bytes finds the start line and every header boundary (memchr via
 * Buffer.indexOf, no regular expressions); header values are decoded and parsed only when asked for.
 * Whatever the input, the only exception that leaves parseMessage is a SipParseError.
 */
import { SipParseError, badRequest } from './errors.js';
import { HeaderName, foldedHashStep, headerName, knownHeaderNameHashed } from './header-names.js';
import { HeaderField, Headers } from './headers.js';
import { SipMessage, SipRequest, SipResponse, WireOrigin } from './message.js';
import { isTokenChar, parseDecimal } from './syntax.js';

/** Node's internal one-byte decoder, skipping Buffer#toString's argument normalisation on the hot path. */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };
const latin1 = (buf: Buffer, start: number, end: number): string => (buf as Latin1Buffer).latin1Slice(start, end);

const SP = 32;
const HT = 9;
const CR = 13;
const LF = 10;
const COLON = 58;

function isVersion(v: string): boolean {
  // RFC 3261 §25.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (literal is case-insensitive, §25).
  if (v.length < 7 || v.slice(0, 4).toUpperCase() !== 'SIP/') return false;
  const dot = v.indexOf('.', 4);
  if (dot <= 4 || dot === v.length - 1) return false;
  for (let i = 4; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (i !== dot && (c < 48 || c > 57)) return false;
  }
  return true;
}

const PLACEHOLDER: HeaderName = { key: '', canonical: '' };

/**
 * The methods every node sees, as one shared string each: a transaction keeps its method for 64·T1,
 * and a slice of the start line would be a new string per request.
 */
const METHODS = new Map(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH',
  'INFO', 'REFER', 'MESSAGE', 'UPDATE'].map((m) => [m, m]));

interface HeadScan {
  fields: HeaderField[];
  bodyStart: number;
  complete: boolean;
  contentLength: number;
}

/** Scans header lines from `pos` up to the empty line; folds continuation lines into their header. */
function scanHeaders(buf: Buffer, pos: number): HeadScan {
  const len = buf.length;
  const fields: HeaderField[] = [];
  let clCount = 0;
  let clValue = -1;
  // the header being assembled (it may continue on folded lines)
  let hn: HeaderName = PLACEHOLDER;
  let ls = -1;
  let le = 0;
  let vs = 0;
  let ve = 0;
  let folded = false;

  const emit = (): void => {
    if (ls < 0) return;
    const f = new HeaderField(hn.canonical, hn.key, undefined, buf, ls, le, vs, ve, folded);
    fields.push(f);
    if (hn.key === 'content-length') {
      clCount++;
      clValue = clCount === 1 ? parseDecimal(f.value.trim(), Number.MAX_SAFE_INTEGER) : -1;
    }
    ls = -1;
  };

  // A malformed line is remembered and skipped, so the 400 can still copy the well-formed headers.
  let firstError: SipParseError | null = null;
  const finish = (bodyStart: number, complete: boolean): HeadScan => {
    emit();
    if (firstError !== null) {
      firstError.headers = new Headers(fields);
      throw firstError;
    }
    return { fields, bodyStart, complete, contentLength: clCount === 1 ? clValue : -1 };
  };

  let p = pos;
  while (p < len) {
    const c = buf[p];
    if (c === CR && p + 1 < len && buf[p + 1] === LF) return finish(p + 2, true);
    if (c === LF) return finish(p + 1, true);
    let nl = buf.indexOf(LF, p);
    const next = nl < 0 ? len : nl + 1;
    if (nl < 0) nl = len;
    let e = nl > p && buf[nl - 1] === CR ? nl - 1 : nl;
    if (c === SP || c === HT) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header value.
      if (ls < 0) {
        firstError ??= badRequest('Header continuation without a header');
        p = next;
        continue;
      }
      let te = e;
      while (te > p && (buf[te - 1] === SP || buf[te - 1] === HT)) te--;
      if (te > p) {
        if (ve === vs) vs = p;
        ve = te;
        folded = true;
      }
      le = e;
      p = next;
      continue;
    }
    emit();
    // The usual line: a token, optional blanks, then the colon. One pass finds the name's end,
    // checks its characters and hashes it for the known-name lookup.
    let ne = p;
    let hash = 0;
    for (; ne < e && isTokenChar(buf[ne]); ne++) hash = foldedHashStep(hash, buf[ne]);
    let colon = ne;
    while (colon < e && (buf[colon] === SP || buf[colon] === HT)) colon++;
    if (ne > p && colon < e && buf[colon] === COLON) {
      hn = knownHeaderNameHashed(buf, p, ne, hash) ?? headerName(latin1(buf, p, ne));
    } else {
      // Anything else is malformed; say how (the first colon decides where the name was meant to end).
      firstError ??= badRequest(malformedNameReason(buf, p, e));
      p = next;
      continue;
    }
    let v = colon + 1;
    while (v < e && (buf[v] === SP || buf[v] === HT)) v++;
    while (e > v && (buf[e - 1] === SP || buf[e - 1] === HT)) e--;
    ls = p;
    le = nl > p && buf[nl - 1] === CR ? nl - 1 : nl;
    vs = v;
    ve = e;
    folded = false;
    p = next;
  }
  // Head ran to the end of the input without an empty line: accepted as a message without body.
  return finish(len, false);
}

/** Why a header line has no well-formed `name:` prefix. */
function malformedNameReason(buf: Buffer, p: number, e: number): string {
  let colon = -1;
  for (let i = p; i < e; i++) {
    if (buf[i] === COLON) {
      colon = i;
      break;
    }
  }
  if (colon < 0) return 'Malformed header line';
  let ne = colon;
  while (ne > p && (buf[ne - 1] === SP || buf[ne - 1] === HT)) ne--;
  return ne === p ? 'Empty header name' : 'Malformed header name';
}

function parseInner(buf: Buffer): SipMessage {
  const len = buf.length;
  let pos = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored (stream keep-alives, RFC 5626 §4.4.1).
  while (pos < len && (buf[pos] === CR || buf[pos] === LF)) pos++;
  if (pos >= len) throw badRequest('Empty message', 'drop');
  const nl = buf.indexOf(LF, pos);
  const lineEnd = nl < 0 ? len : nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
  const headStart = pos;
  const start = latin1(buf, pos, lineEnd);
  const isResponse = start.length >= 4 && start.slice(0, 4).toUpperCase() === 'SIP/';
  let head: HeadScan;
  try {
    head = scanHeaders(buf, nl < 0 ? len : nl + 1);
  } catch (e) {
    if (e instanceof SipParseError && isResponse) throw new SipParseError(e.status, e.reason, 'drop');
    // A request whose start line is also broken gets the start-line verdict first (as if read in order).
    throw e;
  }
  const headers = new Headers(head.fields);

  let body: Buffer;
  const rest = len - head.bodyStart;
  if (head.contentLength >= 0 && head.contentLength <= rest) {
    // RFC 3261 §18.3: octets beyond Content-Length in a datagram are discarded.
    body = buf.subarray(head.bodyStart, head.bodyStart + head.contentLength);
  } else {
    body = buf.subarray(head.bodyStart);
  }

  const sp1 = start.indexOf(' ');
  if (isResponse) {
    if (sp1 < 0) throw badRequest('Malformed Status-Line', 'drop');
    const version = start.slice(0, sp1);
    if (!isVersion(version)) throw badRequest('Malformed SIP-Version', 'drop');
    const code = start.slice(sp1 + 1, sp1 + 4);
    const after = start.charCodeAt(sp1 + 4);
    const codeOk = code.length === 3 && /^[1-6][0-9][0-9]$/.test(code) && (sp1 + 4 === start.length || after === SP);
    // RFC 4475 §3.1.2.19: an out-of-range status code cannot be processed; responses are never answered.
    if (!codeOk) throw badRequest('Malformed Status-Code', 'drop');
    const reason = sp1 + 4 < start.length ? buf.toString('utf8', headStart + sp1 + 5, lineEnd) : '';
    const res = new SipResponse(Number(code), reason, version, headers, body);
    res.origin = origin(buf, headStart, head, lineEnd, version, code, reason);
    return res;
  }

  const fail = (detail: string): SipParseError => {
    const err = badRequest(detail);
    err.headers = headers;
    return err;
  };
  // RFC 3261 §7.1: Method SP Request-URI SP SIP-Version, single spaces (RFC 4475 §3.1.2.9/§3.1.2.10).
  if (sp1 <= 0) throw fail('Malformed Request-Line');
  const sp2 = start.indexOf(' ', sp1 + 1);
  if (sp2 < 0) throw fail('Malformed Request-Line');
  const written = start.slice(0, sp1);
  const method = METHODS.get(written) ?? written;
  const uri = start.slice(sp1 + 1, sp2);
  const version = start.slice(sp2 + 1);
  for (let i = 0; i < method.length; i++) if (!isTokenChar(method.charCodeAt(i))) throw fail('Malformed method');
  if (uri.length === 0) throw fail('Malformed Request-Line');
  if (version.indexOf(' ') >= 0 || version.indexOf('\t') >= 0) throw fail('Malformed Request-Line');
  if (!isVersion(version)) throw fail('Malformed SIP-Version');
  // RFC 4475 §3.1.2.7: the Request-URI is never enclosed in <>; it must at least look like scheme ":" ...
  if (!/^[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20\x7f<>"]*$/.test(uri)) throw fail('Malformed Request-URI');
  const req = new SipRequest(method, uri, version, headers, body);
  req.origin = origin(buf, headStart, head, lineEnd, method, uri, version);
  return req;
}

function origin(src: Buffer, headStart: number, head: HeadScan, startLineEnd: number,
  first: string, second: string, third: string): WireOrigin {
  return {
    src, headStart, headEnd: head.bodyStart, startLineEnd, first, second, third,
    contentLength: head.contentLength, complete: head.complete,
  };
}

/**
 * Parses one SIP message (a whole datagram, or one framed stream message). The returned message
 * references `buf` (body and unchanged headers are not copied), so the caller must not reuse `buf`.
 * Throws SipParseError only: action 'reject' means answer with err.status/err.reason (err.headers
 * holds what could be framed), 'drop' means discard silently.
 */
export function parseMessage(buf: Buffer): SipMessage {
  try {
    return parseInner(buf);
  } catch (e) {
    if (e instanceof SipParseError) throw e;
    // A bug here must not take the node down on hostile input; it becomes a silent drop.
    throw badRequest('Unparseable message', 'drop');
  }
}
