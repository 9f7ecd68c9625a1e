// Public face of the outside-services harness (ops/services and the jest setup use only this).
export type { ClickHouseEndpoint, KafkaEndpoint, PostgresEndpoint, RedisEndpoint, ServiceEndpoints, ServiceName } from './endpoints.js';
export { ENDPOINT_ENV, SERVICE_NAMES, externallyConfigured, loadServiceEndpoints } from './endpoints.js';
export type { KafkaBroker, KafkaCluster, KafkaStartOptions } from './kafka.js';
export { KAFKA_VERSION, ensureKafkaJars, restartKafkaBroker, startKafkaCluster, stopKafkaCluster, waitKafkaReady } from './kafka.js';
export type { ServiceStatus, UpOptions } from './manager.js';
export { down, release, restart, status, up } from './manager.js';
export { isAlive } from './processes.js';
export { withFileLock } from './lock.js';
export { endpointsEnvPath, endpointsJsonPath, repoRoot, servicesDir } from './paths.js';
export type { ProcessRecord, ServiceRecord } from './state.js';
export { readRecord } from './state.js';
export type { ClickHouseServer } from './clickhouse.js';
export { startClickHouse, stopClickHouse } from './clickhouse.js';
export type { RedisServer } from './redis.js';
export { startRedis, stopRedis } from './redis.js';
export type { PostgresServer } from './postgres.js';
export { startPostgres, stopPostgres } from './postgres.js';
