import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startClickHouse, clickHouseProbe, stopClickHouse } from './clickhouse.js';
import type { ServiceEndpoints, ServiceName } from './endpoints.js';
import { SERVICE_NAMES } from './endpoints.js';
import type { KafkaCluster } from './kafka.js';
import { kafkaProbe, startKafkaCluster, stopKafkaCluster } from './kafka.js';
import { withFileLock } from './lock.js';
import { servicesDir } from './paths.js';
import { postgresProbe, startPostgres, stopPostgres } from './postgres.js';
import { isAlive, stopPid } from './processes.js';
import { redisProbe, startRedis, stopRedis } from './redis.js';
import type { ServiceRecord } from './state.js';
import { readRecord, removeServiceDir, serviceDir, writeEndpointFiles, writeRecord } from './state.js';

export interface UpOptions {
  /** Kafka broker count; when given and a running cluster differs, it is replaced. */
  readonly kafkaBrokers?: number;
  readonly startedBy?: 'cli' | 'test';
  /** A jest run that uses the service: it is stopped only when no live run still holds a lease. */
  readonly lease?: { readonly runId: string; readonly pid: number };
}

export type ServiceStatus = { name: ServiceName; state: 'running' | 'stopped' | 'unhealthy'; record?: ServiceRecord };

const serviceLock = (name: ServiceName): string => join(servicesDir(), `${name}.lock`);
const endpointsLock = (): string => join(servicesDir(), 'endpoints.lock');

/** Starts whatever of `names` is not already running and healthy; returns all endpoints. */
export async function up(names: readonly ServiceName[], opts: UpOptions = {}): Promise<ServiceEndpoints> {
  mkdirSync(servicesDir(), { recursive: true });
  // Kafka dominates start-up time; the others start alongside it.
  await Promise.all(unique(names).map((n) => withFileLock(serviceLock(n), () => upOne(n, opts))));
  return withFileLock(endpointsLock(), async () => writeEndpointFiles());
}

async function upOne(name: ServiceName, opts: UpOptions): Promise<void> {
  const rec = readRecord(name);
  if (rec && (await healthy(rec)) && !(name === 'kafka' && opts.kafkaBrokers !== undefined && rec.options.brokers !== opts.kafkaBrokers)) {
    if (opts.startedBy === 'cli') rec.startedBy = 'cli'; // adopted by a person: tests must leave it running
    if (opts.lease) rec.leases[opts.lease.runId] = opts.lease.pid;
    writeRecord(rec);
    return;
  }
  if (rec) await stopRecord(rec);
  removeServiceDir(name);
  const fresh = await startService(name, opts);
  writeRecord(fresh);
}

function recordBase(name: ServiceName, opts: UpOptions): Pick<ServiceRecord, 'name' | 'dir' | 'startedBy' | 'startedAt' | 'leases'> {
  return {
    name,
    dir: serviceDir(name),
    startedBy: opts.startedBy ?? 'cli',
    startedAt: new Date().toISOString(),
    leases: opts.lease ? { [opts.lease.runId]: opts.lease.pid } : {},
  };
}

async function startService(name: ServiceName, opts: UpOptions, previous?: ServiceRecord): Promise<ServiceRecord> {
  const base = previous ? { name, dir: previous.dir, startedBy: previous.startedBy, startedAt: new Date().toISOString(), leases: previous.leases } : recordBase(name, opts);
  const dir = base.dir;
  switch (name) {
    case 'kafka': {
      const brokers = previous?.options.brokers ?? opts.kafkaBrokers ?? 1;
      const ports = previous?.processes.map((p) => ({ port: p.ports.port, controllerPort: p.ports.controllerPort }));
      const c = await startKafkaCluster({ dir, brokers, ports });
      return {
        ...base,
        version: c.version,
        processes: c.brokers.map((b) => ({ label: `broker-${b.nodeId}`, pid: b.pid, ports: { port: b.port, controllerPort: b.controllerPort } })),
        endpoint: { brokers: c.brokers.map((b) => `127.0.0.1:${b.port}`), version: c.version },
        options: { brokers },
      };
    }
    case 'clickhouse': {
      const p = previous?.processes[0]?.ports;
      const s = await startClickHouse(dir, p ? { http: p.http, tcp: p.tcp } : undefined);
      return {
        ...base,
        version: s.version,
        processes: [{ label: 'clickhouse-server', pid: s.pid, ports: { http: s.httpPort, tcp: s.tcpPort } }],
        endpoint: { url: `http://127.0.0.1:${s.httpPort}`, username: 'default', password: '', database: 'default', version: s.version },
        options: {},
      };
    }
    case 'redis': {
      const s = await startRedis(dir, previous?.processes[0]?.ports.port);
      return { ...base, version: s.version, processes: [{ label: 'redis-server', pid: s.pid, ports: { port: s.port } }], endpoint: { url: `redis://127.0.0.1:${s.port}`, version: s.version }, options: {} };
    }
    case 'postgres': {
      const s = await startPostgres(dir, previous?.processes[0]?.ports.port);
      const url = `postgres://${encodeURIComponent(s.user)}@127.0.0.1:${s.port}/postgres`;
      return { ...base, version: s.version, processes: [{ label: 'postgres', pid: s.pid, ports: { port: s.port } }], endpoint: { url, version: s.version }, options: {} };
    }
  }
}

function asKafkaCluster(rec: ServiceRecord): KafkaCluster {
  return {
    version: rec.version,
    dir: rec.dir,
    clusterId: '',
    brokers: rec.processes.map((p, i) => ({ nodeId: i + 1, port: p.ports.port, controllerPort: p.ports.controllerPort, dir: join(rec.dir, `broker-${i + 1}`), pid: p.pid })),
  };
}

/** Every recorded PID alive and the service answering its protocol. */
async function healthy(rec: ServiceRecord): Promise<boolean> {
  if (!rec.processes.every((p) => isAlive(p.pid))) return false;
  try {
    switch (rec.name) {
      case 'kafka':
        return await kafkaProbe(asKafkaCluster(rec));
      case 'clickhouse':
        return await clickHouseProbe(rec.processes[0].ports.http);
      case 'redis':
        return await redisProbe(rec.processes[0].ports.port);
      case 'postgres':
        return await postgresProbe((rec.endpoint as { url: string }).url);
    }
  } catch {
    return false;
  }
}

async function stopRecord(rec: ServiceRecord): Promise<void> {
  switch (rec.name) {
    case 'kafka':
      return stopKafkaCluster(asKafkaCluster(rec));
    case 'clickhouse':
      return stopClickHouse(rec.processes[0].pid);
    case 'redis':
      return stopRedis(rec.processes[0].pid);
    case 'postgres':
      return stopPostgres(rec.processes[0].pid);
  }
}

/** Stops the named services by their recorded PIDs and removes their data. */
export async function down(names: readonly ServiceName[] = SERVICE_NAMES): Promise<ServiceName[]> {
  const stopped: ServiceName[] = [];
  await Promise.all(
    unique(names).map((n) =>
      withFileLock(serviceLock(n), async () => {
        const rec = readRecord(n);
        if (rec) {
          await stopRecord(rec);
          stopped.push(n);
        }
        removeServiceDir(n);
      }),
    ),
  );
  await withFileLock(endpointsLock(), async () => writeEndpointFiles());
  return stopped;
}

/** Stops a running service and starts it again on the same ports with the same data (reconnection tests). */
export async function restart(name: ServiceName): Promise<ServiceRecord> {
  return withFileLock(serviceLock(name), async () => {
    const rec = readRecord(name);
    if (!rec) throw new Error(`${name} is not running`);
    await stopRecord(rec);
    const fresh = await startService(name, {}, rec);
    writeRecord(fresh);
    return fresh;
  });
}

export async function status(names: readonly ServiceName[] = SERVICE_NAMES): Promise<ServiceStatus[]> {
  return Promise.all(
    unique(names).map(async (name): Promise<ServiceStatus> => {
      const record = readRecord(name);
      if (!record) return { name, state: 'stopped' };
      return { name, state: (await healthy(record)) ? 'running' : 'unhealthy', record };
    }),
  );
}

/**
 * A jest run is over: drop its lease, and stop each service that a test run started once no
 * live run holds a lease on it. Services a person started with `ops/services up` stay up.
 */
export async function release(runId: string): Promise<ServiceName[]> {
  const toStop: ServiceName[] = [];
  for (const name of SERVICE_NAMES) {
    await withFileLock(serviceLock(name), async () => {
      const rec = readRecord(name);
      if (!rec || !(runId in rec.leases)) return;
      delete rec.leases[runId];
      const live = Object.values(rec.leases).some((pid) => isAlive(pid));
      if (rec.startedBy === 'test' && !live) toStop.push(name);
      else writeRecord(rec);
    });
  }
  if (toStop.length > 0) await down(toStop);
  return toStop;
}

function unique(names: readonly ServiceName[]): ServiceName[] {
  return [...new Set(names)];
}
