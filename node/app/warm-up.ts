// Start-up warm-up: before the real listeners bind, a throwaway node in this process (loopback,
// kernel-chosen port, the shipped default script, no admin or metrics listener, silent log) is
// driven by warm-up-traffic.ts for `warmup.duration_ms`. V8's compiled code and type feedback are
// per process, so the real node starts with its hot paths already optimised.
//
// Why: a node offered full load the instant it starts spends its first seconds in the interpreter
// and in compilation; its answers are late, the UAs retransmit, and the extra load keeps it behind.
// Measured (README): cold at 2,500 calls/s it collapsed in 3 runs of 3, while a warmed node serves
// 3,000/s clean.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { SiphonConfig } from '../../config/index.js';
import { startSipNode } from '../core/index.js';
import type { Logger } from '../log/index.js';
import { startSipApp } from './sip-app.js';
import { startingRoute } from './starting-route.js';
import { runWarmUpTraffic, type WarmUpCounts, type WarmUpCredentials } from './warm-up-traffic.js';

export interface WarmUpReport extends WarmUpCounts {
  readonly ms: number;
}

const WARM_USER = 'siphon-warmup';

/**
 * The throwaway node's config: the operator's timers, transport, registrar, proxy and NAT settings
 * (the code paths they select are the ones to warm), but its own loopback UDP listener, no admin,
 * metrics or cluster side, the shipped default script (an operator's script may have side effects),
 * and, when the operator's node challenges, a static user of its own in the same realm with the same
 * algorithms (the HTTP backend is never asked).
 */
export function warmUpConfig(config: SiphonConfig): { config: SiphonConfig; credentials: WarmUpCredentials | undefined } {
  const challenges = config.auth.backend === 'http' || config.auth.users.length > 0;
  const credentials = challenges ? { username: WARM_USER, password: randomBytes(12).toString('hex') } : undefined;
  return {
    credentials,
    config: {
      ...config,
      listen: { udp: [{ host: '127.0.0.1', port: 0, advertise: null }], tcp: [], tls: [], ws: [], wss: [], dscp: 0 },
      advertised_address: null,
      log: { ...config.log, level: 'silent', file: null },
      metrics: { prometheus: false },
      admin: { ...config.admin, enabled: false },
      script: { path: null, reload: 'none' },
      auth: credentials === undefined
        ? { ...config.auth, backend: 'static', users: [] }
        : { ...config.auth, backend: 'static', users: [{ username: credentials.username, password: credentials.password, ha1: null, realm: null }] },
      // The warm-up user registers AoRs of its own: an auth/AoR match would refuse them all (403).
      registrar: { ...config.registrar, service_route: [], enforce_auth_aor_match: false },
      overload: { ...config.overload, enabled: false },
      // Its bindings are synthetic: no keep-alives go out for them.
      nat: { ...config.nat, keepalive: { ...config.nat.keepalive, enabled: false } },
      cluster: { ...config.cluster, data_dir: null, peers: [] },
      warmup: { ...config.warmup, enabled: false },
    },
  };
}

/** Runs the warm-up; never throws (a failed warm-up only means a colder start, which is logged). */
export async function warmUp(config: SiphonConfig, log: Logger): Promise<WarmUpReport | null> {
  const started = performance.now();
  const { config: warm, credentials } = warmUpConfig(config);
  const silent = pino({ level: 'silent' });
  try {
    const node = await startSipNode(warm, silent, { route: startingRoute });
    try {
      const app = await startSipApp(node, warm, silent);
      try {
        const target = node.listeners.find((l) => l.transport === 'udp');
        if (target === undefined) throw new Error('the warm-up node has no UDP listener');
        const { min_expires: min, max_expires: max } = config.registrar;
        const counts = await runWarmUpTraffic({
          target: { host: target.host, port: target.port },
          durationMs: config.warmup.duration_ms,
          credentials,
          expiresSecs: Math.min(Math.max(min, 60), Math.max(max, 1)),
        });
        return { ...counts, ms: Math.round(performance.now() - started) };
      } finally {
        app.stop();
      }
    } finally {
      await node.stop();
    }
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'warm-up failed: starting cold');
    return null;
  }
}
