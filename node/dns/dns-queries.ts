/**
 * The three questions RFC 3263 asks the DNS, behind an interface so the resolver's caching and
 * ordering are tested without a network. The production implementation is node:dns/promises'
 * Resolver (c-ares: asynchronous, never on the event loop, never the libuv thread pool).
 */
import { Resolver } from 'node:dns/promises';
import type { SrvRecord } from './srv-order.js';

export interface AddressAnswer {
  readonly address: string;
  /** Seconds, as the server gave it. */
  readonly ttl: number;
}

export interface DnsQueries {
  /** Rejects with an error whose `code` is a node:dns code (ENODATA, ENOTFOUND, ETIMEOUT, ...). */
  srv(name: string): Promise<readonly SrvRecord[]>;
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

export function nodeDnsQueries(settings: ResolverSettings): DnsQueries {
  const resolver = new Resolver({ timeout: settings.timeoutMs, tries: settings.tries });
  if (settings.servers.length > 0) resolver.setServers([...settings.servers]);
  return {
    srv: (name) => resolver.resolveSrv(name),
    a: (name) => resolver.resolve4(name, { ttl: true }),
    aaaa: (name) => resolver.resolve6(name, { ttl: true }),
  };
}
