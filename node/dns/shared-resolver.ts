/**
 * The node's one resolver, shared by its transports so a name is asked once per TTL whichever
 * transport sends to it. Servers: `dns.servers` from the config (applied by configureDns at
 * start-up), else the SIPHON_DNS_SERVERS environment variable (comma-separated "ip:port"), else the
 * system's resolv.conf.
 */
import { nodeDnsQueries } from './dns-queries.js';
import { DEFAULT_RESOLVER_LIMITS, SipResolver } from './sip-resolver.js';

/** c-ares per-try timeout and tries: a dead server fails a name in ~3 s, well inside Timer B (64·T1). */
const QUERY_TIMEOUT_MS = 1000;
const QUERY_TRIES = 2;

let shared: SipResolver | null = null;
let configured: readonly string[] = [];
let sendsTls = false;

export function serversFromEnv(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Sets the servers the shared resolver asks (an empty list: environment, then system), and whether
 * the node sends TLS (NAPTR may then choose SIPS+D2T).
 */
export function configureDns(servers: readonly string[], tls = false): void {
  configured = [...servers];
  sendsTls = tls;
  shared = null;
}

export function sharedResolver(): SipResolver {
  if (shared === null) {
    const servers = configured.length > 0 ? configured : serversFromEnv(process.env.SIPHON_DNS_SERVERS);
    shared = new SipResolver({
      queries: nodeDnsQueries({ servers, timeoutMs: QUERY_TIMEOUT_MS, tries: QUERY_TRIES }),
      now: Date.now,
      random: Math.random,
      ...DEFAULT_RESOLVER_LIMITS,
      tls: sendsTls,
    });
  }
  return shared;
}
