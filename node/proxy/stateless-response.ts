// RFC 3261 §16.11 / §18.1.2 / §18.2.2: a response that matched no client transaction, handled as a
// stateless proxy would. Our Via on top means the request went out through us: pop it and send
// the rest to the next Via. Any other top Via was never ours to answer for: discard (§18.1.2).
// Pure: the caller sends, counts and logs.

import type { IsOwnAddress } from './own-address.js';
import type { ProxyResponseMessage } from './proxy-message.js';
import type { NextHop } from './routing-decision.js';
import { stripBrackets } from '../util/index.js';
import { parseViaValue } from './via.js';

export type StrayResponseOutcome =
  /** Our Via was popped; the response now goes to its (new) top Via. */
  | 'forward'
  /** The top Via is not ours (or unreadable): §18.1.2 says discard silently. */
  | 'not-ours'
  /** Ours, but nothing below it: a response to a request we originated (our own CANCEL). */
  | 'no-next-via';

function defaultViaPort(transport: string): number {
  return transport === 'TLS' || transport === 'WSS' ? 5061 : 5060;
}

/** Mutates `res` (removes our Via) only when the outcome is 'forward'. */
export function processStrayResponse(res: ProxyResponseMessage, isOwnAddress: IsOwnAddress): StrayResponseOutcome {
  const top = res.headers.get('Via');
  const via = top === undefined ? undefined : parseViaValue(top);
  if (via === undefined || !isOwnAddress(via.host, via.port ?? defaultViaPort(via.transport))) return 'not-ours';
  const vias = res.headers.getAll('Via');
  if (vias.length < 2) return 'no-next-via';
  res.headers.removeFirstValue('Via');
  return 'forward';
}

/** A Via parameter's value ('' for a flag, undefined when absent); names compared case-insensitively. */
export function viaParam(value: string, name: string): string | undefined {
  const semi = value.indexOf(';');
  if (semi < 0) return undefined;
  for (const part of value.slice(semi + 1).split(';')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (key === name) return eq < 0 ? '' : part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Where a response goes by its top Via (§18.2.2 with RFC 3581 §4): `maddr` first, else the
 * `received` address (the source the request really came from) with the `rport` value when the
 * client asked for it, else the sent-by host and port. A stream transport reuses an open
 * connection to that address when the sender has one (§18.2.2 falls back to connecting).
 */
export function responseNextHop(viaValue: string): NextHop | undefined {
  const via = parseViaValue(viaValue);
  if (via === undefined) return undefined;
  const port = via.port ?? defaultViaPort(via.transport);
  const maddr = viaParam(viaValue, 'maddr');
  if (maddr !== undefined && maddr !== '') return { host: stripBrackets(maddr), port, transport: via.transport };
  const received = viaParam(viaValue, 'received');
  const host = received !== undefined && received !== '' ? stripBrackets(received) : stripBrackets(via.host);
  const rport = viaParam(viaValue, 'rport');
  const rportNum = rport !== undefined && /^\d{1,5}$/.test(rport) ? Number(rport) : undefined;
  return { host, port: rportNum !== undefined && rportNum > 0 && rportNum < 65536 ? rportNum : port, transport: via.transport };
}
