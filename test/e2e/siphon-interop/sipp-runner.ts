/**
 * Runs the scenarios of ./sipp (SIPhon's proxy/registrar SIPp cases, rewritten for this node)
 * against the REAL server process: bounded sipp runs on random 127.0.0.1 ports, admin reads.
 */
import { runSipp, type SippRun } from '../../helpers/sipp-run.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerProcess } from '../../helpers/server-process.js';

export const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');

export type { SippRun } from '../../helpers/sipp-run.js';
export { PASSED, verdict } from '../../helpers/sipp-run.js';

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
  /** `-trace_msg`: the run's `messages` names the file. */
  readonly traceMessages?: boolean;
}

/** One sipp run of a scenario of ./sipp against the server's port; exit code 0 means every call passed. */
export function sipp(dir: string, o: SippOptions): Promise<SippRun> {
  return runSipp(dir, {
    scenario: o.scenario.startsWith('/') ? o.scenario : join(SCENARIOS, o.scenario),
    target: o.target === undefined ? undefined : `127.0.0.1:${o.target}`,
    port: o.port,
    transport: o.transport,
    calls: o.calls,
    keys: o.keys,
    extra: [...(o.service === undefined ? [] : ['-s', o.service]), ...(o.extra ?? [])],
    timeoutSecs: o.sippTimeoutSecs,
    traceMessages: o.traceMessages,
  });
}

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
