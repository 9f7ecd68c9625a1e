// RFC 3261 §16.4: Route information preprocessing of a received request.

import type { IsOwnAddress } from './own-address.js';
import type { ProxyRequestMessage } from './proxy-message.js';
import { defaultPort, parseSipUri, uriOfNameAddr } from './uri-parts.js';

export function uriIsOwn(uri: string, isOwnAddress: IsOwnAddress): boolean {
  const u = parseSipUri(uri);
  return u !== undefined && isOwnAddress(u.host, u.port ?? defaultPort(u));
}

export interface RouteProcessingResult {
  /** A strict router ahead of us put our Record-Route into the R-URI and we restored it. */
  readonly strictFixup: boolean;
  /** How many of our own Route values were removed from the top. */
  readonly poppedOwnRoutes: number;
  /**
   * User part of the last of our values popped, if it had one: a flow token we put there
   * (flow-token.ts) names the connection on the side this request is heading to, since our
   * Record-Route entries face their own side and a route set lists them towards the destination.
   */
  readonly lastPoppedUser: string | undefined;
}

/**
 * Mutates `req` in place:
 * 1. §16.4 ¶2: when the R-URI is a value we placed in a Record-Route (ours and carrying `lr`, the
 *    marker all our Record-Route URIs have) — i.e. the previous hop was a strict router — replace
 *    the R-URI with the last Route value and remove that value.
 * 2. §16.4 ¶3: when the first Route value indicates this proxy, remove it. Repeated, because we
 *    may have recorded two routes (one per transport) on the way in.
 */
export function processRoute(req: ProxyRequestMessage, isOwnAddress: IsOwnAddress): RouteProcessingResult {
  let strictFixup = false;
  const routes = req.headers.getAll('Route');
  if (routes.length > 0) {
    const ruri = parseSipUri(req.uri);
    if (ruri !== undefined && ruri.params.has('lr') && ruri.user === undefined && uriIsOwn(req.uri, isOwnAddress)) {
      req.uri = uriOfNameAddr(routes[routes.length - 1]);
      req.headers.remove('Route');
      for (const r of routes.slice(0, -1)) req.headers.append('Route', r);
      strictFixup = true;
    }
  }
  let popped = 0;
  let lastUser: string | undefined;
  for (;;) {
    const top = req.headers.get('Route');
    if (top === undefined) break;
    const u = parseSipUri(uriOfNameAddr(top));
    if (u === undefined || !isOwnAddress(u.host, u.port ?? defaultPort(u))) break;
    lastUser = u.user !== undefined && u.user !== '' ? u.user : undefined;
    req.headers.removeFirstValue('Route');
    popped++;
  }
  return { strictFixup, poppedOwnRoutes: popped, lastPoppedUser: lastUser };
}
