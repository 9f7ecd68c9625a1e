/**
 * RFC 3263 §4 server location for a next hop whose host is a name, with answers cached by TTL.
 *
 * - Transport (§4.1, `locate`): for a URI naming neither transport nor port, NAPTR of NAME chooses
 *   the transport and the SRV owner name (naptr-choice.ts); no usable NAPTR: the URI's default.
 * - No explicit port (`srv`): SRV of the NAPTR-chosen name or `_sip._udp|_sip._tcp.NAME` (§4.2), targets ordered by RFC 2782,
 *   each target's addresses in turn (§4.3); no SRV records: A/AAAA of NAME at the URI's default port.
 * - Explicit port: A/AAAA only (§4.2).
 * - IP literals never come here (the transports send them directly: the per-message hot path).
 *
 * A answers are preferred and AAAA asked only when a name has no A record: our sockets are chosen
 * per address family by the caller before resolution, and an IPv4 socket cannot reach a v6 peer.
 *
 * Answers come back synchronously from the cache (most sends), otherwise once the DNS answers;
 * concurrent questions for one name share one query.
 */
import { chooseNaptr, type NaptrChoice } from './naptr-choice.js';
import { specialNameAnswer } from './special-names.js';
import { canonicalName, srvQueryName, type SrvTransport } from './srv-name.js';
import { orderSrv, srvDeclinesService, type RandomSource, type SrvRecord } from './srv-order.js';
import { TtlCache } from './ttl-cache.js';
import type { AddressAnswer, DnsQueries } from './dns-queries.js';

export interface SipTarget {
  readonly address: string;
  readonly port: number;
}

export interface NameQuery {
  readonly host: string;
  /** The URI's port, or its scheme's default when it had none. */
  readonly port: number;
  readonly transport: SrvTransport;
  /** The URI had no explicit port: SRV applies (§4.2). */
  readonly srv: boolean;
  readonly secure?: boolean;
  /** The SRV owner name a NAPTR record chose (§4.1), instead of `_sip._<transport>.<host>`. */
  readonly srvName?: string;
}

/** The transport and SRV name NAPTR chose, or null: none applies (use the URI's defaults). */
export type LocateCallback = (choice: NaptrChoice | null) => void;

/** `targets` in the order to try them; empty with a `reason` when the name cannot be reached. */
export type ResolveCallback = (targets: readonly SipTarget[], reason: string) => void;

export interface NameResolver {
  /** Calls `done` synchronously when the cache answers, otherwise later; never throws. */
  lookup(query: NameQuery, done: ResolveCallback): void;
}

/** RFC 3263 §4.1 transport selection, for whoever writes the Via (the transport must be known first). */
export interface TransportLocator {
  /** The cached choice for `host` (null: NAPTR chose nothing), or undefined when not known yet. */
  locatedNow(host: string, secure: boolean): NaptrChoice | null | undefined;
  /** Asks NAPTR when not cached; `done` may be called synchronously. Never throws. */
  locate(host: string, secure: boolean, done: LocateCallback): void;
}

export interface SipResolverOptions {
  readonly queries: DnsQueries;
  readonly now: () => number;
  readonly random: RandomSource;
  /** Names (and SRV owner names) cached at once. */
  readonly maxEntries: number;
  /** How long "no such records" (NXDOMAIN / NODATA) is remembered. */
  readonly negativeTtlMs: number;
  /** How long a failed query (timeout, SERVFAIL, refused) is remembered, so a dead server is not hammered. */
  readonly failureTtlMs: number;
  /** node:dns does not report an SRV answer's TTL: SRV sets are kept this long. */
  readonly srvTtlMs: number;
  /** Bounds applied to the TTLs servers give for A/AAAA. */
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  /** Targets handed to a transport at most (each tried in turn on failure, §4.3). */
  readonly maxTargets: number;
  /** The node sends TLS: NAPTR may choose SIPS+D2T (naptr-choice.ts). */
  readonly tls?: boolean;
}

export const DEFAULT_RESOLVER_LIMITS = {
  maxEntries: 10_000,
  negativeTtlMs: 30_000,
  failureTtlMs: 5_000,
  srvTtlMs: 60_000,
  minTtlMs: 1_000,
  maxTtlMs: 3_600_000,
  maxTargets: 8,
} as const;

type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Codes meaning the name or record type does not exist (cached `negativeTtlMs`); others are failures. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND', 'NOTFOUND', 'NODATA']);

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EDNSFAIL';
}

/** One query per key at a time: concurrent askers share the pending answer, forgotten once it settles. */
function shareInFlight<T>(inFlight: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(key);
  if (pending === undefined) {
    const p = start();
    inFlight.set(key, p);
    void p.then(() => inFlight.delete(key));
    pending = p;
  }
  return pending;
}

export class SipResolver implements NameResolver, TransportLocator {
  private readonly naptrCache: TtlCache<NaptrChoice | null>;
  private readonly naptrInFlight = new Map<string, Promise<NaptrChoice | null>>();
  private readonly srvCache: TtlCache<Answer<readonly SrvRecord[]>>;
  private readonly addressCache: TtlCache<Answer<readonly string[]>>;
  private readonly srvInFlight = new Map<string, Promise<Answer<readonly SrvRecord[]>>>();
  private readonly addressInFlight = new Map<string, Promise<Answer<readonly string[]>>>();

  constructor(private readonly opts: SipResolverOptions) {
    this.naptrCache = new TtlCache(opts.maxEntries, opts.now);
    this.srvCache = new TtlCache(opts.maxEntries, opts.now);
    this.addressCache = new TtlCache(opts.maxEntries, opts.now);
  }

  locatedNow(host: string, secure: boolean): NaptrChoice | null | undefined {
    const name = canonicalName(host);
    if (specialNameAnswer(name) !== null || this.opts.queries.naptr === undefined) return null;
    return this.naptrCache.get(`${secure ? 's' : ''}${name}`);
  }

  locate(host: string, secure: boolean, done: LocateCallback): void {
    const now = this.locatedNow(host, secure);
    if (now !== undefined) {
      done(now);
      return;
    }
    const name = canonicalName(host);
    const key = `${secure ? 's' : ''}${name}`;
    const ask = this.opts.queries.naptr?.bind(this.opts.queries);
    if (ask === undefined) {
      done(null);
      return;
    }
    void shareInFlight(this.naptrInFlight, key, () => ask(name).then(
      (records) => {
        const choice = chooseNaptr(records, secure, this.opts.tls === true);
        // node:dns reports no NAPTR TTL: kept as long as an SRV set.
        this.naptrCache.set(key, choice, records.length > 0 ? this.opts.srvTtlMs : this.opts.negativeTtlMs);
        return choice;
      },
      (err: unknown) => {
        // No NAPTR records, or the query failed: §4.1 falls back to the URI's transport and SRV.
        this.naptrCache.set(key, null, NO_RECORDS.has(codeOf(err)) ? this.opts.negativeTtlMs : this.opts.failureTtlMs);
        return null;
      },
    )).then(done);
  }

  lookup(query: NameQuery, done: ResolveCallback): void {
    const host = canonicalName(query.host);
    const srvName = query.srv && specialNameAnswer(host) === null
      ? (query.srvName !== undefined ? canonicalName(query.srvName) : srvQueryName(host, query.transport, query.secure))
      : null;
    const srv = srvName === null ? null : this.srvCache.get(srvName);
    if (srv !== undefined) {
      const cached = this.plan(host, query.port, srv, (n) => this.cachedAddresses(n));
      if (cached !== undefined) {
        done(cached.targets, cached.reason);
        return;
      }
    }
    void this.resolveSlow(host, query.port, srvName).then((r) => done(r.targets, r.reason));
  }

  private async resolveSlow(host: string, port: number, srvName: string | null): Promise<{ targets: readonly SipTarget[]; reason: string }> {
    const srv = srvName === null ? null : await this.srvAnswer(srvName);
    const names = srv !== null && srv.ok && srv.value.length > 0 && !srvDeclinesService(srv.value) ? srv.value.map((r) => r.name) : [host];
    const got = new Map<string, Answer<readonly string[]>>();
    await Promise.all(names.map(async (n) => void got.set(n, await this.addressAnswer(n))));
    return this.plan(host, port, srv, (n) => got.get(n)) ?? { targets: [], reason: 'EDNSFAIL' };
  }

  /**
   * The targets for `host` from answers at hand; undefined when an answer still has to be fetched.
   * `srv` null: SRV does not apply. A failed SRV query falls back to A/AAAA like an empty one
   * (§4.2 "If no SRV records were found"), so a broken SRV zone does not make a host unreachable.
   */
  private plan(
    host: string,
    port: number,
    srv: Answer<readonly SrvRecord[]> | null,
    addressesOf: (name: string) => Answer<readonly string[]> | undefined,
  ): { targets: readonly SipTarget[]; reason: string } | undefined {
    if (srv !== null && srv.ok && srv.value.length > 0) {
      if (srvDeclinesService(srv.value)) return { targets: [], reason: 'SRV_NO_SERVICE' };
      const targets: SipTarget[] = [];
      let reason = 'ENOTFOUND';
      for (const r of orderSrv(srv.value, this.opts.random)) {
        const a = addressesOf(r.name);
        if (a === undefined) return undefined;
        if (!a.ok) {
          reason = a.reason;
          continue;
        }
        for (const address of a.value) if (targets.length < this.opts.maxTargets) targets.push({ address, port: r.port });
      }
      return { targets, reason: targets.length > 0 ? '' : reason };
    }
    const a = addressesOf(host);
    if (a === undefined) return undefined;
    if (!a.ok) return { targets: [], reason: a.reason };
    return { targets: a.value.slice(0, this.opts.maxTargets).map((address) => ({ address, port })), reason: '' };
  }

  private cachedAddresses(name: string): Answer<readonly string[]> | undefined {
    const special = specialNameAnswer(name);
    if (special !== null) return 'failure' in special ? { ok: false, reason: special.failure } : { ok: true, value: special.addresses };
    return this.addressCache.get(name);
  }

  private srvAnswer(name: string): Promise<Answer<readonly SrvRecord[]>> {
    const cached = this.srvCache.get(name);
    if (cached !== undefined) return Promise.resolve(cached);
    return shareInFlight(this.srvInFlight, name, () => this.opts.queries.srv(name).then(
      (answered): Answer<readonly SrvRecord[]> => {
        // Target names canonical once here, not on every lookup that orders them.
        const records = answered.map((r) => ({ priority: r.priority, weight: r.weight, port: r.port, name: canonicalName(r.name) }));
        const answer = { ok: true, value: records } as const;
        this.srvCache.set(name, answer, records.length > 0 ? this.opts.srvTtlMs : this.opts.negativeTtlMs);
        return answer;
      },
      (err: unknown): Answer<readonly SrvRecord[]> => {
        const code = codeOf(err);
        // "No SRV records" is an answer (empty set); anything else is a failure, remembered briefly.
        const answer: Answer<readonly SrvRecord[]> = NO_RECORDS.has(code) ? { ok: true, value: [] } : { ok: false, reason: code };
        this.srvCache.set(name, answer, answer.ok ? this.opts.negativeTtlMs : this.opts.failureTtlMs);
        return answer;
      },
    ));
  }

  private addressAnswer(name: string): Promise<Answer<readonly string[]>> {
    const cached = this.cachedAddresses(name);
    if (cached !== undefined) return Promise.resolve(cached);
    return shareInFlight(this.addressInFlight, name, () => this.queryAddresses(name));
  }

  /** A first; AAAA only when the name has no A record (see the file comment). */
  private async queryAddresses(name: string): Promise<Answer<readonly string[]>> {
    let answer: Answer<readonly string[]>;
    let ttlMs: number;
    const v4 = await this.ask(() => this.opts.queries.a(name));
    // NXDOMAIN says the name has no records of any type: no AAAA query then.
    const v6 = v4.ok || v4.reason !== 'no-records' ? v4 : await this.ask(() => this.opts.queries.aaaa(name));
    if (v6.ok) {
      let minTtl = Number.POSITIVE_INFINITY;
      for (const r of v6.value) minTtl = Math.min(minTtl, r.ttl);
      ttlMs = Math.min(this.opts.maxTtlMs, Math.max(this.opts.minTtlMs, minTtl * 1000));
      answer = { ok: true, value: v6.value.map((r) => r.address) };
    } else if (v6.reason === 'no-records' || v6.reason === 'ENOTFOUND') {
      answer = { ok: false, reason: 'ENOTFOUND' };
      ttlMs = this.opts.negativeTtlMs;
    } else {
      answer = { ok: false, reason: v6.reason };
      ttlMs = this.opts.failureTtlMs;
    }
    this.addressCache.set(name, answer, ttlMs);
    return answer;
  }

  private async ask(q: () => Promise<readonly AddressAnswer[]>): Promise<Answer<readonly AddressAnswer[]>> {
    try {
      const records = await q();
      return records.length > 0 ? { ok: true, value: records } : { ok: false, reason: 'no-records' };
    } catch (err) {
      const code = codeOf(err);
      return { ok: false, reason: code === 'ENODATA' || code === 'NODATA' ? 'no-records' : NO_RECORDS.has(code) ? 'ENOTFOUND' : code };
    }
  }
}
