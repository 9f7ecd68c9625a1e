// RFC 3261 §16.6 items 1–8: build the copy of a request forwarded to one target. Pure with
// respect to `received` (it is cloned); the returned copy carries our Via as the topmost value.

import { makeBranch } from './branch-id.js';
import { applyStrictRouting, hopFromUri, resolveNextHop, type ResolvedNextHop } from './next-hop.js';
import type { ProxyRequestMessage } from './proxy-message.js';
import type { NextHop } from './routing-decision.js';
import { uriOfNameAddr } from './uri-parts.js';
import { formatVia, hostReference } from './via.js';

/** Our address as others must reach it: for Via sent-by and Record-Route (DESIGN §Principles 6). */
export interface AdvertisedAddress {
  readonly host: string;
  readonly port: number;
}

export interface ForwardSpec {
  /** §16.6 item 2: the target URI placed in the Request-URI. */
  readonly targetUri: string;
  /** RFC 3327 Path of a registered contact: pushed as Route values on top (§16.6 item 5). */
  readonly path?: readonly string[];
  readonly recordRoute: boolean;
  /** Transport the request arrived on, for the Record-Route transport parameter. */
  readonly inboundTransport: string;
  readonly explicitNextHop?: NextHop;
  readonly advertised: AdvertisedAddress;
  /**
   * Our address per transport and peer, when listeners differ (UDP on one port, TCP on another, an
   * IPv4 and an IPv6 listener): the Via and each Record-Route name the listener facing their own
   * side, `peerHost` being that side's address (the next hop, or the request's source). Absent:
   * `advertised` for all.
   */
  readonly advertisedFor?: (transport: string, peerHost?: string) => AdvertisedAddress;
  /** The address the request came from (its IP family picks the inbound-facing Record-Route). */
  readonly inboundHost?: string;
  /**
   * RFC 3261 §18.1.1: send over this transport instead of the one the next hop resolved to (a
   * request too large for UDP goes over TCP); the Via and Record-Route follow it.
   */
  readonly transport?: string;
  /**
   * RFC 3263 §4.1: what NAPTR chose for a next hop that left the transport open (`naptr`), or null
   * when nothing applied (the URI's default transport and SRV name stand). Absent: not asked.
   */
  readonly located?: { readonly transport: string; readonly srvName: string } | null;
  /**
   * RFC 3263 §4.3: the address (of those the next hop's name resolved to) this copy goes to; the
   * next hop keeps its transport and where it came from, without the name's SRV/NAPTR marks.
   */
  readonly sendTo?: { readonly address: string; readonly port: number };
  /** Loop hash of the request as received (branch-id.ts) and a unique suffix. */
  readonly loopHash: string;
  readonly branchSuffix: string;
  /** The stream connection the request arrived on, for a flow token on the inbound Record-Route. */
  readonly inboundConnectionId?: string | null;
  /** Mints flow tokens (flow-token.ts); absent: Record-Route entries carry none. */
  readonly flowToken?: (connectionId: string) => string;
}

export interface ForwardedRequest {
  readonly request: ProxyRequestMessage;
  readonly nextHop: ResolvedNextHop;
  readonly branch: string;
}

/**
 * Our Record-Route entry for one side. §16.6 item 4: when the Request-URI or the topmost Route is a
 * SIPS URI it must be a SIPS URI too (which implies TLS: no transport parameter then).
 */
export function recordRouteValue(adv: AdvertisedAddress, transport: string, sips = false, user?: string): string {
  const at = user === undefined ? '' : `${user}@`;
  if (sips) return `<sips:${at}${hostReference(adv.host)}:${adv.port};lr>`;
  const t = transport.toUpperCase() === 'UDP' ? '' : `;transport=${transport.toLowerCase()}`;
  return `<sip:${at}${hostReference(adv.host)}:${adv.port}${t};lr>`;
}

/** WebSocket sides are reached only over their connection: their Record-Route carries its flow token. */
function isWebSocket(transport: string): boolean {
  const t = transport.toUpperCase();
  return t === 'WS' || t === 'WSS';
}

function flowTokenFor(spec: Pick<ForwardSpec, 'flowToken'>, transport: string, connectionId: string | null | undefined): string | undefined {
  // Cheapest test first: a UDP side (every forwarded request on a UDP-only node) has no connection.
  if (connectionId === undefined || connectionId === null || spec.flowToken === undefined) return undefined;
  return isWebSocket(transport) ? spec.flowToken(connectionId) : undefined;
}

function isSipsUri(uri: string): boolean {
  return uri.length > 5 && uri.charCodeAt(4) === 58 /* sips: */ && uri.slice(0, 4).toLowerCase() === 'sips';
}

/** §16.6 item 4's test, after item 6's strict-route fix-up: a SIPS Request-URI or topmost Route. */
function needsSipsRecordRoute(req: ProxyRequestMessage): boolean {
  if (isSipsUri(req.uri.trim())) return true;
  const route = req.headers.get('Route');
  return route !== undefined && isSipsUri(uriOfNameAddr(route).trim());
}

function advertisedOn(spec: Pick<ForwardSpec, 'advertised' | 'advertisedFor'>, transport: string, peerHost: string | undefined): AdvertisedAddress {
  return spec.advertisedFor === undefined ? spec.advertised : spec.advertisedFor(transport, peerHost);
}

/** §16.6 item 3: decrement Max-Forwards, or add it with 70 when absent. */
export function decrementMaxForwards(req: ProxyRequestMessage): void {
  const mf = req.headers.get('Max-Forwards');
  const n = mf === undefined ? 70 : Math.max(0, Number(mf.trim()) - 1);
  req.headers.set('Max-Forwards', String(n));
}

/** Undefined when no next hop can be derived (no SIP URI in Route nor R-URI). */
export function forwardRequest(received: ProxyRequestMessage, spec: ForwardSpec,
  copy: (r: ProxyRequestMessage) => ProxyRequestMessage): ForwardedRequest | undefined {
  const req = copy(received);
  req.uri = spec.targetUri;
  decrementMaxForwards(req);
  if (spec.path !== undefined) {
    for (let i = spec.path.length - 1; i >= 0; i--) req.headers.prepend('Route', spec.path[i]);
  }
  // §16.6 item 6: towards a strict router the R-URI becomes that router's URI, and it is the
  // next hop (item 7 then has no loose Route to follow).
  let nextHop: ResolvedNextHop | undefined;
  if (applyStrictRouting(req) && spec.explicitNextHop === undefined) {
    const hop = hopFromUri(req.uri);
    nextHop = hop && { ...hop, source: 'route' };
  } else {
    nextHop = resolveNextHop(req, spec.explicitNextHop);
  }
  if (nextHop === undefined) return undefined;
  if (nextHop.naptr === true && spec.located !== undefined) {
    const { naptr: _asked, ...hop } = nextHop;
    nextHop = spec.located === null ? hop : { ...hop, transport: spec.located.transport.toUpperCase(), srvName: spec.located.srvName };
  }
  if (spec.sendTo !== undefined) {
    const host = spec.sendTo.address.includes(':') ? `[${spec.sendTo.address}]` : spec.sendTo.address;
    nextHop = { host, port: spec.sendTo.port, transport: nextHop.transport, source: nextHop.source };
  }
  if (spec.transport !== undefined) nextHop = { ...nextHop, transport: spec.transport };
  if (spec.recordRoute) {
    // RFC 5658 §4: when the request leaves on another transport or address (an IPv4 caller, an
    // IPv6 callee) than it came in on, record two routes. The top one faces the callee (its route
    // set starts there), the lower one the caller (whose route set is the reverse), so each side
    // reaches us over the transport and address family it can use. Route processing pops both
    // when an in-dialog request comes back (route-processing.ts).
    // A SIPS entry names our TLS listener whichever transport the side used (SIPS means TLS).
    const sips = needsSipsRecordRoute(req);
    const inTransport = sips ? 'TLS' : spec.inboundTransport;
    const outTransport = sips ? 'TLS' : nextHop.transport;
    const inTokens = flowTokenFor(spec, inTransport, spec.inboundConnectionId);
    const outTokens = flowTokenFor(spec, outTransport, nextHop.connectionId);
    const inbound = recordRouteValue(advertisedOn(spec, inTransport, spec.inboundHost), inTransport, sips, inTokens);
    const outbound = recordRouteValue(advertisedOn(spec, outTransport, nextHop.host), outTransport, sips, outTokens);
    req.headers.prepend('Record-Route', inbound);
    if (outbound !== inbound) req.headers.prepend('Record-Route', outbound);
  }
  const branch = makeBranch(spec.loopHash, spec.branchSuffix);
  const via = advertisedOn(spec, nextHop.transport, nextHop.host);
  req.headers.prepend('Via', formatVia(nextHop.transport, via.host, via.port, branch));
  return { request: req, nextHop, branch };
}
