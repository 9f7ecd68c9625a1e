/**
 * One bounded SIPp run for the end-to-end tests: random 127.0.0.1 port, its final statistics, the
 * tail of its output and error file when it failed, optional message trace. Killed 5 s after its own
 * -timeout, started with spawnTracked so it never outlives the run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './server-process.js';
import { spawnTracked } from './tracked-spawn.js';
import { openFilesSoftLimit } from '../../node/transport/index.js';

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
  /** Local address sipp binds (-i); default 127.0.0.1 ('::1' for IPv6 loopback). */
  readonly localIp?: string;
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
export async function runSipp(dir: string, o: SippOptions): Promise<SippRun> {
  const port = o.port ?? (await freePort());
  const n = ++seq;
  const timeout = o.timeoutSecs ?? 15;
  const args: string[] = [];
  if (o.target !== undefined) args.push(o.target);
  args.push('-sf', o.scenario, '-i', o.localIp ?? '127.0.0.1', '-p', String(port), '-t', o.transport ?? 'u1', '-m', String(o.calls ?? 1));
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

