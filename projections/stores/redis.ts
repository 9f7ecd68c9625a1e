import { Redis } from 'ioredis';

export interface RedisStoreOptions {
  readonly url: string;
  /** Prepended to every key, so several projections (or test files) can share one server. */
  readonly keyPrefix?: string;
  readonly connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts after the server went away. */
  readonly maxReconnectDelayMs?: number;
}

export interface StoreHealth {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
}

/**
 * Redis projection store (ioredis). Reconnects on its own after the server restarts: commands
 * issued while it is away wait in the offline queue and run once it is back. Projections are
 * rebuildable from the log (DESIGN.md), so Redis persistence is not relied on.
 */
export class RedisStore {
  readonly client: Redis;
  private reconnectCount = 0;
  private lastError: Error | undefined;

  constructor(opts: RedisStoreOptions) {
    const maxDelay = opts.maxReconnectDelayMs ?? 2_000;
    this.client = new Redis(opts.url, {
      lazyConnect: true,
      keyPrefix: opts.keyPrefix ?? '',
      connectTimeout: opts.connectTimeoutMs ?? 3_000,
      // Never give up reconnecting; back off linearly to maxDelay.
      retryStrategy: (times: number) => Math.min(times * 100, maxDelay),
      // A command waits through up to this many reconnection attempts before it fails.
      maxRetriesPerRequest: 20,
      enableOfflineQueue: true,
    });
    // Without a listener ioredis re-emits connection errors as unhandled 'error' events.
    this.client.on('error', (err: Error) => {
      this.lastError = err;
    });
    this.client.on('reconnecting', () => {
      this.reconnectCount++;
    });
  }

  /** How many times the connection was re-established after being lost. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  async connect(): Promise<void> {
    if (this.client.status === 'wait') await this.client.connect();
  }

  async health(timeoutMs = 1_000): Promise<StoreHealth> {
    const t0 = performance.now();
    if (this.client.status !== 'ready') return { ok: false, latencyMs: 0, error: `connection ${this.client.status}${this.lastError ? `: ${this.lastError.message}` : ''}` };
    try {
      const pong = await withTimeout(this.client.ping(), timeoutMs);
      return { ok: pong === 'PONG', latencyMs: performance.now() - t0 };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - t0, error: errorText(err) };
    }
  }

  /** Writes all pairs in one pipeline (one round trip); rejects if any single write failed. */
  async setMany(entries: readonly (readonly [string, string | Buffer])[], ttlSeconds?: number): Promise<void> {
    if (entries.length === 0) return;
    if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)) throw new Error('redis: ttlSeconds must be a positive integer');
    const p = this.client.pipeline();
    for (const [k, v] of entries) {
      if (ttlSeconds === undefined) p.set(k, v);
      else p.set(k, v, 'EX', ttlSeconds);
    }
    checkPipeline(await p.exec());
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.client.mget(...keys);
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.client.del(...keys);
  }

  async close(): Promise<void> {
    if (this.client.status === 'end' || this.client.status === 'wait') {
      this.client.disconnect();
      return;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

function checkPipeline(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('redis: pipeline was discarded');
  const failed = results.find(([err]) => err !== null);
  if (failed?.[0]) throw failed[0];
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** An error's message without trusting `instanceof` (errors may come from another realm). */
export function errorText(err: unknown): string {
  const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : String(err);
}
