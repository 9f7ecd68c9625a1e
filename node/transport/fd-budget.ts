/**
 * File descriptors are one pool for the whole process: inbound SIP connections, outbound ones,
 * the admin/metrics listeners and their clients, log files. If inbound TCP may take every
 * descriptor, accept() hits EMFILE and so does everything else: /admin/health stops answering
 * and the proxy cannot open a connection to a callee. So the inbound cap (`net.Server
 * maxConnections`, past which Node closes a new connection at accept) is held below the
 * process's open-file soft limit, leaving a reserve for the rest; outbound connections get that
 * reserve less what the node itself holds (listeners, admin, log files, event loop), so neither
 * direction can starve the admin API.
 */

/** The soft "Max open files" limit from the text of /proc/self/limits; null if absent/unlimited. */
export function openFilesSoftLimit(procLimits: string): number | null {
  const m = /^Max open files\s+(\S+)\s+\S+\s+files\s*$/m.exec(procLimits);
  if (m === null) return null;
  const soft = Number(m[1]);
  return Number.isSafeInteger(soft) && soft > 0 ? soft : null;
}

/** Descriptors kept out of the inbound TCP budget: a quarter of the limit, at least 64. */
export function reservedDescriptors(softLimit: number): number {
  return Math.max(64, Math.floor(softLimit / 4));
}

export interface InboundCap {
  /** Inbound connections each TCP listener may hold. */
  readonly perListener: number;
  /** True when the configured value was lowered to fit the open-file limit. */
  readonly clamped: boolean;
}

/**
 * The `maxConnections` each of `listeners` TCP listeners gets: the configured value, lowered so
 * that all listeners together stay within the soft limit minus the reserve (at least 1 each).
 */
export function inboundConnectionCap(configured: number, softLimit: number | null, listeners: number): InboundCap {
  if (softLimit === null || listeners < 1) return { perListener: configured, clamped: false };
  const budget = Math.max(1, Math.floor((softLimit - reservedDescriptors(softLimit)) / listeners));
  return configured > budget ? { perListener: budget, clamped: true } : { perListener: configured, clamped: false };
}

/** Descriptors the node holds besides SIP connections (24 measured at idle: listeners, admin, logs, libuv). */
export const OWN_DESCRIPTORS = 32;

/** Outbound TCP connections allowed at once: the reserve less the node's own descriptors (at least 1); null if the limit is unknown. */
export function outboundConnectionCap(softLimit: number | null): number | null {
  if (softLimit === null) return null;
  return Math.max(1, reservedDescriptors(softLimit) - OWN_DESCRIPTORS);
}
