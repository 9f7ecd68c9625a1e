/**
 * Address-of-record canonicalisation (RFC 3261 §10.3 step 5): scheme and host lowercased, user
 * unescaped and kept case-sensitive (§19.1.4), port, password, URI parameters and headers removed.
 * Also the small SIP-URI splitter the registrar needs for Contact keys and GRUUs.
 */

import { parseUri, uriOfNameAddr, type SipUri } from '../sip/index.js';
import { flatKey } from '../util/index.js';

export { uriOfNameAddr };

export interface SipUriParts {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | null;
  readonly host: string;
  readonly port: number | null;
  /** URI parameters, names lowercased, values unescaped (null for a bare flag like `lr`). */
  readonly params: ReadonlyArray<readonly [string, string | null]>;
}

/** Longer URIs are not bound: no real AoR or Contact needs more, and the registrar keeps them. */
const MAX_URI_LENGTH = 2048;

/** A `sip:`/`sips:` URI through node/sip's parser; null for anything else (tel:, malformed, oversized). */
export function parseSipUri(raw: string): SipUriParts | null {
  const text = raw.trim();
  if (text.length > MAX_URI_LENGTH) return null;
  let u: SipUri;
  try {
    u = parseUri(text);
  } catch {
    return null;
  }
  if (u.scheme === 'tel' || u.host === '') return null;
  return { scheme: u.scheme, user: u.user ?? null, host: u.host.toLowerCase(), port: u.port ?? null, params: [...u.params] };
}

const NEEDS_ESCAPE = /[\s@:?<>"%]/;

export function aorOfParts(p: SipUriParts): string {
  // Flattened: an AoR is a long-lived map key (see flatKey).
  return flatKey(aorText(p));
}

/** The canonical AoR text, not yet flattened (a contact key embeds it and flattens once). */
function aorText(p: SipUriParts): string {
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
  const prefix = `${aorText(p)}:${p.port ?? ''};`;
  if (p.params.length === 0) return flatKey(prefix);
  // One parameter (a Contact's usual transport=) needs no array to sort and join.
  if (p.params.length === 1) return flatKey(prefix + paramKey(p.params[0]));
  const params = p.params.map(paramKey).sort().join(';');
  return flatKey(prefix + params);
}

function paramKey([n, v]: readonly [string, string | null]): string {
  return v === null ? n : `${n}=${v.toLowerCase()}`;
}
