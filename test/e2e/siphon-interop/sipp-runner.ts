/**
 * Runs the scenarios of ./sipp (SIPhon's proxy/registrar SIPp cases, rewritten for this node)
 * against the REAL server process: bounded sipp runs on random 127.0.0.1 ports, admin reads.
 */
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type ServerProcess } from '../../helpers/server-process.js';

export const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');

export interface SippRun {
  readonly code: number | null;
  /** Tail of sipp's output and error file when it failed ('' on success). */
  readonly output: string;
  readonly port: number;
}

export interface SippOptions {
  /** File name under ./sipp, or an absolute path (a substituted copy). */
  readonly scenario: string;
  /** Server SIP port for a UAC; omitted for a UAS that only listens. */
  readonly target?: number;
  readonly port?: number;
  readonly transport?: 'u1' | 't1';
  /** `-s`: the [service] keyword (the AoR user part). */
  readonly service?: string;
  /** `-key name value` pairs. */
  readonly keys?: Readonly<Record<string, string>>;
  readonly calls?: number;
  readonly extra?: readonly string[];
  /** sipp's own global timeout (seconds). */
  readonly sippTimeoutSecs?: number;
}

let runSeq = 0;

/** One sipp run to completion; exit code 0 means every call passed. Killed at sippTimeout + 5 s. */
export async function sipp(dir: string, o: SippOptions): Promise<SippRun> {
  const port = o.port ?? (await freePort());
  const n = ++runSeq;
  const scenario = o.scenario.startsWith('/') ? o.scenario : join(SCENARIOS, o.scenario);
  const timeout = o.sippTimeoutSecs ?? 15;
  const args: string[] = [];
  if (o.target !== undefined) args.push(`127.0.0.1:${o.target}`);
  args.push('-sf', scenario, '-i', '127.0.0.1', '-p', String(port), '-t', o.transport ?? 'u1', '-m', String(o.calls ?? 1));
  if (o.service !== undefined) args.push('-s', o.service);
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, v);
  const errFile = join(dir, `sipp-${n}-errors.log`);
  args.push('-nostdin', '-timeout', `${timeout}s`, '-timeout_error', '-trace_err', '-error_file', errFile, ...(o.extra ?? []));
  return new Promise((resolve) => {
    const child = spawnTracked('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (timeout + 5) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let errors = '';
      try {
        errors = readFileSync(errFile, 'utf8');
      } catch {
        // no error file: no errors
      }
      resolve({ code, output: code === 0 ? '' : `${o.scenario}: ${output.slice(-1200)}\n${errors.slice(-2500)}`, port });
    });
  });
}

/** The verdict a test compares: exit code plus the failure tail (empty when it passed). */
export const verdict = (r: SippRun): { code: number | null; output: string } => ({ code: r.code, output: r.output });
export const PASSED = { code: 0, output: '' };

/** A copy of a scenario with `token` replaced (sipp expands no keywords in attributes). */
export function substituted(dir: string, scenario: string, token: string, value: string): string {
  const out = join(dir, `${value}-${scenario}`);
  writeFileSync(out, readFileSync(join(SCENARIOS, scenario), 'utf8').split(token).join(value));
  return out;
}

export interface ContactJson {
  readonly contact: string;
  readonly expires: number;
  readonly path?: readonly string[];
}

/** Bindings of an AoR from /admin/registrations/:aor (null when the AoR has none). */
export async function bindingsOf(server: ServerProcess, aor: string): Promise<ContactJson[] | null> {
  const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent(aor)}`);
  if (res.status !== 200) return null;
  return ((await res.json()) as { contacts: ContactJson[] }).contacts;
}

export async function metrics(server: ServerProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
}

/** One sample of an unlabelled gauge/counter (NaN when absent). */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
