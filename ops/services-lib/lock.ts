import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlive, sleep } from './processes.js';

/**
 * Cross-process mutual exclusion with a lock file created O_EXCL (atomic on a local file
 * system). The file holds the owner's PID, so a lock left by a crashed process is taken over
 * instead of blocking every later run.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 10 * 60_000): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryAcquire(path)) break;
    if (Date.now() >= deadline) throw new Error(`lock ${path}: still held after ${timeoutMs} ms`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // Already gone: a stale-lock breaker saw our process as dead; nothing left to release.
    }
  }
}

function tryAcquire(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let holder = 0;
  try {
    holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {
    return false; // being created or released right now; try again shortly
  }
  if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
    try {
      unlinkSync(path);
    } catch {
      // Another waiter removed it first.
    }
  }
  return false;
}
