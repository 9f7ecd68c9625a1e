/**
 * Routes every node serves: liveness/readiness, aggregate stats, and Prometheus /metrics.
 */
import type { Registry } from 'prom-client';
import type { AdminRouter } from './router.js';

export interface HealthSource {
  /** Liveness: the event loop answers. Readiness: every listener is bound and the node accepts traffic. */
  ready(): boolean;
  /** Named readiness checks for diagnosis (`{"sip.udp": true, ...}`). */
  checks(): Record<string, boolean>;
}

export interface StatsSource {
  stats(): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export function mountCoreRoutes(
  router: AdminRouter,
  deps: { health: HealthSource; stats: StatsSource; metrics: Registry | null; startedAt: number; version: string },
): void {
  router.get('/admin/health', () => {
    const ready = deps.health.ready();
    return {
      status: ready ? 200 : 503,
      body: {
        status: ready ? 'ok' : 'starting',
        live: true,
        ready,
        checks: deps.health.checks(),
        uptime_seconds: (Date.now() - deps.startedAt) / 1000,
        version: deps.version,
      },
    };
  });
  router.get('/admin/stats', async () => ({ status: 200, body: await deps.stats.stats() }));
  const registry = deps.metrics;
  if (registry !== null) {
    router.get('/metrics', async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }));
  }
}
