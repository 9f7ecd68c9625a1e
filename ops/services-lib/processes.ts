import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface SpawnSpec {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Starts a long-lived server detached from the caller (its own process group, output to a log
 * file), so it outlives the CLI or the jest worker that started it; it is stopped later by PID.
 */
export function spawnDetached(spec: SpawnSpec): number {
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.cmd, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`cannot start ${spec.cmd}`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A killed child of this very process stays a zombie until reaped; it is not running. */
function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const at = stat.lastIndexOf(')');
    return stat.slice(at + 2, at + 3) === 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM (or the given signal), wait for exit, then SIGKILL when the grace period runs out. */
export async function stopPid(pid: number, opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, opts.signal ?? 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + (opts.graceMs ?? 20_000);
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const hard = Date.now() + 5_000;
  while (isAlive(pid) && Date.now() < hard) await sleep(50);
}

/** Polls `probe` until it resolves true; fails with `what` and the last error after `timeoutMs`. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (alive && !alive()) throw new Error(`${what}: process exited before it became ready`);
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`${what}: not ready after ${timeoutMs} ms${why}`);
    }
    await sleep(100);
  }
}

/** Runs a short command to completion; rejects with its output when it fails. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveRun(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.trim()}`))));
  });
}
