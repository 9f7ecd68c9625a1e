// Public face of the ClickHouse layer (call history store; dialect: ClickHouse 18.16 and later).
export type { BindParams, BindValue } from './binder.js';
export { BindError, bindQuery, quoteString } from './binder.js';
export type { ClickHouseOptions } from './client.js';
export { ClickHouse, clickHouseErrorCode, createClickHouse, ensureDatabase } from './client.js';
export type { Row } from './insert.js';
export { BatchInserter, insertRows } from './insert.js';
export type { Migration } from './migrations.js';
export { appliedMigrations, defaultMigrationsDir, loadMigrations, migrate, splitStatements } from './migrations.js';

/** Column order of the `cdr` table (migration 001), for inserts with explicit columns. */
export const CDR_COLUMNS = ['event_date', 'start_time', 'call_id', 'caller', 'callee', 'duration_ms', 'log_index', 'disconnect_reason', 'direction', 'route'] as const;
