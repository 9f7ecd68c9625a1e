// Where a request goes next (RFC 3261 §16.6 items 6–7, §8.1.2). Precedence for both forwarded
// and proxy-originated (pre-loaded Route) requests: explicit next hop > first Route URI > R-URI.

import { isIP } from 'node:net';
import type { ProxyRequestMessage } from './proxy-message.js';
import type { NextHop } from './routing-decision.js';
import { defaultPort, parseSipUri, uriOfNameAddr, uriTransport } from './uri-parts.js';

export type NextHopSource = 'explicit' | 'route' | 'ruri';

export interface ResolvedNextHop extends NextHop {
  readonly source: NextHopSource;
}

/** An IPv4 literal or a bracketed IPv6 reference (RFC 3261 §25.1 IPv6reference): no DNS at all. */
function isIpLiteral(host: string): boolean {
  return host.charCodeAt(0) === 91 || isIP(host) !== 0;
}

/**
 * §4.1: a SIP URI naming no transport (its host a name, no port: checked by the caller) has NAPTR
 * choose one. A SIPS URI's only NAPTR service is SIPS+D2T: it goes straight to that transport's
 * default (TLS, SRV `_sips._tcp`), as if the one applicable record had been found.
 */
function leavesTransportToNaptr(u: { readonly scheme: string; readonly params: ReadonlyMap<string, unknown> }): boolean {
  return u.scheme.toLowerCase() === 'sip' && !u.params.has('transport');
}

// RFC 3263 §4.2: with no explicit port a host name is located by SRV; the hop says so with `srv`
// (the transport skips DNS for an IP literal whatever the flag says). With no transport parameter
// either, §4.1 has NAPTR choose the transport first: `naptr` (the proxy asks before writing its Via).
export function hopFromUri(uri: string): NextHop | undefined {
  const u = parseSipUri(uri);
  if (u === undefined) return undefined;
  // §19.1.1 maddr overrides the host for where to send.
  const host = u.params.get('maddr') || u.host;
  if (u.port !== undefined || isIpLiteral(host)) return { host, port: u.port ?? defaultPort(u), transport: uriTransport(u) };
  return !leavesTransportToNaptr(u)
    ? { host, port: defaultPort(u), transport: uriTransport(u), srv: true }
    : { host, port: defaultPort(u), transport: uriTransport(u), srv: true, naptr: true };
}

/** hopFromUri tagged with where the URI came from, built as one object (no copy to add the tag). */
function resolvedHop(uri: string, source: NextHopSource): ResolvedNextHop | undefined {
  const u = parseSipUri(uri);
  if (u === undefined) return undefined;
  const host = u.params.get('maddr') || u.host;
  if (u.port !== undefined || isIpLiteral(host)) return { host, port: u.port ?? defaultPort(u), transport: uriTransport(u), source };
  return !leavesTransportToNaptr(u)
    ? { host, port: defaultPort(u), transport: uriTransport(u), srv: true, source }
    : { host, port: defaultPort(u), transport: uriTransport(u), srv: true, naptr: true, source };
}

/** Pure: does not modify `req`. Undefined when no usable SIP URI was found. */
export function resolveNextHop(req: ProxyRequestMessage, explicit?: NextHop): ResolvedNextHop | undefined {
  if (explicit !== undefined) return { ...explicit, source: 'explicit' };
  const route = req.headers.get('Route');
  return route !== undefined ? resolvedHop(uriOfNameAddr(route), 'route') : resolvedHop(req.uri, 'ruri');
}

/**
 * §16.6 item 6 / §16.12.1.2: when the first Route URI lacks `lr` the next hop is a strict router:
 * it must receive its own URI as the Request-URI, with the real R-URI appended as the last Route.
 * Mutates `req`; returns whether it rewrote.
 */
export function applyStrictRouting(req: ProxyRequestMessage): boolean {
  const routes = req.headers.getAll('Route');
  if (routes.length === 0) return false;
  const first = parseSipUri(uriOfNameAddr(routes[0]));
  if (first === undefined || first.params.has('lr')) return false;
  const oldRuri = req.uri;
  req.uri = uriOfNameAddr(routes[0]);
  req.headers.remove('Route');
  for (const r of routes.slice(1)) req.headers.append('Route', r);
  req.headers.append('Route', `<${oldRuri}>`);
  return true;
}
