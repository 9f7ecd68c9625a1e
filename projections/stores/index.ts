// Public face of the external projection stores (Redis, PostgreSQL).
export type { RedisStoreOptions, StoreHealth } from './redis.js';
export { RedisStore } from './redis.js';
export type { KvRow, PostgresStoreOptions } from './postgres.js';
export { PostgresStore, isConnectionError } from './postgres.js';
