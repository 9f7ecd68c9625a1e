// Messages the transaction layer itself constructs, as recipes over the message view.
import type { HeaderSpec, RequestSpec, RequestView, ResponseSpec, ResponseView } from './message-view.js';

function first(view: { headerValues(name: string): readonly string[] }, name: string): string | undefined {
  return view.headerValues(name)[0];
}

function copyAll(view: { headerValues(name: string): readonly string[] }, name: string, into: HeaderSpec[]): void {
  for (const value of view.headerValues(name)) into.push([name, value]);
}

/**
 * RFC 3261 §17.1.1.3: the ACK for a 3xx-6xx final response is built by the INVITE client
 * transaction. Request-URI, Call-ID and From come from the INVITE, To from the response (it carries
 * the UAS tag), a single Via equal to the INVITE's top Via (same branch, so the server transaction
 * matches it), the INVITE's CSeq number with method ACK, and the INVITE's Route set.
 */
export function non2xxAckSpec(invite: RequestView, response: ResponseView): RequestSpec {
  const headers: HeaderSpec[] = [['Via', invite.topVia.raw]];
  copyAll(invite, 'Route', headers);
  // RFC 3261 §8.1.1.6: Max-Forwards is mandatory in every request.
  headers.push(['Max-Forwards', '70']);
  headers.push(['From', first(invite, 'From') ?? '']);
  headers.push(['To', first(response, 'To') ?? first(invite, 'To') ?? '']);
  headers.push(['Call-ID', invite.callId]);
  headers.push(['CSeq', `${invite.cseq.seq} ACK`]);
  headers.push(['Content-Length', '0']);
  return { method: 'ACK', uri: invite.uri, headers };
}

/**
 * RFC 3261 §9.1: a CANCEL carries the Request-URI, Call-ID, To, From and CSeq number of the
 * request it cancels, a single Via equal to that request's top Via (so it reaches the same server
 * transaction branch, §17.2.3), and the same Route set.
 */
export function cancelSpec(request: RequestView): RequestSpec {
  const headers: HeaderSpec[] = [['Via', request.topVia.raw]];
  copyAll(request, 'Route', headers);
  headers.push(['Max-Forwards', '70']);
  headers.push(['From', first(request, 'From') ?? '']);
  headers.push(['To', first(request, 'To') ?? '']);
  headers.push(['Call-ID', request.callId]);
  headers.push(['CSeq', `${request.cseq.seq} CANCEL`]);
  headers.push(['Content-Length', '0']);
  return { method: 'CANCEL', uri: request.uri, headers };
}

/**
 * RFC 3261 §8.2.6 / §17.2.1: the 100 Trying an INVITE server transaction sends on the TU's behalf.
 * Via (all values, in order), From, To, Call-ID and CSeq are copied; a Timestamp is echoed
 * (§8.2.6.1). No To tag is added: a 100 never establishes a dialog.
 */
export function tryingSpec(request: RequestView): ResponseSpec {
  const headers: HeaderSpec[] = [];
  copyAll(request, 'Via', headers);
  headers.push(['From', first(request, 'From') ?? '']);
  headers.push(['To', first(request, 'To') ?? '']);
  headers.push(['Call-ID', request.callId]);
  headers.push(['CSeq', `${request.cseq.seq} ${request.cseq.method}`]);
  const timestamp = first(request, 'Timestamp');
  if (timestamp !== undefined) headers.push(['Timestamp', timestamp]);
  headers.push(['Content-Length', '0']);
  return { status: 100, reason: 'Trying', headers };
}
