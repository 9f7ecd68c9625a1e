// "Is this host:port us?" (RFC 3261 §16.3 item 4 loop check, §16.4 Route removal, `uri == myself`):
// every listener's bound and advertised address. A wildcard bind also answers to loopback.
import type { ListenerInfo } from '../transport/index.js';

function normalise(host: string): string {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return h.toLowerCase();
}

export function ownAddressMatcher(listeners: readonly ListenerInfo[], extraHosts: readonly string[] = []): (host: string, port: number) => boolean {
  const exact = new Set<string>();
  const wildcardPorts = new Set<number>();
  for (const l of listeners) {
    exact.add(`${normalise(l.host)}:${l.port}`);
    exact.add(`${normalise(l.advertisedHost)}:${l.advertisedPort}`);
    if (l.host === '0.0.0.0' || l.host === '::') wildcardPorts.add(l.port);
  }
  const hosts = new Set(extraHosts.map(normalise));
  return (host, port) => {
    const h = normalise(host);
    if (exact.has(`${h}:${port}`)) return true;
    if (wildcardPorts.has(port) && (h === '127.0.0.1' || h === '::1' || h === 'localhost')) return true;
    // A served domain without an explicit port is us on the default port (RFC 3263 would say so).
    return hosts.has(h) && (port === 5060 || port === 5061); // a domain's default ports (5061: sips)
  };
}
