import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ServiceEndpoints, ServiceName } from './endpoints.js';
import { SERVICE_NAMES, endpointsToEnv } from './endpoints.js';
import { endpointsEnvPath, endpointsJsonPath, servicesDir } from './paths.js';

/** One server process of a service (Kafka has one per broker). */
export interface ProcessRecord {
  readonly label: string;
  readonly pid: number;
  readonly ports: Readonly<Record<string, number>>;
}

/** What `up` recorded about a running service: enough to probe it, stop it by PID and restart it in place. */
export interface ServiceRecord {
  readonly name: ServiceName;
  readonly dir: string;
  readonly version: string;
  readonly processes: readonly ProcessRecord[];
  readonly endpoint: NonNullable<ServiceEndpoints[ServiceName]>;
  /** `cli` services are never stopped by a test run; `test` ones are stopped when their last run ends. */
  startedBy: 'cli' | 'test';
  readonly startedAt: string;
  /** jest run id → PID of that run's main process; a lease whose PID is gone no longer counts. */
  leases: Record<string, number>;
  readonly options: { readonly brokers?: number };
}

export const serviceDir = (name: ServiceName): string => join(servicesDir(), name);
const recordPath = (name: ServiceName): string => join(serviceDir(name), 'state.json');

export function readRecord(name: ServiceName): ServiceRecord | undefined {
  const p = recordPath(name);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ServiceRecord;
  } catch {
    return undefined; // torn write from a killed process: treat the service as not recorded
  }
}

export function writeRecord(rec: ServiceRecord): void {
  writeAtomic(recordPath(rec.name), JSON.stringify(rec, null, 2) + '\n');
}

export function removeServiceDir(name: ServiceName): void {
  rmSync(serviceDir(name), { recursive: true, force: true });
}

/** Rebuilds endpoints.json / endpoints.env from every recorded service. */
export function writeEndpointFiles(): ServiceEndpoints {
  const e: ServiceEndpoints = {};
  for (const name of SERVICE_NAMES) {
    const rec = readRecord(name);
    if (rec) (e as Record<ServiceName, unknown>)[name] = rec.endpoint;
  }
  writeAtomic(endpointsJsonPath(), JSON.stringify(e, null, 2) + '\n');
  writeAtomic(endpointsEnvPath(), endpointsToEnv(e));
  return e;
}

/** Write-then-rename so a reader never sees half a file. */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
