/**
 * name-addr / addr-spec values of From, To, Contact, Route, Record-Route, Reply-To, Refer-To...
 * (RFC 3261 §20.10, §25.1, clarified by RFC 8217). In the addr-spec form, everything after the first `;`
 * belongs to the header, not the URI (§20.10), so a URI with `,` `;` or `?` must be in <>.
 */
import { badRequest } from './errors.js';
import { Params, formatParams, parseParamsAt } from './params.js';
import { isTokenChar, isWs, quote, readQuoted, skipWs } from './syntax.js';
import { uriScheme } from './uri.js';

export interface NameAddr {
  displayName?: string;
  /** the URI text as written (any scheme) */
  uri: string;
  params: Params;
}

/**
 * Characters an addr-spec never holds raw: controls, SP (RFC 4475 §3.1.2.14: no LWS inside it),
 * DEL, `<` `>` `"`. One character class, so the search is linear; on the sliced strings the URI
 * arrives as, V8's regex scan is about twice as fast as a charCodeAt loop.
 */
const NOT_IN_URI = /[\x00-\x20\x7f<>"]/;

function checkUriText(uri: string): void {
  if (uriScheme(uri) === undefined || NOT_IN_URI.test(uri)) throw badRequest('Malformed URI in name-addr');
}

export function parseNameAddr(text: string): NameAddr {
  const s = text;
  let i = skipWs(s, 0);
  if (i >= s.length) throw badRequest('Empty address');
  let displayName: string | undefined;
  let uri: string;
  const c0 = s.charCodeAt(i);
  const lt = c0 === 34 || c0 === 60 ? i : topLevelAngle(s, i);
  if (c0 === 34 || lt >= 0) {
    if (c0 === 34) {
      const q = readQuoted(s, i);
      displayName = q.text;
      i = skipWs(s, q.end);
    } else if (c0 !== 60) {
      // RFC 3261 §25.1 display-name = *(token LWS) / quoted-string; RFC 4475 §3.1.2.15: anything else is a 400.
      for (let j = i; j < lt; j++) {
        const c = s.charCodeAt(j);
        if (!isTokenChar(c) && !isWs(c)) throw badRequest('Unquoted display name contains non-token characters');
      }
      displayName = collapseBlanks(s.slice(i, lt).trim());
      i = lt;
    }
    if (s.charCodeAt(i) !== 60) throw badRequest('Expected < in name-addr');
    const gt = s.indexOf('>', i);
    if (gt < 0) throw badRequest('Unterminated <> in name-addr');
    uri = s.slice(i + 1, gt);
    i = gt + 1;
  } else {
    // addr-spec: the URI ends at the first `;` or whitespace.
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 59 || isWs(c)) break;
      if (c === 44 || c === 63 || c === 60 || c === 62 || c === 34) throw badRequest('URI with , ? or <> must be enclosed in <>');
      i++;
    }
    uri = s.slice(start, i);
  }
  checkUriText(uri);
  const params: Params = new Map();
  i = parseParamsAt(s, i, params);
  if (skipWs(s, i) !== s.length) throw badRequest('Trailing characters after address');
  const na: NameAddr = { uri, params };
  if (displayName !== undefined && displayName.length > 0) na.displayName = displayName;
  return na;
}

/** Runs of blanks in an unquoted display name become one space; most names ("sipp", "Bob") have none to fold. */
function collapseBlanks(name: string): string {
  if (name.indexOf('  ') < 0 && name.indexOf('\t') < 0 && name.indexOf('\r') < 0 && name.indexOf('\n') < 0) return name;
  return name.replace(/[ \t\r\n]+/g, ' ');
}

/** Index of the first `<` outside quoted strings at or after `i`, or -1 (then the value is an addr-spec). */
function topLevelAngle(s: string, i: number): number {
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 60) return j;
    if (c === 34) {
      j++;
      while (j < s.length && s.charCodeAt(j) !== 34) j += s.charCodeAt(j) === 92 ? 2 : 1;
    }
  }
  return -1;
}

export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined && na.displayName !== '' ? quote(na.displayName) + ' ' : '';
  return `${dn}<${na.uri}>${formatParams(na.params)}`;
}

/** The tag parameter (RFC 3261 §19.3) of a From/To value, if present. */
export function tagOf(na: NameAddr): string | undefined {
  const t = na.params.get('tag');
  return t === null || t === undefined ? undefined : t;
}

/** Index of the `<` opening a name-addr's URI, skipping a quoted display name; -1 when none. */
function openingAngle(value: string): number {
  let inQuote = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60 /* < */) return i;
  }
  return -1;
}

/**
 * The URI of a name-addr (`"Bob" <sip:bob@x>;tag=1`) or an addr-spec as is (§20.10: its header
 * parameters follow the first ';'). Never throws: a hot-path helper for routing and the registrar.
 */
export function uriOfNameAddr(value: string): string {
  const lt = value.indexOf('"') < 0 ? value.indexOf('<') : openingAngle(value);
  if (lt < 0) {
    const semi = value.indexOf(';');
    return (semi >= 0 ? value.slice(0, semi) : value).trim();
  }
  const gt = value.indexOf('>', lt);
  return value.slice(lt + 1, gt >= 0 ? gt : undefined).trim();
}
