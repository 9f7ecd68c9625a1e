/**
 * Shared by the chain e2e tests: bounded SIPp runs with their final statistics, the real server
 * started under a low open-file limit, metric reads, and the log lines a run must not produce.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { sleep } from '../../helpers/eventually.js';
import { portsBound } from '../../helpers/port-bound.js';
import { MAIN_JS, REPO_ROOT, freePort, requireBuiltServer, type ServerProcess } from '../../helpers/server-process.js';
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { openFilesSoftLimit } from '../../../node/transport/index.js';

export const OURS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
export const SHARED = join(REPO_ROOT, '..', 'shared', 'bench', 'sipp');

export type SippTransport = 'u1' | 't1' | 'tn';

export interface SippStats {
  readonly created: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retransmissions: number;
}

export interface SippRun {
  readonly code: number | null;
  readonly stats: SippStats;
  /** Tail of sipp's output and error file when it failed ('' on success). */
  readonly output: string;
  readonly port: number;
  /** Where -trace_msg wrote the messages, when asked for. */
  readonly messages: string | null;
}

export interface SippOptions {
  readonly scenario: string;
  /** host:port of the first hop, for a UAC; omitted for a UAS that only listens. */
  readonly target?: string;
  readonly port?: number;
  readonly transport?: SippTransport;
  /** One user per line of a SEQUENTIAL injection file ([field0]). */
  readonly users?: readonly string[];
  readonly calls?: number;
  readonly rate?: number;
  readonly keys?: Readonly<Record<string, string>>;
  readonly traceMessages?: boolean;
  readonly extra?: readonly string[];
  /** sipp's own -timeout (s); the process is killed 5 s after it. */
  readonly timeoutSecs?: number;
}

let seq = 0;

/** sipp's socket budget: below the open-file limit it inherits from this process (which may be 1024). */
const SIPP_MAX_SOCKETS = ((): number => {
  let limit: number | null = null;
  try {
    limit = openFilesSoftLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    // no procfs: assume the common default
  }
  return Math.max(64, Math.min(4096, (limit ?? 1024) - 64));
})();

function statsOf(file: string): SippStats {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { created: 0, succeeded: 0, failed: 0, retransmissions: 0 };
  }
  const lines = text.trim().split('\n');
  const head = (lines[0] ?? '').split(';');
  const last = (lines[lines.length - 1] ?? '').split(';');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    return i < 0 ? 0 : Number(last[i] ?? 0) || 0;
  };
  return {
    created: col('TotalCallCreated'),
    succeeded: col('SuccessfulCall(C)'),
    failed: col('FailedCall(C)'),
    retransmissions: col('Retransmissions(C)'),
  };
}

/** One sipp run to completion (exit code 0 = every call passed), bounded by its timeout. */
export async function sipp(dir: string, o: SippOptions): Promise<SippRun> {
  const port = o.port ?? (await freePort());
  const n = ++seq;
  const timeout = o.timeoutSecs ?? 15;
  const args: string[] = [];
  if (o.target !== undefined) args.push(o.target);
  args.push('-sf', o.scenario, '-i', '127.0.0.1', '-p', String(port), '-t', o.transport ?? 'u1', '-m', String(o.calls ?? 1));
  // sipp refuses to start when its default 50,000 sockets exceed `ulimit -n` (tn opens one per call)
  args.push('-max_socket', String(SIPP_MAX_SOCKETS), '-buff_size', '1048576');
  if (o.rate !== undefined) args.push('-r', String(o.rate), '-l', String(Math.max(100, o.rate * 3)));
  if (o.users !== undefined) {
    const csv = join(dir, `users-${n}.csv`);
    writeFileSync(csv, `SEQUENTIAL\n${o.users.map((u) => `${u};`).join('\n')}\n`);
    args.push('-inf', csv);
  }
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, v);
  const errFile = join(dir, `sipp-${n}-errors.log`);
  const statFile = join(dir, `sipp-${n}-stat.csv`);
  const msgFile = join(dir, `sipp-${n}-messages.log`);
  args.push('-nostdin', '-timeout', `${timeout}s`, '-timeout_error', '-trace_err', '-error_file', errFile, '-trace_stat', '-stf', statFile);
  if (o.traceMessages === true) args.push('-trace_msg', '-message_file', msgFile);
  args.push(...(o.extra ?? []));
  return new Promise((resolve) => {
    const child = spawnTracked('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), (timeout + 5) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let errors = '';
      try {
        errors = readFileSync(errFile, 'utf8');
      } catch {
        // no error file: no errors
      }
      resolve({
        code,
        stats: statsOf(statFile),
        output: code === 0 ? '' : `${o.scenario} ${args.join(' ')}\n${output.slice(-1500)}\n${errors.slice(-2000)}`,
        port,
        messages: o.traceMessages === true ? msgFile : null,
      });
    });
  });
}

export const verdict = (r: SippRun): { code: number | null; output: string } => ({ code: r.code, output: r.output });
export const PASSED = { code: 0, output: '' };

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

/**
 * The built server run with `ulimit -n` set to `openFiles` (bash sets the limit, then execs node,
 * so the PID is node's). Same config shape and readiness wait as startServer.
 */
export async function startServerWithFileLimit(openFiles: number, config: Record<string, unknown> = {}): Promise<ServerProcess> {
  requireBuiltServer();
  const dir = mkdtempSync(join(tmpdir(), 'siphon-chain-'));
  const sipPort = await freePort();
  const adminPort = await freePort();
  const configFile = join(dir, 'siphon.yaml');
  writeFileSync(
    configFile,
    stringify({
      listen: { udp: [`127.0.0.1:${sipPort}`], tcp: [`127.0.0.1:${sipPort}`] },
      admin: { listen: `127.0.0.1:${adminPort}` },
      log: { format: 'json', level: 'info', file: join(dir, 'siphon.log') },
      ...config,
    }),
  );
  const child = spawnTracked('bash', ['-c', `ulimit -n ${openFiles} && exec "$0" "$@"`, process.execPath, MAIN_JS, '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
  });
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
  const deadline = Date.now() + 15_000;
  while ((await healthStatus(adminPort)) !== 200) {
    if (exited !== undefined) throw new Error(`server exited with ${exited} during start-up:\n${out}`);
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`server not healthy within timeout:\n${out}`);
    }
    await sleep(100);
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
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) throw new Error('VmRSS not found');
      return Number(m[1]) * 1024;
    },
  };
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
