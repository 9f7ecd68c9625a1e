/**
 * RFC 3263 §4.2: the SRV owner name for a SIP URI's host, when no NAPTR record chose one
 * (naptr-choice.ts): `_sip._udp`, `_sip._tcp` or `_sips._tcp` by the transport in use.
 */
export type SrvTransport = 'udp' | 'tcp' | 'tls';

export function srvQueryName(host: string, transport: SrvTransport, secure = false): string {
  // §4.2: "_sips._tcp" for a SIPS URI or TLS (TLS over TCP), "_sip._tcp" / "_sip._udp" otherwise.
  if (secure || transport === 'tls') return `_sips._tcp.${host}`;
  return transport === 'tcp' ? `_sip._tcp.${host}` : `_sip._udp.${host}`;
}

/** Lower case, without the root's trailing dot: one cache key per name however it was written. */
export function canonicalName(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
