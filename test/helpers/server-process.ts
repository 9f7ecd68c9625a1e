/**
 * Starts the REAL compiled server (`dist/node/main.js`) as a child process on random 127.0.0.1
 * ports with a temp config, waits for /admin/health, and stops it by PID. Reusable by every e2e test.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTracked } from './tracked-spawn.js';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** Nearest ancestor holding package.json (works from test/helpers and from dist/test/helpers). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();
export const MAIN_JS = join(REPO_ROOT, 'dist', 'node', 'main.js');

function tryTcp(port: number): Promise<number | null> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(null));
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

function tryUdp(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    s.once('error', () => res(false));
    s.bind(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/**
 * A port free for both TCP and UDP on 127.0.0.1 now (SIP listens on both with one number), below the
 * kernel's ephemeral range (32768+ here), for a process that binds it later (a server, a SIPp): a
 * port-0 socket or outbound connection of another suite can be handed an ephemeral port in between,
 * and only an explicit bind can take one below the range.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const candidate = 12000 + Math.floor(Math.random() * 20000);
    if ((await tryTcp(candidate)) !== null && (await tryUdp(candidate))) return candidate;
  }
  throw new Error('no free port in 12000-31999');
}

export interface ServerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly sipPort: number;
  readonly adminPort: number;
  readonly dir: string;
  readonly configFile: string;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
  /** Resident set size of the server process in bytes (from /proc). */
  rss(): Promise<number>;
}

export interface StartOptions {
  /** Config keys merged over the generated listeners/admin/log section. */
  readonly config?: Record<string, unknown>;
  readonly args?: readonly string[];
  readonly startTimeoutMs?: number;
  readonly nodeArgs?: readonly string[];
  /** `ulimit -n` for the server: bash sets the limit, then execs node (so the PID is node's). */
  readonly openFiles?: number;
}

export function requireBuiltServer(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} missing: build first with \`npx tsc -p .\``);
}

export interface ExitResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the server expecting it to exit by itself (e.g. a config error); bounded by `timeoutMs`. */
export function runServerToExit(args: readonly string[], timeoutMs = 10_000): Promise<ExitResult> {
  requireBuiltServer();
  return new Promise((resolvePromise, reject) => {
    const child = spawnTracked(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/**
 * Starts the built server on fresh ports and waits until /admin/health answers. A port that
 * freePort() found free can be taken by another process before the server binds it (parallel
 * suites, a SIPp of a benchmark): that start is retried on new ports, twice at most.
 */
export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('EADDRINUSE')) throw err;
    }
  }
}

async function startServerOnce(opts: StartOptions): Promise<ServerProcess> {
  requireBuiltServer();
  const dir = mkdtempSync(join(tmpdir(), 'siphon-e2e-'));
  const sipPort = await freePort();
  const adminPort = await freePort();
  const config: Record<string, unknown> = {
    listen: { udp: [`127.0.0.1:${sipPort}`], tcp: [`127.0.0.1:${sipPort}`] },
    admin: { listen: `127.0.0.1:${adminPort}` },
    log: { format: 'json', level: 'info', file: join(dir, 'siphon.log') },
    // A second of synthetic traffic per start would cost the suite minutes; its own tests turn it on.
    warmup: { enabled: false },
    ...(opts.config ?? {}),
  };
  const configFile = join(dir, 'siphon.yaml');
  writeFileSync(configFile, stringify(config));
  const argv = [process.execPath, ...(opts.nodeArgs ?? []), MAIN_JS, '--config', configFile, ...(opts.args ?? [])];
  const [command, args] =
    opts.openFiles === undefined ? [argv[0], argv.slice(1)] : ['bash', ['-c', `ulimit -n ${opts.openFiles} && exec "$0" "$@"`, ...argv]];
  const child = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  let exited: number | null | undefined;
  const exitPromise = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      exited = code;
      res(code);
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');

  const stop = async (graceMs = 5000): Promise<number | null> => {
    if (exited !== undefined) return exited;
    process.kill(pid, 'SIGTERM');
    const killer = setTimeout(() => {
      if (exited === undefined) process.kill(pid, 'SIGKILL');
    }, graceMs);
    const code = await exitPromise;
    clearTimeout(killer);
    return code;
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`server exited with ${exited} during start-up:\n${out}`);
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/admin/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`server not healthy within timeout:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid,
    child,
    sipPort,
    adminPort,
    dir,
    configFile,
    output: () => out,
    stop,
    rss: async () => {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      if (!m) throw new Error('VmRSS not found');
      return Number(m[1]) * 1024;
    },
  };
}

/**
 * One server process for the enclosing describe block (or file): started before its tests, stopped
 * after them with a clean exit asserted. The returned object stands for that server (its fields
 * are read when a test runs, after start-up).
 */
export function serverPerSuite(opts: StartOptions = {}): ServerProcess {
  let current: ServerProcess | undefined;
  beforeAll(async () => {
    current = await startServer(opts);
  }, 30_000);
  afterAll(async () => {
    if (current) expect(await current.stop()).toBe(0);
  });
  return new Proxy({} as ServerProcess, {
    get(_target, key) {
      if (current === undefined) throw new Error('the suite server is not started (read it inside a test or hook)');
      const value: unknown = Reflect.get(current, key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(current) : value;
    },
  });
}
