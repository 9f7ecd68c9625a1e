// The few URI facts routing needs (RFC 3261 §19.1.1, §20.10 name-addr): host, port, transport
// and lr parameters. URIs go through node/sip's parser; a value it cannot read yields undefined
// and the caller answers 400/416 instead of crashing.

import { parseUri, uriOfNameAddr, type SipUri } from '../sip/index.js';

export { uriOfNameAddr };

export interface SipUriParts {
  readonly scheme: string;
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  /** URI parameters, names lowercased; a flag parameter (`lr`) maps to null. */
  readonly params: ReadonlyMap<string, string | null>;
}

/** JavaScript's `\s` (what the parameter grammar's LWS was matched with before this was a scan). */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** `tag`, any case, at `i`. */
function isTagName(s: string, i: number): boolean {
  return (s.charCodeAt(i) | 0x20) === 0x74 && (s.charCodeAt(i + 1) | 0x20) === 0x61 && (s.charCodeAt(i + 2) | 0x20) === 0x67;
}

/**
 * The `tag` header parameter of a From/To value ('' when absent): the first `;tag=value` after the
 * URI (after `>`, or after the first `;` of an addr-spec), LWS allowed around `=`. A scan, not a
 * regular expression: it runs several times for every request the proxy handles.
 */
export function tagOf(value: string | undefined): string {
  if (value === undefined) return '';
  const gt = value.lastIndexOf('>');
  for (let semi = value.indexOf(';', gt + 1); semi >= 0; semi = value.indexOf(';', semi + 1)) {
    let i = skipSpace(value, semi + 1);
    if (!isTagName(value, i)) continue;
    i = skipSpace(value, i + 3);
    if (value.charCodeAt(i) !== 61) continue;
    const start = skipSpace(value, i + 1);
    let end = start;
    for (let c = value.charCodeAt(end); end < value.length && c !== 59 && c !== 44 && !isSpace(c); c = value.charCodeAt(++end));
    if (end > start) return value.slice(start, end);
  }
  return '';
}

/** A sip/sips URI through node/sip's parser; undefined (never a throw) for tel:, bad or hostile text. */
export function parseSipUri(uri: string): SipUriParts | undefined {
  let u: SipUri;
  try {
    u = parseUri(uri.trim());
  } catch {
    return undefined;
  }
  if (u.scheme === 'tel' || u.host === '') return undefined;
  // The parsed URI's own parameter map: node/sip shares it read-only, so no copy is made.
  return { scheme: u.scheme, user: u.user, host: u.host.toLowerCase(), port: u.port, params: u.params };
}

/** Default port by scheme/transport (§19.1.2, §18.2: 5060, or 5061 for sips/TLS). */
export function defaultPort(u: SipUriParts): number {
  const t = (u.params.get('transport') ?? '').toLowerCase();
  return u.scheme === 'sips' || t === 'tls' || t === 'wss' ? 5061 : 5060;
}

export function uriTransport(u: SipUriParts): string {
  const t = u.params.get('transport');
  if (t) return t.toUpperCase();
  return u.scheme === 'sips' ? 'TLS' : 'UDP';
}
