import { existsSync, readFileSync } from 'node:fs';
import { endpointsJsonPath } from './paths.js';

export type ServiceName = 'kafka' | 'clickhouse' | 'redis' | 'postgres';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'clickhouse', 'redis', 'postgres'];

export interface KafkaEndpoint {
  readonly brokers: string[];
  readonly version?: string;
}
export interface ClickHouseEndpoint {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly database: string;
  readonly version?: string;
}
export interface RedisEndpoint {
  readonly url: string;
  readonly version?: string;
}
export interface PostgresEndpoint {
  readonly url: string;
  readonly version?: string;
}
export interface ServiceEndpoints {
  kafka?: KafkaEndpoint;
  clickhouse?: ClickHouseEndpoint;
  redis?: RedisEndpoint;
  postgres?: PostgresEndpoint;
}

/**
 * Environment keys that point the project at servers it did not start. When one is set, that
 * service is taken as given: `requireServices` never starts or stops it.
 */
export const ENDPOINT_ENV = {
  kafka: 'SIPHON_KAFKA_BROKERS',
  clickhouse: 'SIPHON_CLICKHOUSE_URL',
  redis: 'SIPHON_REDIS_URL',
  postgres: 'SIPHON_POSTGRES_URL',
} as const satisfies Record<ServiceName, string>;

export function externallyConfigured(name: ServiceName, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[ENDPOINT_ENV[name]];
  return v !== undefined && v.trim() !== '';
}

/**
 * Connection settings for every service: `$SIPHON_SERVICES_DIR/endpoints.json` (written by
 * `ops/services up`), overridden per service by the SIPHON_*_URL / SIPHON_KAFKA_BROKERS env keys.
 */
export function loadServiceEndpoints(env: NodeJS.ProcessEnv = process.env, file: string = endpointsJsonPath()): ServiceEndpoints {
  const out: ServiceEndpoints = existsSync(file) ? parseEndpointsFile(readFileSync(file, 'utf8')) : {};
  const brokers = env[ENDPOINT_ENV.kafka];
  if (brokers?.trim()) out.kafka = { brokers: brokers.split(',').map((b) => b.trim()).filter((b) => b !== '') };
  const ch = env[ENDPOINT_ENV.clickhouse];
  if (ch?.trim()) out.clickhouse = clickHouseFromUrl(ch.trim());
  const redis = env[ENDPOINT_ENV.redis];
  if (redis?.trim()) out.redis = { url: redis.trim() };
  const pg = env[ENDPOINT_ENV.postgres];
  if (pg?.trim()) out.postgres = { url: pg.trim() };
  return out;
}

/** `http://user:pass@host:port/db` → endpoint; user/password/database default like ClickHouse's. */
function clickHouseFromUrl(raw: string): ClickHouseEndpoint {
  const u = new URL(raw);
  const database = u.pathname.replace(/^\//, '') || 'default';
  const username = decodeURIComponent(u.username) || 'default';
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  u.pathname = '/';
  return { url: u.toString().replace(/\/$/, ''), username, password, database };
}

function parseEndpointsFile(text: string): ServiceEndpoints {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null) return {};
  const o = raw as Record<string, unknown>;
  const out: ServiceEndpoints = {};
  if (isRecord(o.kafka) && Array.isArray(o.kafka.brokers)) out.kafka = o.kafka as unknown as KafkaEndpoint;
  if (isRecord(o.clickhouse) && typeof o.clickhouse.url === 'string') out.clickhouse = o.clickhouse as unknown as ClickHouseEndpoint;
  if (isRecord(o.redis) && typeof o.redis.url === 'string') out.redis = o.redis as unknown as RedisEndpoint;
  if (isRecord(o.postgres) && typeof o.postgres.url === 'string') out.postgres = o.postgres as unknown as PostgresEndpoint;
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The same settings as shell assignments (`. endpoints.env`). */
export function endpointsToEnv(e: ServiceEndpoints): string {
  const lines: string[] = [];
  if (e.kafka) lines.push(`${ENDPOINT_ENV.kafka}=${e.kafka.brokers.join(',')}`);
  if (e.clickhouse) lines.push(`${ENDPOINT_ENV.clickhouse}=${e.clickhouse.url}`);
  if (e.redis) lines.push(`${ENDPOINT_ENV.redis}=${e.redis.url}`);
  if (e.postgres) lines.push(`${ENDPOINT_ENV.postgres}=${e.postgres.url}`);
  return lines.map((l) => `export ${l}`).join('\n') + '\n';
}
