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

/** Parses `sip:` / `sips:` URIs; null for anything else (tel:, malformed, oversized). */
export function parseSipUri(raw: string): SipUriParts | null {
  const s = raw.trim();
  if (s.length === 0 || s.length > MAX_URI_LENGTH) return null;
  const m = /^(sips?):/i.exec(s);
  if (m === null) return null;
  const scheme = m[1].toLowerCase() as 'sip' | 'sips';
  let rest = s.slice(m[0].length);
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
    try {
      user = decodeURIComponent(rawUser);
    } catch {
      return null;
    }
    hostAndParams = rest.slice(at + 1);
  }
  const [hostport, ...paramParts] = hostAndParams.split(';');
  let host: string;
  let portText: string | null = null;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return null;
    host = hostport.slice(0, close + 1);
    const after = hostport.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return null;
      portText = after.slice(1);
    }
  } else {
    const colon = hostport.indexOf(':');
    host = colon >= 0 ? hostport.slice(0, colon) : hostport;
    portText = colon >= 0 ? hostport.slice(colon + 1) : null;
  }
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)$/.test(host)) return null;
  let port: number | null = null;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port > 65535) return null;
  }
  const params: Array<[string, string | null]> = [];
  for (const p of paramParts) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    params.push(eq >= 0 ? [p.slice(0, eq).toLowerCase(), p.slice(eq + 1)] : [p.toLowerCase(), null]);
  }
  return { scheme, user, host: host.toLowerCase(), port, params };
}

/** Pulls the URI out of a name-addr (`"Bob" <sip:bob@x>;tag=1`) or returns an addr-spec as is. */
export function uriOfNameAddr(value: string): string {
  const lt = value.indexOf('<');
  if (lt < 0) {
    // addr-spec form: header params follow the first ';' (RFC 3261 §20.10).
    const semi = value.indexOf(';');
    return (semi >= 0 ? value.slice(0, semi) : value).trim();
  }
  const gt = value.indexOf('>', lt);
  return value.slice(lt + 1, gt >= 0 ? gt : undefined).trim();
}

export function aorOfParts(p: SipUriParts): string {
  // Re-escape only what cannot appear literally in a SIP user part.
  const user = p.user === null ? '' : `${p.user.replace(/[\s@:;?<>"%]/g, (c) => encodeURIComponent(c))}@`;
  return `${p.scheme}:${user}${p.host}`;
}

/** Canonical AoR for a To URI / name-addr / Request-URI; null when it is not a SIP(S) URI. */
export function canonicalAor(uriOrNameAddr: string): string | null {
  const parts = parseSipUri(uriOfNameAddr(uriOrNameAddr));
  return parts === null ? null : aorOfParts(parts);
}

/**
 * Comparison key for Contact URIs (RFC 3261 §19.1.4, simplified): scheme and host are
 * case-insensitive, user is not, parameter order is irrelevant.
 */
export function contactUriKey(uri: string): string {
  const p = parseSipUri(uri);
  if (p === null) return uri.trim();
  const params = [...p.params]
    .map(([n, v]) => (v === null ? n : `${n}=${v.toLowerCase()}`))
    .sort()
    .join(';');
  return `${aorOfParts(p)}:${p.port ?? ''};${params}`;
}
