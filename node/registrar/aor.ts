/**
 * Address-of-record canonicalisation (RFC 3261 §10.3 step 5): scheme and host lowercased, user
 * unescaped and kept case-sensitive (§19.1.4), port, password, URI parameters and headers removed.
 * Also the small SIP-URI splitter the registrar needs for Contact keys and GRUUs.
 */

export interface SipUriParts {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | null;
  readonly host: string;
  readonly port: number | null;
  /** URI parameters, names lowercased, values as written (null for a bare flag like `lr`). */
  readonly params: ReadonlyArray<readonly [string, string | null]>;
}

const MAX_URI_LENGTH = 2048;

function isHostChar(c: number): boolean {
  // ALPHA / DIGIT / "-" / "."  (RFC 3261 §25.1 hostname characters)
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46;
}

function isIpv6RefChar(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46;
}

/** Parses `sip:` / `sips:` URIs; null for anything else (tel:, malformed, oversized). Hot path: no regexes. */
export function parseSipUri(raw: string): SipUriParts | null {
  const s = raw.length > 0 && (raw.charCodeAt(0) <= 32 || raw.charCodeAt(raw.length - 1) <= 32) ? raw.trim() : raw;
  if (s.length < 5 || s.length > MAX_URI_LENGTH) return null;
  const head = s.slice(0, 5).toLowerCase();
  let scheme: 'sip' | 'sips';
  let rest: string;
  if (head === 'sips:') {
    scheme = 'sips';
    rest = s.slice(5);
  } else if (head.startsWith('sip:')) {
    scheme = 'sip';
    rest = s.slice(4);
  } else return null;
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  // The userinfo may itself contain ';' (user-param syntax), so split on the last '@' first.
  const at = rest.lastIndexOf('@');
  let user: string | null = null;
  let hostAndParams = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    const rawUser = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (rawUser.includes('%')) {
      try {
        user = decodeURIComponent(rawUser);
      } catch {
        return null;
      }
    } else user = rawUser;
    hostAndParams = rest.slice(at + 1);
  }
  const semi = hostAndParams.indexOf(';');
  const hostport = semi >= 0 ? hostAndParams.slice(0, semi) : hostAndParams;
  let hostEnd: number;
  if (hostport.charCodeAt(0) === 91 /* [ */) {
    hostEnd = hostport.indexOf(']') + 1;
    if (hostEnd <= 2) return null;
    for (let i = 1; i < hostEnd - 1; i++) if (!isIpv6RefChar(hostport.charCodeAt(i))) return null;
  } else {
    hostEnd = 0;
    while (hostEnd < hostport.length && isHostChar(hostport.charCodeAt(hostEnd))) hostEnd++;
    if (hostEnd === 0 || hostport.charCodeAt(0) === 45 || hostport.charCodeAt(0) === 46) return null;
  }
  let port: number | null = null;
  if (hostEnd < hostport.length) {
    if (hostport.charCodeAt(hostEnd) !== 58 /* : */) return null;
    const portText = hostport.slice(hostEnd + 1);
    if (portText.length === 0 || portText.length > 5) return null;
    for (let i = 0; i < portText.length; i++) {
      const c = portText.charCodeAt(i);
      if (c < 48 || c > 57) return null;
    }
    port = Number(portText);
    if (port > 65535) return null;
  }
  const host = hostport.slice(0, hostEnd).toLowerCase();
  const params: Array<[string, string | null]> = [];
  if (semi >= 0) {
    for (const p of hostAndParams.slice(semi + 1).split(';')) {
      if (p === '') continue;
      const eq = p.indexOf('=');
      params.push(eq >= 0 ? [p.slice(0, eq).toLowerCase(), p.slice(eq + 1)] : [p.toLowerCase(), null]);
    }
  }
  return { scheme, user, host, port, params };
}

/** Index of the first `<` outside a quoted display name, or -1. */
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

/** Pulls the URI out of a name-addr (`"Bob" <sip:bob@x>;tag=1`) or returns an addr-spec as is. */
export function uriOfNameAddr(value: string): string {
  const lt = value.indexOf('"') < 0 ? value.indexOf('<') : openingAngle(value);
  if (lt < 0) {
    // addr-spec form: header params follow the first ';' (RFC 3261 §20.10).
    const semi = value.indexOf(';');
    return (semi >= 0 ? value.slice(0, semi) : value).trim();
  }
  const gt = value.indexOf('>', lt);
  return value.slice(lt + 1, gt >= 0 ? gt : undefined).trim();
}

const NEEDS_ESCAPE = /[\s@:?<>"%]/;

export function aorOfParts(p: SipUriParts): string {
  if (p.user === null) return `${p.scheme}:${p.host}`;
  // Re-escape only what cannot appear literally in a SIP user part.
  const user = NEEDS_ESCAPE.test(p.user) ? p.user.replace(/[\s@:?<>"%]/g, (c) => encodeURIComponent(c)) : p.user;
  return `${p.scheme}:${user}@${p.host}`;
}

/**
 * Canonical AoR for a bare URI (e.g. a Request-URI) or a `<...>` name-addr; null when it is not a
 * SIP(S) URI. A bare URI keeps its ';' characters (they may belong to the user part).
 */
export function canonicalAor(uriOrNameAddr: string): string | null {
  const uri = uriOrNameAddr.includes('<') ? uriOfNameAddr(uriOrNameAddr) : uriOrNameAddr;
  const parts = parseSipUri(uri);
  return parts === null ? null : aorOfParts(parts);
}

/** Canonical AoR of a To/From header value (addr-spec form ends at the first ';', RFC 3261 §20.10). */
export function aorOfHeader(value: string): string | null {
  const parts = parseSipUri(uriOfNameAddr(value));
  return parts === null ? null : aorOfParts(parts);
}

/**
 * Comparison key for Contact URIs (RFC 3261 §19.1.4, simplified): scheme and host are
 * case-insensitive, user is not, parameter order is irrelevant.
 */
export function contactUriKey(uri: string): string {
  const p = parseSipUri(uri);
  return p === null ? uri.trim() : contactKeyOfParts(p);
}

export function contactKeyOfParts(p: SipUriParts): string {
  if (p.params.length === 0) return `${aorOfParts(p)}:${p.port ?? ''};`;
  const params = [...p.params]
    .map(([n, v]) => (v === null ? n : `${n}=${v.toLowerCase()}`))
    .sort()
    .join(';');
  return `${aorOfParts(p)}:${p.port ?? ''};${params}`;
}
