import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import type { BindParams } from './binder.js';
import { bindQuery } from './binder.js';

export interface ClickHouseOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly database?: string;
  readonly requestTimeoutMs?: number;
  readonly maxOpenConnections?: number;
}

/**
 * A thin layer over @clickhouse/client for ClickHouse 18.16 and later: every statement goes
 * through the `{name:Type}` binder, results come back as JSONEachRow objects.
 */
export class ClickHouse {
  readonly client: ClickHouseClient;
  readonly database: string;

  constructor(opts: ClickHouseOptions) {
    this.database = opts.database ?? 'default';
    this.client = createClient({
      url: opts.url,
      username: opts.username ?? 'default',
      password: opts.password ?? '',
      database: this.database,
      request_timeout: opts.requestTimeoutMs ?? 30_000,
      max_open_connections: opts.maxOpenConnections ?? 4,
      // Errors are returned to the caller; the client's own console logging would duplicate them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  async ping(): Promise<boolean> {
    const r = await this.client.ping();
    return r.success;
  }

  /** SELECT with bound parameters; rows as objects (UInt64/Int64 arrive as strings, as the server sends them). */
  async query<T extends Record<string, unknown>>(sql: string, params?: BindParams): Promise<T[]> {
    const rs = await this.client.query({ query: bindQuery(sql, params), format: 'JSONEachRow' });
    return rs.json<T>();
  }

  /** DDL or any statement without a result set. */
  async command(sql: string, params?: BindParams): Promise<void> {
    await this.client.command({ query: bindQuery(sql, params) });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export function createClickHouse(opts: ClickHouseOptions): ClickHouse {
  return new ClickHouse(opts);
}

/**
 * The numeric ClickHouse error code of a failed request. 18.16 words its errors as
 * `Code: 60, e.displayText() = DB::Exception: ...`, which the client does not parse.
 */
export function clickHouseErrorCode(err: unknown): number | undefined {
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  if (typeof message !== 'string') return undefined;
  const m = /Code: (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Creates a database if missing; the name must be a plain identifier. */
export async function ensureDatabase(opts: ClickHouseOptions, database: string): Promise<void> {
  const admin = new ClickHouse({ ...opts, database: 'default' });
  try {
    await admin.command('CREATE DATABASE IF NOT EXISTS {db:Identifier}', { db: database });
  } finally {
    await admin.close();
  }
}
