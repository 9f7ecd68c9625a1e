/**
 * Shared by the chain e2e tests: bounded SIPp runs with their final statistics, the real server
 * started under a low open-file limit, metric reads, and the log lines a run must not produce.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../helpers/eventually.js';
import { portsBound } from '../../helpers/port-bound.js';
import { REPO_ROOT, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { spawnTracked } from '../../helpers/tracked-spawn.js';

export const OURS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
export const SHARED = join(REPO_ROOT, '..', 'shared', 'bench', 'sipp');

export { PASSED, runSipp as sipp, verdict, type SippOptions, type SippRun, type SippStats, type SippTransport } from '../../helpers/sipp-run.js';

export async function metricsText(adminPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
}

/** One sample of a metric line `name{labels} value` or `name value` (NaN when absent). */
export function metric(text: string, nameWithLabels: string): number {
  const escaped = nameWithLabels.replace(/[{}"=.]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

export const TCP_CONNECTIONS = 'siphon_connections_active{transport="tcp"}';
export const TCP_REFUSED = 'siphon_tcp_connections_refused_total{transport="tcp"}';

export async function healthStatus(adminPort: number, timeoutMs = 1500): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/admin/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status;
  } catch {
    return 0;
  }
}

/** Samples a value every `everyMs` until stopped; `max` and `values` are read after stop(). */
export function sampler(read: () => Promise<number>, everyMs = 100): { stop(): Promise<number[]> } {
  const values: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      values.push(await read());
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return values;
    },
  };
}

interface LogLine {
  readonly level: number;
  readonly msg?: string;
}

/** The server's JSON log lines (its config writes them to dir/siphon.log). */
export function logLines(server: { dir: string }): LogLine[] {
  let text = '';
  try {
    text = readFileSync(join(server.dir, 'siphon.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Lines at pino level error (50) or fatal (60), as "level msg" for a readable failure. */
export function errorLines(server: { dir: string }): string[] {
  return logLines(server)
    .filter((l) => l.level >= 50)
    .map((l) => `${l.level} ${l.msg ?? ''}`);
}

/** The built server run with `ulimit -n` set to `openFiles`; otherwise as startServer. */
export function startServerWithFileLimit(openFiles: number, config: Record<string, unknown> = {}): Promise<ServerProcess> {
  return startServer({ config, openFiles });
}

/** Open descriptors of a process (from /proc; -1 when it is gone). */
export function openDescriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/**
 * Header lines of the first message in a sipp -trace_msg file whose start line begins with
 * `startLine` (e.g. 'BYE ', 'SIP/2.0 200'), or [] when there is none.
 */
export function traceHeaders(messagesFile: string | null, startLine: string): string[] {
  if (messagesFile === null) return [];
  let text = '';
  try {
    text = readFileSync(messagesFile, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => l.startsWith(startLine));
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && l.trim() === '');
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

/** Values of one header in the lines traceHeaders returned, split at top-level commas. */
export function headerValues(headers: readonly string[], name: string): string[] {
  const prefix = `${name.toLowerCase()}:`;
  return headers
    .filter((h) => h.toLowerCase().startsWith(prefix))
    .flatMap((h) => h.slice(prefix.length).split(/,(?=\s*<)/))
    .map((v) => v.trim());
}

export interface Kamailio {
  readonly pid: number;
  readonly port: number;
  /** Lines Kamailio logged at ERROR or worse (it logs to stderr with -E). */
  errors(): string[];
  output(): string;
  stop(): Promise<void>;
}

/**
 * Kamailio as a child process on 127.0.0.1:`port`: a copy of `template` (under ./kamailio) with
 * its @NAME@ placeholders filled in, its own working/runtime dir and pid file, foreground (-DD)
 * logging to stderr (-E). Stopped by PID.
 */
export async function startKamailio(template: string, port: number, values: Readonly<Record<string, string | number>>): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'siphon-chain-kamailio-'));
  let cfg = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'kamailio', template), 'utf8').split('@KPORT@').join(String(port));
  for (const [k, v] of Object.entries(values)) cfg = cfg.split(`@${k}@`).join(String(v));
  const cfgFile = join(dir, 'kamailio.cfg');
  writeFileSync(cfgFile, cfg);
  const child = spawnTracked('kamailio', ['-f', cfgFile, '-DD', '-E', '-w', dir, '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-m', '64', '-M', '8'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  let exited = false;
  const exit = new Promise<void>((res) =>
    child.on('exit', () => {
      exited = true;
      res();
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('kamailio did not spawn');
  const stop = async (): Promise<void> => {
    if (exited) return;
    process.kill(pid, 'SIGTERM');
    const killer = setTimeout(() => {
      if (!exited) process.kill(pid, 'SIGKILL');
    }, 5000);
    await exit;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`kamailio exited during start-up:\n${out.slice(-3000)}`);
    try {
      await portsBound('udp', [port], 200);
      break;
    } catch {
      // not bound yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kamailio did not start listening:\n${out.slice(-3000)}`);
    }
    await sleep(50);
  }
  return {
    pid,
    port,
    errors: () => out.split('\n').filter((l) => /\b(ERROR|CRITICAL|ALERT|BUG|EMERGENCY):/.test(l)),
    output: () => out,
    stop,
  };
}

/**
 * Stops a suite's Kamailio, then fails the suite if it or our node logged an error. Kamailio's log
 * is read first: its TCP workers log a CRITICAL 'receive_fd(): EOF' while it shuts down.
 */
export async function stopKamailioCheckingLogs(kam: Kamailio | undefined, server: { dir: string }): Promise<void> {
  const kamErrors = kam?.errors() ?? [];
  await kam?.stop();
  expect(kamErrors).toEqual([]);
  expect(errorLines(server)).toEqual([]);
}
