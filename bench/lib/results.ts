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
  return mergeResultsAt(resultsPath(name), patch);
}

/** mergeResults for an explicit file path. An unreadable or non-object file is replaced. */
export function mergeResultsAt(path: string, patch: Record<string, unknown>): Record<string, unknown> {
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
  /** median over rounds of operations per second of CPU time used by this process (one core) */
  ops_per_s: number;
  /** best round, the figure least disturbed by other processes on a shared machine */
  best_ops_per_s: number;
  ns_per_op: number;
  /** operations per second of wall-clock time over all rounds (lower when other processes compete) */
  wall_ops_per_s: number;
  iterations: number;
  rounds: number;
  duration_ms: number;
  cpu_ms: number;
}

/**
 * Runs `fn` in `rounds` rounds of about ms/rounds milliseconds each, after a warm-up, and reports
 * CPU-time throughput (median and best round) plus wall-clock throughput. Bounded by time.
 */
export function measure(fn: () => void, ms = 2000, warmupMs = 300, rounds = 5): Throughput {
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) for (let i = 0; i < 100; i++) fn();
  const perRound: number[] = [];
  let iterations = 0;
  let cpuTotal = 0;
  const start = performance.now();
  for (let r = 0; r < rounds; r++) {
    const cpu0 = process.cpuUsage();
    const end = performance.now() + ms / rounds;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 500; i++) fn();
      n += 500;
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    perRound.push((n / cpuMs) * 1000);
    iterations += n;
    cpuTotal += cpuMs;
  }
  const duration = performance.now() - start;
  const sorted = perRound.slice().sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    ops_per_s: Math.round(median),
    best_ops_per_s: Math.round(sorted[sorted.length - 1]),
    ns_per_op: Math.round(1e9 / median),
    wall_ops_per_s: Math.round((iterations / duration) * 1000),
    iterations,
    rounds,
    duration_ms: Math.round(duration),
    cpu_ms: Math.round(cpuTotal),
  };
}
