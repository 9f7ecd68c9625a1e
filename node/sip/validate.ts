/**
 * Semantic checks run after parsing (RFC 3261 §8.2.1-§8.2.2, §16.3 and the RFC 4475 verdicts).
 * parseMessage only frames; these decide whether the stack may hand the message on. A request verdict
 * is the status/reason to answer with; a response verdict means "drop it" (responses are never answered).
 */
import { SipParseError, badRequest } from './errors.js';
import { headerName } from './header-names.js';
import type { HeaderField } from './headers.js';
import { SipMessage, SipRequest, SipResponse } from './message.js';
import { NameAddr } from './name-addr.js';
import { splitTopLevel } from './syntax.js';
import { parseUri, uriScheme } from './uri.js';

export interface Verdict {
  status: number;
  reason: string;
}

export interface ValidateOptions {
  /** Request-URI schemes this element serves (RFC 3261 §8.2.2.1: others get 416). Default sip, sips, tel. */
  schemes?: readonly string[];
}

const DEFAULT_SCHEMES = ['sip', 'sips', 'tel'];

/** Headers that may appear at most once with a single value (RFC 3261 §7.3.1, RFC 4475 §3.1.4.8/§3.1.4.9). */
const SINGLE = ['Call-ID', 'CSeq', 'From', 'To', 'Max-Forwards', 'Content-Length', 'Content-Type', 'Expires'];
const ONE_WORD = new Set(['Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length']);
/** RFC 3261 §8.1.1: the header fields every request (and so every response) carries, in report order. */
const REQUIRED = ['Call-ID', 'From', 'To', 'CSeq', 'Via'];

// One pass over the fields counts every header the checks below need (instead of a scan per name).
const TRACKED = [...new Set([...REQUIRED, ...SINGLE])];
const TRACKED_INDEX = new Map(TRACKED.map((name, i) => [headerName(name).key, i]));
const indexOf = (name: string): number => TRACKED_INDEX.get(headerName(name).key) as number;
const REQUIRED_AT = REQUIRED.map((name) => [name, indexOf(name)] as const);
const SINGLE_AT = SINGLE.map((name) => [name, indexOf(name), ONE_WORD.has(name)] as const);

const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
const DAYS = 'Mon Tue Wed Thu Fri Sat Sun'.split(' ');

/** RFC 3261 §20.17 SIP-date = rfc1123-date, which is always in "GMT" (RFC 4475 §3.1.2.12). */
function isSipDate(v: string): boolean {
  const m = /^([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(v.trim());
  return m !== null && DAYS.includes(m[1]) && MONTHS.includes(m[3]) && Number(m[5]) < 24 && Number(m[6]) < 60 && Number(m[7]) < 61;
}

function verdictOf(e: unknown): Verdict {
  if (e instanceof SipParseError) return { status: e.status, reason: e.reason };
  return { status: 400, reason: 'Bad Request' };
}

/**
 * A sip/sips/tel URI inside an address header must be well-formed; other schemes are opaque here
 * (RFC 4475 §3.1.4.4: unknown schemes in To/From/Contact do not make the message malformed).
 */
function checkAddressUri(na: NameAddr): void {
  const scheme = uriScheme(na.uri);
  if (scheme === 'sip' || scheme === 'sips' || scheme === 'tel') parseUri(na.uri);
}

/** A header check's failure, with the header named in the reason phrase ("Bad Request - Via: Empty header parameter"). */
function named(name: string, e: unknown): unknown {
  if (e instanceof SipParseError && e.status === 400 && e.reason.startsWith('Bad Request - ') && !e.reason.includes(name)) {
    return badRequest(`${name}: ${e.reason.slice('Bad Request - '.length)}`);
  }
  return e;
}

/** A list header line with an empty element: blank, or ",," / a leading or trailing comma. */
function emptyListElement(line: string): boolean {
  // Most lines hold one value: without a comma, splitting would only trim it.
  if (line.indexOf(',') < 0) return line.trim() === '';
  return splitTopLevel(line).includes('');
}

// Scratch for checkCommon's one pass (validation is synchronous and never re-entered).
const counts = new Array<number>(TRACKED.length).fill(0);
const firsts = new Array<HeaderField | undefined>(TRACKED.length).fill(undefined);

function checkCommon(msg: SipMessage): void {
  counts.fill(0);
  firsts.fill(undefined);
  for (const f of msg.headers.list()) {
    const i = TRACKED_INDEX.get(f.key);
    if (i === undefined) continue;
    if (counts[i]++ === 0) firsts[i] = f;
  }
  for (const [name, i] of REQUIRED_AT) if (counts[i] === 0) throw badRequest(`Missing ${name}`);
  for (const [name, i, oneWord] of SINGLE_AT) {
    if (counts[i] > 1) throw badRequest(`Multiple ${name} values`);
    // Call-ID, CSeq, Max-Forwards and Content-Length cannot contain a comma at all.
    if (counts[i] === 1 && oneWord && (firsts[i] as HeaderField).value.indexOf(',') >= 0) throw badRequest(`Multiple ${name} values`);
  }
  // Each check below names its header in the reason phrase; one try (no closure per header per message).
  let header = 'Via';
  try {
    // Every Via value must parse; empty list elements (",,") are not allowed by §25.1 via-parm lists.
    for (const line of msg.headers.getLines('Via')) if (emptyListElement(line)) throw badRequest('Empty Via value');
    msg.vias();
    header = 'From';
    checkAddressUri(msg.from());
    header = 'To';
    checkAddressUri(msg.to());
    header = 'Call-ID';
    msg.callId();
    header = 'CSeq';
    msg.cseq();
    header = 'Max-Forwards';
    msg.maxForwards();
    header = 'Contact';
    for (const line of msg.headers.getLines('Contact')) {
      if (line === '' || (line.indexOf(',') >= 0 && splitTopLevel(line).includes(''))) throw badRequest('Empty Contact value');
    }
    const contacts = msg.contacts();
    if (contacts !== '*') for (const c of contacts) checkAddressUri(c);
    header = 'Route';
    for (const r of msg.routes()) checkAddressUri(r);
    header = 'Record-Route';
    for (const r of msg.recordRoutes()) checkAddressUri(r);
  } catch (e) {
    throw named(header, e);
  }
  const date = msg.headers.get('Date');
  if (date !== undefined && !isSipDate(date)) throw badRequest('Malformed Date');
  let cl: number | undefined;
  try {
    cl = msg.contentLength();
  } catch (e) {
    throw named('Content-Length', e);
  }
  // RFC 3261 §18.3: a datagram shorter than its Content-Length is rejected (RFC 4475 §3.1.2.2).
  if (cl !== undefined && cl > msg.body.length) throw badRequest('Content-Length larger than message body');
}

export function validateRequest(req: SipRequest, opts: ValidateOptions = {}): Verdict | null {
  try {
    // RFC 3261 §8.2.2: unknown versions get 505 (RFC 4475 §3.1.2.16).
    if (req.version.toUpperCase() !== 'SIP/2.0') return { status: 505, reason: 'Version Not Supported' };
    checkCommon(req);
    const cseq = req.cseq();
    // RFC 3261 §8.2.1 / RFC 4475 §3.1.2.17-18: the CSeq method must equal the request method.
    if (cseq.method !== req.method) return { status: 400, reason: 'Bad Request - CSeq method does not match request method' };
    const scheme = uriScheme(req.uri);
    const schemes = opts.schemes ?? DEFAULT_SCHEMES;
    if (scheme === undefined) return { status: 400, reason: 'Bad Request - Malformed Request-URI' };
    if (!schemes.includes(scheme)) return { status: 416, reason: 'Unsupported URI Scheme' };
    if (scheme === 'sip' || scheme === 'sips' || scheme === 'tel') {
      const uri = req.requestUri();
      // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
      if (uri.headers.size > 0) return { status: 400, reason: 'Bad Request - Headers in Request-URI' };
    }
    return null;
  } catch (e) {
    return verdictOf(e);
  }
}

export function validateResponse(res: SipResponse): Verdict | null {
  try {
    if (res.version.toUpperCase() !== 'SIP/2.0') return { status: 505, reason: 'Version Not Supported' };
    checkCommon(res);
    return null;
  } catch (e) {
    return verdictOf(e);
  }
}
