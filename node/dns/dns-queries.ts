/**
 * The questions RFC 3263 asks the DNS (NAPTR, SRV, A/AAAA), behind an interface so the resolver's caching and
 * ordering are tested without a network. The production implementation is node:dns/promises'
 * Resolver (c-ares: asynchronous, off the event loop) and, for addresses when no servers are
 * configured, the system's getaddrinfo (on the libuv thread pool, also off the event loop).
 */
import { Resolver, lookup } from 'node:dns/promises';
import type { NaptrRecord } from './naptr-choice.js';
import type { SrvRecord } from './srv-order.js';

export interface AddressAnswer {
  readonly address: string;
  /** Seconds, as the server gave it. */
  readonly ttl: number;
}

export interface DnsQueries {
  /** Rejects with an error whose `code` is a node:dns code (ENODATA, ENOTFOUND, ETIMEOUT, ...). */
  srv(name: string): Promise<readonly SrvRecord[]>;
  /** RFC 3263 §4.1 (absent: never asked, as if the domain had no NAPTR records). */
  naptr?(name: string): Promise<readonly NaptrRecord[]>;
  a(name: string): Promise<readonly AddressAnswer[]>;
  aaaa(name: string): Promise<readonly AddressAnswer[]>;
}

export interface ResolverSettings {
  /** "ip" or "ip:port" ("[v6]:port"); empty: the system's (/etc/resolv.conf). */
  readonly servers: readonly string[];
  /** Per-try timeout; c-ares doubles it on each retry. */
  readonly timeoutMs: number;
  readonly tries: number;
}

/**
 * How long an address from the system's lookup is kept: getaddrinfo reports no TTL. Short, because
 * /etc/hosts edits and the system's own caching should show through soon.
 */
export const SYSTEM_LOOKUP_TTL_S = 30;

/** getaddrinfo for one family (the libuv thread pool, off the event loop), shaped like a DNS answer. */
async function systemLookup(name: string, family: 4 | 6): Promise<readonly AddressAnswer[]> {
  const found = await lookup(name, { family, all: true });
  return found.map((f) => ({ address: f.address, ttl: SYSTEM_LOOKUP_TTL_S }));
}

export function nodeDnsQueries(settings: ResolverSettings): DnsQueries {
  const resolver = new Resolver({ timeout: settings.timeoutMs, tries: settings.tries });
  if (settings.servers.length > 0) {
    // Servers named by the operator answer everything (a lab or split-horizon DNS holds the records).
    resolver.setServers([...settings.servers]);
    return {
      srv: (name) => resolver.resolveSrv(name),
      naptr: (name) => resolver.resolveNaptr(name),
      a: (name) => resolver.resolve4(name, { ttl: true }),
      aaaa: (name) => resolver.resolve6(name, { ttl: true }),
    };
  }
  // The system's configuration: SRV from its DNS servers, addresses through the system's lookup, so
  // names in /etc/hosts (peers, lab hosts, containers) resolve as they did before RFC 3263 location
  // and as every other program on the host sees them.
  return {
    srv: (name) => resolver.resolveSrv(name),
    naptr: (name) => resolver.resolveNaptr(name),
    a: (name) => systemLookup(name, 4),
    aaaa: (name) => systemLookup(name, 6),
  };
}
