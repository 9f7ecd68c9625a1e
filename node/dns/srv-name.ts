/**
 * RFC 3263 §4.2: the SRV owner name for a SIP URI's host. NAPTR (§4.1) is not queried: the
 * transport comes from the URI's `transport` parameter (default UDP, TCP for sips), which §4.1
 * allows when the URI names one and which every client of ours that is not NAPTR-aware does anyway.
 */
export type SrvTransport = 'udp' | 'tcp';

export function srvQueryName(host: string, transport: SrvTransport, secure = false): string {
  // §4.2: "_sips._tcp" for a SIPS URI (TLS over TCP), "_sip._tcp" / "_sip._udp" otherwise.
  if (secure) return `_sips._tcp.${host}`;
  return transport === 'tcp' ? `_sip._tcp.${host}` : `_sip._udp.${host}`;
}

/** Lower case, without the root's trailing dot: one cache key per name however it was written. */
export function canonicalName(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
