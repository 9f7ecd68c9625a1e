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

/** The `tag` header parameter of a From/To value ('' when absent). */
export function tagOf(value: string | undefined): string {
  if (value === undefined) return '';
  const gt = value.lastIndexOf('>');
  const tail = gt >= 0 ? value.slice(gt + 1) : value.slice(value.indexOf(';') >= 0 ? value.indexOf(';') : value.length);
  const m = /;\s*tag\s*=\s*([^;\s,]+)/i.exec(tail);
  return m ? m[1] : '';
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
