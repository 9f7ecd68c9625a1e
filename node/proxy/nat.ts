/**
 * NAT traversal fix-ups (`nat.fix_register`, `nat.fix_contact`; what Kamailio's nathelper does with
 * nat_uac_test, fix_nated_register and fix_nated_contact). A UA behind a NAT writes its private
 * address in Contact; requests sent there never arrive. Where the message really came from (its
 * source address and port, the NAT's public mapping) does reach it, for as long as the UA keeps
 * the mapping open by re-registering or keep-alives.
 *
 * NAT is assumed when a Contact names an IP address and the message came from elsewhere:
 * - over UDP, another address or another port (a UA sends from the port it listens on, RFC 3581 §1);
 * - over TCP/TLS, whose source port is always an ephemeral one, only a private or shared address
 *   (RFC 1918, RFC 6598, unique local, link-local) seen from another address.
 * A Contact naming a host name is left alone: DNS says where it is. WebSocket clients need none of
 * this: they are reached over their connection (flow tokens).
 */
import { isIP } from 'node:net';
import { formatNameAddr, formatUri, parseNameAddr, parseUri, type SipUri } from '../sip/index.js';
import type { ProxyRequestMessage, ProxyResponseMessage } from './proxy-message.js';
import { hostReference } from './via.js';
import { stripBrackets } from '../util/index.js';

export interface ObservedSource {
  readonly transport: string;
  readonly address: string;
  readonly port: number;
}

/** A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d. */
function plainAddress(address: string): string {
  const a = stripBrackets(address).toLowerCase();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function v4Octets(a: string): number[] {
  return a.split('.').map(Number);
}

/** RFC 1918, RFC 6598 (CGN), link-local, and IPv6 unique local / link-local addresses. */
export function isPrivateAddress(address: string): boolean {
  const a = plainAddress(address);
  const family = isIP(a);
  if (family === 4) {
    const [x, y] = v4Octets(a);
    return x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127) || (x === 169 && y === 254);
  }
  if (family === 6) return /^f[cd]/.test(a) || /^fe[89ab]/.test(a);
  return false;
}

/** True when a Contact at `host`:`port` in a message from `source` is behind a NAT (see the module comment). */
export function natDetected(host: string, port: number | undefined, source: ObservedSource): boolean {
  const contact = plainAddress(host);
  if (isIP(contact) === 0) return false;
  const from = plainAddress(source.address);
  if (source.transport.toLowerCase() === 'udp') return contact !== from || (port ?? 5060) !== source.port;
  if (source.transport.toLowerCase() === 'ws' || source.transport.toLowerCase() === 'wss') return false;
  return isPrivateAddress(contact) && contact !== from;
}

/** The Contact URI rewritten to `source`, or null when it is not a SIP URI behind a NAT. */
function fixedUri(uriText: string, source: ObservedSource): string | null {
  let uri: SipUri;
  try {
    uri = parseUri(uriText);
  } catch {
    return null;
  }
  if (uri.scheme === 'tel' || !natDetected(uri.host, uri.port, source)) return null;
  return formatUri({ ...uri, host: hostReference(plainAddress(source.address)), port: source.port });
}

/**
 * fix_nated_contact: the message's single Contact, when behind a NAT, now names the address and
 * port the message came from (user part, URI and header parameters kept). A REGISTER is never
 * changed (its binding keeps what the UA wrote; `natHop` routes to the source instead), nor is a
 * Contact list, `*`, or one that does not parse. True when the Contact changed.
 */
export function fixNatedContact(message: ProxyRequestMessage | ProxyResponseMessage, source: ObservedSource): boolean {
  if ('method' in message && message.method === 'REGISTER') return false;
  const values = message.headers.getAll('Contact');
  if (values.length !== 1 || values[0].indexOf(',') >= 0) return false;
  let na;
  try {
    na = parseNameAddr(values[0]);
  } catch {
    return false;
  }
  const uri = fixedUri(na.uri, source);
  if (uri === null) return false;
  message.headers.set('Contact', formatNameAddr({ ...na, uri }));
  return true;
}

/**
 * fix_register: where to send to a UDP binding registered from behind a NAT, its observed source
 * (the registration's flow), or undefined when the contact is reachable as written. The request
 * keeps the contact as its Request-URI.
 */
export function natHop(contactUri: string, flow: ObservedSource | null): { transport: string; host: string; port: number } | undefined {
  if (flow === null || flow.transport.toLowerCase() !== 'udp') return undefined;
  let uri: SipUri;
  try {
    uri = parseUri(contactUri);
  } catch {
    return undefined;
  }
  if (uri.scheme !== 'sip' || !natDetected(uri.host, uri.port, flow)) return undefined;
  const transport = uri.params.get('transport');
  if (transport !== undefined && transport !== null && transport.toLowerCase() !== 'udp') return undefined;
  return { transport: 'UDP', host: plainAddress(flow.address), port: flow.port };
}
