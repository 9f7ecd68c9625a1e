/**
 * SIP, SIPS (RFC 3261 §19.1, §25.1) and tel (RFC 3966) URIs. Components are stored unescaped
 * (§19.1.4 compares URIs after unescaping); formatUri re-escapes what each component's grammar forbids.
 */
import { SipParseError, badRequest } from './errors.js';
import { Params } from './params.js';

export type UriScheme = 'sip' | 'sips' | 'tel';

/** A parsed URI; read-only, so its parameter map can be shared by whoever derives from it. */
export interface SipUri {
  readonly scheme: UriScheme;
  /** user part (sip/sips) or the telephone-subscriber number (tel) */
  readonly user?: string;
  readonly password?: string;
  /** host as written; IPv6 references keep their brackets. Empty for tel. */
  readonly host: string;
  readonly port?: number;
  /** uri-parameters, names lower-cased, values unescaped; null for a parameter without value */
  readonly params: ReadonlyMap<string, string | null>;
  /** URI headers after `?` (sip/sips only), unescaped */
  readonly headers: ReadonlyMap<string, string>;
}

/** The scheme of a URI text, lower-cased, or undefined when there is no syntactically valid scheme. */
export function uriScheme(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  for (let i = 0; i < colon; i++) {
    const c = text.charCodeAt(i);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    if (!(alpha || (i > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)))) return undefined;
  }
  return text.slice(0, colon).toLowerCase();
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes %HH escapes (RFC 3261 §25.1 escaped); malformed escapes are a 400. */
export function uriUnescape(s: string): string {
  if (s.indexOf('%') < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      const h = i + 2 < s.length ? hexVal(s.charCodeAt(i + 1)) : -1;
      const l = i + 2 < s.length ? hexVal(s.charCodeAt(i + 2)) : -1;
      if (h < 0 || l < 0) throw badRequest('Malformed escape in URI');
      bytes.push(h * 16 + l);
      i += 2;
    } else if (c < 128) {
      bytes.push(c);
    } else {
      // Raw non-ASCII (allowed in display contexts by lenient peers): keep it as UTF-8, whole code point.
      const cp = s.codePointAt(i) as number;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const UNRESERVED = "-_.!~*'()";
const USER_SAFE = new Set([...UNRESERVED, ...'&=+$,;?/']);
const PASSWORD_SAFE = new Set([...UNRESERVED, ...'&=+$,']);
const PARAM_SAFE = new Set([...UNRESERVED, ...'[]/:&+$']);
const HEADER_SAFE = new Set([...UNRESERVED, ...'[]/?:+$']);

function escapeWith(s: string, safe: Set<string>): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (alnum || safe.has(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

/**
 * Characters that can never appear raw in a URI (whitespace, controls, delimiters of the header
 * grammar). One character class, so the search is linear; on the sliced strings URIs arrive as,
 * V8's regex scan beats a charCodeAt loop.
 */
const NEVER_RAW = /[\x00-\x20\x7f"<>\\`{}|^]/;

function checkRaw(s: string): void {
  if (NEVER_RAW.test(s)) throw badRequest('Malformed URI');
}

/** Anything but a hostname character (alphanumerics, `-` and `.`). */
const NOT_HOSTNAME = /[^A-Za-z0-9.-]/;

function checkHost(host: string): void {
  if (host.length === 0) throw badRequest('Missing host in URI');
  if (host.charCodeAt(0) === 91) {
    if (host.charCodeAt(host.length - 1) !== 93 || host.length < 4) throw badRequest('Malformed IPv6 reference');
    for (let i = 1; i < host.length - 1; i++) {
      const c = host.charCodeAt(i);
      if (!(hexVal(c) >= 0 || c === 58 || c === 46)) throw badRequest('Malformed IPv6 reference');
    }
    return;
  }
  // RFC 3261 §25.1: a hostname's labels begin with an alphanumeric, so never with '-' or '.'.
  const first = host.charCodeAt(0);
  if (first === 45 || first === 46 || NOT_HOSTNAME.test(host)) throw badRequest('Malformed host in URI');
}

/** uri-parameters of s[start, end): `name[=value]` separated by `;` (RFC 3261 §19.1.1). */
function parseUriParams(s: string, start: number, end: number, into: Params): void {
  let i = start;
  while (i <= end) {
    let semi = s.indexOf(';', i);
    if (semi < 0 || semi > end) semi = end;
    if (semi === i) throw badRequest('Empty URI parameter');
    // Searched within this parameter only: indexOf to the end of the URI for each of thousands of
    // valueless parameters would be quadratic in the URI's length.
    let eq = -1;
    for (let k = i; k < semi; k++) {
      if (s.charCodeAt(k) === 61) {
        eq = k;
        break;
      }
    }
    const name = uriUnescape(s.slice(i, eq < 0 ? semi : eq)).toLowerCase();
    if (name.length === 0) throw badRequest('Empty URI parameter name');
    into.set(name, eq < 0 ? null : uriUnescape(s.slice(eq + 1, semi)));
    i = semi + 1;
  }
}

/**
 * The params/headers of a URI that has none. A URI is parsed several times per message (validation,
 * routing, registrar) and most have no headers and many no parameters: sharing one empty map saves
 * two Map allocations per parse. Parsed URIs are read-only by convention; writing to these throws.
 */
class EmptyMap<V> extends Map<string, V> {
  override set(key: string, _value: V): this {
    // The constructor's own initialisation never calls set (no entries); any later write is a bug.
    throw new TypeError(`parsed URI maps are read-only (set ${key})`);
  }
}
const NO_PARAMS: Params = new EmptyMap<string | null>();
const NO_HEADERS: Map<string, string> = new EmptyMap<string>();

/**
 * The last few URIs parsed, by their exact text. One message has its URIs parsed by several layers
 * (validation checks From/To/Contact, the registrar keys the same To and Contact, the proxy reads the
 * Request-URI again), and a REGISTER's From and To are usually one URI. Parsing is a pure function
 * of the text and the result is read-only, so a repeat returns the earlier object. Long texts are
 * not kept: comparing them costs more than it saves, and the slots must not pin big strings.
 */
const RECENT_SLOTS = 8; // a power of two (slots wrap with a mask)
const RECENT_MAX_LENGTH = 256;
const recentTexts: string[] = new Array<string>(RECENT_SLOTS).fill('');
const recentUris: Array<SipUri | undefined> = new Array<SipUri | undefined>(RECENT_SLOTS).fill(undefined);
let recentNext = 0;

/**
 * Parses a sip:, sips: or tel: URI. Any other scheme is a 416 (RFC 3261 §8.2.2.1); malformed text a 400.
 * The result may be shared with other callers that parsed the same text: never modify it.
 */
export function parseUri(text: string): SipUri {
  // '' is never cached (parseUriText rejects it) but fills the unused slots, so it must not be looked up.
  if (text.length > RECENT_MAX_LENGTH || text.length === 0) return parseUriText(text);
  // Newest first: a repeat usually follows within a parse or two. Different lengths (the usual
  // miss) compare in one step.
  for (let k = 1; k <= RECENT_SLOTS; k++) {
    const slot = (recentNext - k) & (RECENT_SLOTS - 1);
    if (recentTexts[slot] === text) return recentUris[slot] as SipUri;
  }
  const uri = parseUriText(text);
  recentTexts[recentNext] = text;
  recentUris[recentNext] = uri;
  recentNext = (recentNext + 1) & (RECENT_SLOTS - 1);
  return uri;
}

function parseUriText(text: string): SipUri {
  const scheme = uriScheme(text);
  if (scheme === undefined) throw badRequest('Malformed URI');
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') throw new SipParseError(416, 'Unsupported URI Scheme');
  const rest = text.slice(scheme.length + 1);
  checkRaw(rest);
  if (scheme === 'tel') {
    // RFC 3966 §3: telephone-subscriber = number *( ";" par )
    const semi = rest.indexOf(';');
    const number = semi < 0 ? rest : rest.slice(0, semi);
    if (number.length === 0) throw badRequest('Empty telephone number');
    let params: Params = NO_PARAMS;
    if (semi >= 0) parseUriParams(rest, semi + 1, rest.length, (params = new Map()));
    return { scheme, user: uriUnescape(number), password: undefined, host: '', port: undefined, params, headers: NO_HEADERS };
  }
  let hostStart = 0;
  let user: string | undefined;
  let password: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = uriUnescape(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) password = uriUnescape(userinfo.slice(colon + 1));
    if (user.length === 0) throw badRequest('Empty user part in URI');
    hostStart = at + 1;
  }
  let i = hostStart;
  if (rest.charCodeAt(i) === 91) {
    const close = rest.indexOf(']', i);
    if (close < 0) throw badRequest('Malformed IPv6 reference');
    i = close + 1;
  } else {
    while (i < rest.length) {
      const c = rest.charCodeAt(i);
      if (c === 58 || c === 59 || c === 63) break;
      i++;
    }
  }
  const host = rest.slice(hostStart, i);
  checkHost(host);
  let port: number | undefined;
  if (i < rest.length && rest.charCodeAt(i) === 58) {
    const ps = ++i;
    while (i < rest.length && rest.charCodeAt(i) >= 48 && rest.charCodeAt(i) <= 57) i++;
    if (i === ps || i - ps > 5) throw badRequest('Malformed port in URI');
    port = Number(rest.slice(ps, i));
    // Port 0 names no destination: a binding or route to it could never be sent to (§19.1.2).
    if (port > 65535 || port === 0) throw badRequest('Port out of range in URI');
  }
  if (i < rest.length && rest.charCodeAt(i) !== 59 && rest.charCodeAt(i) !== 63) throw badRequest('Malformed URI');
  const q = rest.indexOf('?', i);
  const paramEnd = q < 0 ? rest.length : q;
  let params: Params = NO_PARAMS;
  if (paramEnd > i) parseUriParams(rest, i + 1, paramEnd, (params = new Map()));
  let headers: Map<string, string> = NO_HEADERS;
  if (q >= 0) {
    headers = new Map();
    // RFC 3261 §19.1.1: headers = "?" header *( "&" header ), header = hname "=" hvalue
    for (const h of rest.slice(q + 1).split('&')) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw badRequest('Malformed URI header');
      headers.set(uriUnescape(h.slice(0, eq)), uriUnescape(h.slice(eq + 1)));
    }
  }
  // One object shape for every URI (absent parts are undefined) keeps property access monomorphic.
  return { scheme, user, password, host, port, params, headers };
}

export function formatUri(uri: SipUri): string {
  let out = uri.scheme + ':';
  if (uri.scheme === 'tel') {
    out += escapeWith(uri.user ?? '', new Set([...UNRESERVED, ...'+#*()-.']));
  } else {
    if (uri.user !== undefined) {
      out += escapeWith(uri.user, USER_SAFE);
      if (uri.password !== undefined) out += ':' + escapeWith(uri.password, PASSWORD_SAFE);
      out += '@';
    }
    out += uri.host;
    if (uri.port !== undefined) out += ':' + uri.port;
  }
  for (const [k, v] of uri.params) {
    out += ';' + escapeWith(k, PARAM_SAFE);
    if (v !== null) out += '=' + escapeWith(v, PARAM_SAFE);
  }
  let first = true;
  for (const [k, v] of uri.headers) {
    out += (first ? '?' : '&') + escapeWith(k, HEADER_SAFE) + '=' + escapeWith(v, HEADER_SAFE);
    first = false;
  }
  return out;
}

/** Parameters that, when present in either URI, must be present and equal in both (RFC 3261 §19.1.4). */
const STRICT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

function sameParam(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a === null || b === null) return a === b;
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * URI equivalence per RFC 3261 §19.1.4: scheme and host case-insensitive, user and password case-sensitive
 * (compared unescaped), an explicit port never equals an absent one, the user/ttl/method/maddr/transport
 * parameters must agree when either side has them, other parameters only when both have them, and URI
 * headers must agree in both directions. tel URIs compare the number without visual separators (RFC 3966 §4).
 */
export function uriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme === 'tel') {
    const digits = (n: string | undefined): string => (n ?? '').replace(/[-.()]/g, '');
    if (digits(a.user) !== digits(b.user)) return false;
  } else {
    if (a.user !== b.user || a.password !== b.password) return false;
    if (a.host.toLowerCase() !== b.host.toLowerCase() || a.port !== b.port) return false;
  }
  for (const p of STRICT_PARAMS) if (!sameParam(a.params.get(p), b.params.get(p))) return false;
  for (const [k, v] of a.params) if (b.params.has(k) && !sameParam(v, b.params.get(k))) return false;
  if (a.headers.size !== b.headers.size) return false;
  for (const [k, v] of a.headers) if (b.headers.get(k) !== v) return false;
  return true;
}
