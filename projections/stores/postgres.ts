import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type { StoreHealth } from './redis.js';
import { errorText } from './redis.js';

export interface PostgresStoreOptions {
  readonly url: string;
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  /** How long an idempotent operation keeps retrying while the server is unreachable. */
  readonly retryForMs?: number;
}

export interface KvRow {
  readonly key: string;
  readonly value: unknown;
  /** The log index the value was folded at: a write never replaces a newer version. */
  readonly version: bigint | number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * SQLSTATEs and socket errors that mean "the connection or server went away", after which
 * an idempotent operation may simply run again on a fresh connection.
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions.
 */
export function isConnectionError(err: unknown): boolean {
  // Duck-typed: socket errors come from Node's core realm, where `instanceof Error` can fail (vm contexts).
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^57P0[123]$/.test(code) || code.startsWith('08') || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code))) return true;
  return typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i.test(message);
}

/**
 * PostgreSQL projection store on a `pg` pool. A server restart kills every pooled
 * connection; the pool drops them (its 'error' listener keeps the process alive) and opens new
 * ones, and the idempotent operations here retry across that gap.
 */
export class PostgresStore {
  readonly pool: pg.Pool;
  private readonly retryForMs: number;
  private poolErrors = 0;

  constructor(opts: PostgresStoreOptions) {
    this.retryForMs = opts.retryForMs ?? 10_000;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client whose server went away emits 'error' on the pool; unhandled, it would crash the node.
    this.pool.on('error', () => {
      this.poolErrors++;
    });
  }

  /** Idle connections the pool lost to server-side errors (a restart shows up here). */
  get droppedConnections(): number {
    return this.poolErrors;
  }

  async health(): Promise<StoreHealth> {
    const t0 = performance.now();
    try {
      const r = await this.pool.query<{ ok: number }>('SELECT 1 AS ok');
      return { ok: r.rows[0]?.ok === 1, latencyMs: performance.now() - t0 };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - t0, error: errorText(err) };
    }
  }

  /** A plain query, not retried (the caller knows whether it is safe to repeat). */
  async query<R extends QueryResultRow>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    const r = await this.pool.query<R>(text, [...values]);
    return r.rows;
  }

  /** Runs an idempotent operation, retrying on connection loss until `retryForMs` has passed. */
  async idempotent<T>(op: (client: PoolClient) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.retryForMs;
    let delay = 50;
    for (;;) {
      let client: PoolClient | undefined;
      try {
        client = await this.pool.connect();
        const out = await op(client);
        client.release();
        return out;
      } catch (err) {
        // A broken connection must not go back into the pool (release(true) destroys it).
        client?.release(isConnectionError(err) ? true : undefined);
        if (!isConnectionError(err) || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1_000);
      }
    }
  }

  /** key text PRIMARY KEY, value jsonb, version bigint. */
  async ensureKvTable(table: string): Promise<void> {
    const t = ident(table);
    await this.idempotent((c) => c.query(`CREATE TABLE IF NOT EXISTS ${t} (key text PRIMARY KEY, value jsonb NOT NULL, version bigint NOT NULL)`));
  }

  /**
   * Upserts rows in batches of `batchSize`, one statement per batch (arrays through unnest),
   * all in one transaction. A row only replaces one with a lower version, so replaying the log
   * is harmless and the whole call is safe to retry.
   */
  async upsertMany(table: string, rows: readonly KvRow[], batchSize = 1_000): Promise<void> {
    if (rows.length === 0) return;
    const t = ident(table);
    const sql =
      `INSERT INTO ${t} AS cur (key, value, version) ` +
      'SELECT * FROM unnest($1::text[], $2::jsonb[], $3::bigint[]) ' +
      'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version WHERE cur.version < EXCLUDED.version';
    await this.idempotent(async (c) => {
      await c.query('BEGIN');
      try {
        for (let i = 0; i < rows.length; i += batchSize) {
          const b = rows.slice(i, i + batchSize);
          await c.query(sql, [b.map((r) => r.key), b.map((r) => JSON.stringify(r.value)), b.map((r) => r.version.toString())]);
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async getMany(table: string, keys: readonly string[]): Promise<Map<string, { value: unknown; version: bigint }>> {
    const t = ident(table);
    const rows = await this.idempotent((c) => c.query<{ key: string; value: unknown; version: string }>(`SELECT key, value, version FROM ${t} WHERE key = ANY($1::text[])`, [[...keys]]));
    return new Map(rows.rows.map((r) => [r.key, { value: r.value, version: BigInt(r.version) }]));
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`postgres: table name must match ${IDENT} (got ${JSON.stringify(name)})`);
  return `"${name}"`;
}
