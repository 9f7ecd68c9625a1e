// Just enough of a Via value (§20.42) for the proxy: sent-by host/port and the branch.
import { SipParseError, parseVia, type Via } from '../sip/index.js';

export interface ViaParts {
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly branch: string | undefined;
}

/**
 * A view over node/sip's Via scanner (one Via grammar for the whole node, no regex backtracking on
 * a per-request path); undefined for a value that is not a well-formed SIP/2.0 Via.
 */
export function parseViaValue(value: string): ViaParts | undefined {
  let via: Via;
  try {
    via = parseVia(value);
  } catch (err) {
    if (err instanceof SipParseError) return undefined;
    throw err;
  }
  if (via.protocol.toUpperCase() !== 'SIP/2.0') return undefined;
  return { transport: via.transport.toUpperCase(), host: via.host.toLowerCase(), port: via.port, branch: via.branch };
}

/** RFC 3261 §25.1 hostport: an IPv6 literal is written as an IPv6reference, "[" address "]". */
export function hostReference(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Our Via value; an IPv6 sent-by host is written bracketed (RFC 3261 §20.42 sent-by). Over TLS it
 * carries `alias` (RFC 5923 §6): we take requests on connections we opened and present our
 * certificate, so a peer that verifies it may send its requests to us over this connection.
 */
export function formatVia(transport: string, host: string, port: number, branch: string): string {
  const t = transport.toUpperCase();
  return `SIP/2.0/${t} ${hostReference(host)}:${port};branch=${branch}${t === 'TLS' ? ';alias' : ''}`;
}
