import type { ServiceEndpoints, ServiceName } from '../../ops/services-lib/index.js';
import { externallyConfigured, loadServiceEndpoints, up } from '../../ops/services-lib/index.js';

/**
 * A test file's declaration of the real servers it needs: `await requireServices(['kafka'])`
 * in `beforeAll`. The first caller in a run starts them (a file lock per service makes this
 * safe across jest workers); later callers find them healthy and only take a lease, which
 * global-teardown releases. Services given by env (SIPHON_KAFKA_BROKERS,
 * SIPHON_CLICKHOUSE_URL, SIPHON_REDIS_URL, SIPHON_POSTGRES_URL) are used as they are and
 * never started or stopped.
 */
export async function requireServices<N extends ServiceName>(names: readonly N[]): Promise<Required<Pick<ServiceEndpoints, N>>> {
  const toStart = names.filter((n) => !externallyConfigured(n));
  if (toStart.length > 0) {
    // Set by global-setup in jest's main process; an ad-hoc run leases under its own PID.
    const runId = process.env.SIPHON_TEST_RUN_ID ?? `adhoc-${process.pid}`;
    const pid = Number(process.env.SIPHON_TEST_RUN_PID ?? process.pid);
    await up(toStart, { startedBy: 'test', lease: { runId, pid } });
  }
  const all = loadServiceEndpoints();
  for (const n of names) if (!all[n]) throw new Error(`requireServices: no endpoint for ${n}`);
  return all as Required<Pick<ServiceEndpoints, N>>;
}
