/**
 * `auth.backend: http`: HA1 from a REST endpoint. GET {url}?username=&realm=&algorithm= answers
 * 200 with JSON `{"ha1": "<hex>"}` or the bare hex; 404 means unknown user. Results are cached per
 * user for `auth.http.cache_ttl_secs` (flattens re-REGISTER storms) and concurrent lookups of the
 * same user share one request.
 */
import { digestHexLength, type DigestAlgorithm } from './digest-algorithm.js';
import { CredentialBackendError, type CredentialBackend } from './credential-backend.js';

export interface HttpBackendOptions {
  readonly url: string;
  readonly cacheTtlSecs: number;
  readonly timeoutMs: number;
  /** Injected clock (ms) so cache expiry is testable without waiting. */
  readonly now?: () => number;
  /** Bound on cached users; oldest entries are evicted first. */
  readonly maxCacheEntries?: number;
}

interface CacheEntry {
  readonly ha1: string | undefined;
  readonly expiresAt: number;
}

export class HttpCredentialBackend implements CredentialBackend {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<string | undefined>>();
  private readonly now: () => number;
  private readonly maxEntries: number;
  /** Number of HTTP requests actually sent (observable for metrics and tests). */
  fetchCount = 0;

  constructor(private readonly opts: HttpBackendOptions) {
    this.now = opts.now ?? Date.now;
    this.maxEntries = opts.maxCacheEntries ?? 100_000;
  }

  async lookupHa1(username: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const key = `${username}\u0000${realm}\u0000${algorithm}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if (cached.expiresAt > this.now()) return cached.ha1;
      this.cache.delete(key);
    }
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    const p = this.fetchHa1(username, realm, algorithm).then(
      (ha1) => {
        this.inflight.delete(key);
        this.remember(key, ha1);
        return ha1;
      },
      (err: unknown) => {
        this.inflight.delete(key);
        throw err;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  private remember(key: string, ha1: string | undefined): void {
    if (this.opts.cacheTtlSecs <= 0) return;
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { ha1, expiresAt: this.now() + this.opts.cacheTtlSecs * 1000 });
  }

  private async fetchHa1(username: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const url = new URL(this.opts.url);
    url.searchParams.set('username', username);
    url.searchParams.set('realm', realm);
    url.searchParams.set('algorithm', algorithm);
    this.fetchCount++;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs) });
      text = await res.text();
    } catch (err) {
      throw new CredentialBackendError(`credential lookup failed: ${(err as Error).message}`);
    }
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new CredentialBackendError(`credential lookup answered HTTP ${res.status}`);
    const ha1 = extractHa1(text, res.headers.get('content-type') ?? '');
    if (ha1 === undefined || !/^[0-9a-f]+$/.test(ha1) || ha1.length !== digestHexLength(algorithm)) {
      throw new CredentialBackendError('credential lookup returned no usable ha1');
    }
    return ha1;
  }
}

function extractHa1(text: string, contentType: string): string | undefined {
  const trimmed = text.trim();
  if (contentType.includes('json') || trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (typeof parsed === 'object' && parsed !== null && 'ha1' in parsed) {
        const v = (parsed as { ha1: unknown }).ha1;
        return typeof v === 'string' ? v.trim().toLowerCase() : undefined;
      }
      return undefined;
    } catch {
      return undefined;
    }
  }
  return trimmed.toLowerCase();
}
