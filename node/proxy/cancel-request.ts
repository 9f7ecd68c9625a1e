// RFC 3261 §9.1 (used by proxies per §16.10): the CANCEL for a forwarded INVITE. It must match
// the INVITE's client transaction downstream (§17.2.3), so it reuses that INVITE's topmost Via —
// our Via, with the same branch and sent-by — and nothing else from the Via stack.

import type { ProxyMessageFactory, ProxyRequestMessage } from './proxy-message.js';

/** `reasons`: RFC 3326 Reason header values to carry (why the INVITE is cancelled). */
export function buildCancel(invite: ProxyRequestMessage, factory: ProxyMessageFactory, reasons: readonly string[] = []): ProxyRequestMessage {
  const h = invite.headers;
  const cseq = (h.get('CSeq') ?? '').trim().split(/\s+/)[0] ?? '';
  const headers: Array<readonly [string, string]> = [];
  const topVia = h.get('Via');
  if (topVia !== undefined) headers.push(['Via', topVia]);
  // §9.1: "If the request being cancelled contains a Route header field, the CANCEL request MUST
  // include that Route header field's values."
  for (const r of h.getAll('Route')) headers.push(['Route', r]);
  headers.push(['Max-Forwards', '70']);
  for (const name of ['From', 'To', 'Call-ID']) {
    const v = h.get(name);
    if (v !== undefined) headers.push([name, v]);
  }
  headers.push(['CSeq', `${cseq} CANCEL`]);
  for (const r of reasons) headers.push(['Reason', r]);
  headers.push(['Content-Length', '0']);
  return factory.request('CANCEL', invite.uri, headers);
}
