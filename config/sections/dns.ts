/** `dns.*`: where RFC 3263 next-hop location (SRV, then A/AAAA) sends its queries. */
import { isIP } from 'node:net';
import { ConfigIssue } from '../config-error.js';
import { list, obj, type Field } from '../fields.js';
import { formatHostPort, splitHostPort } from '../host-port.js';

/** A DNS server: an IP literal with an optional port ("192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53"). */
function dnsServer(): Field<string> {
  const expects = 'an "ip" or "ip:port" string';
  return {
    expects,
    decode(raw, path) {
      // An unbracketed IPv6 literal has no port (its colons would be ambiguous).
      const hp = typeof raw !== 'string' ? null : isIP(raw) === 6 ? { host: raw, port: null } : splitHostPort(raw);
      // A name here would need a resolver to find the resolver.
      if (hp === null || isIP(hp.host) === 0 || hp.port === 0) throw new ConfigIssue(path, `expected ${expects}, got ${JSON.stringify(raw)}`);
      return formatHostPort(hp.host, hp.port ?? 53);
    },
  };
}

export const dnsSection = obj({
  /**
   * Servers asked in turn; empty: the SIPHON_DNS_SERVERS environment variable (comma-separated), else
   * the system's (/etc/resolv.conf). Answers are cached by their TTL.
   */
  servers: list(dnsServer(), []),
});
