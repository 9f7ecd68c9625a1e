/**
 * Shared bench helpers: every bench writes bench/results/NAME.json with its raw figures. Writers merge
 * into the existing file so several benches (or sections of one) can add keys without overwriting others.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest ancestor of this module holding package.json (works from src and dist/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function resultsPath(name: string): string {
  return join(projectRoot(), 'bench', 'results', `${name}.json`);
}

/** Merges `patch` into bench/results/NAME.json (top-level keys replaced, others kept); returns the merged object. */
export function mergeResults(name: string, patch: Record<string, unknown>): Record<string, unknown> {
  const path = resultsPath(name);
  let current: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) current = parsed as Record<string, unknown>;
    } catch {
      current = {};
    }
  }
  const merged = { ...current, ...patch };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(merged, null, 2) + '\n');
  return merged;
}

export interface Throughput {
  /** operations per second of CPU time consumed by this process (one core; robust to a shared, loaded machine) */
  ops_per_s: number;
  ns_per_op: number;
  /** operations per second of wall-clock time (lower when other processes compete for the core) */
  wall_ops_per_s: number;
  iterations: number;
  duration_ms: number;
  cpu_ms: number;
}

/** Runs `fn` for about `ms` milliseconds (after a warm-up) and reports throughput. Bounded by time. */
export function measure(fn: () => void, ms = 2000, warmupMs = 300): Throughput {
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) for (let i = 0; i < 100; i++) fn();
  let iterations = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1000; i++) fn();
    iterations += 1000;
    now = performance.now();
  }
  const duration = now - start;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    ops_per_s: Math.round((iterations / cpuMs) * 1000),
    ns_per_op: Math.round((cpuMs * 1e6) / iterations),
    wall_ops_per_s: Math.round((iterations / duration) * 1000),
    iterations,
    duration_ms: Math.round(duration),
    cpu_ms: Math.round(cpuMs),
  };
}
