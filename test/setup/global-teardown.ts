// jest loads globalTeardown through CommonJS `require`, outside moduleNameMapper: this file
// must stay free of relative imports, so it reads the state files itself and hands the
// stopping to `ops/services release` (the same code the CLI runs).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

function leasedByRun(servicesDir: string, runId: string): boolean {
  if (!existsSync(servicesDir)) return false;
  for (const name of readdirSync(servicesDir)) {
    const state = join(servicesDir, name, 'state.json');
    if (!existsSync(state)) continue;
    try {
      const rec = JSON.parse(readFileSync(state, 'utf8')) as { leases?: Record<string, number> };
      if (rec.leases && runId in rec.leases) return true;
    } catch {
      // A torn state file belongs to a service `release` will treat as not recorded.
    }
  }
  return false;
}

/** Same as procStartTime in test/helpers/tracked-spawn.ts (this file may not import it). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Kills every process a test started (test/helpers/tracked-spawn.ts) that is still running: its
 * worker died or its cleanup never ran. Each is named on stderr, since a leak is a test bug to fix.
 */
export function reapChildren(runId: string): void {
  const dir = join(resolve(process.env.SIPHON_TEST_CHILDREN_DIR ?? join(tmpdir(), 'siphon-test-children')), runId);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    let rec: { pid: number; start?: string; command?: string };
    try {
      rec = JSON.parse(readFileSync(join(dir, name), 'utf8')) as typeof rec;
    } catch {
      continue; // torn record: its writer died mid-write, before the child could matter
    }
    if (!rec.start || startTime(rec.pid) !== rec.start) continue; // gone, or the PID now names another process
    try {
      process.kill(rec.pid, 'SIGCONT'); // a frozen (SIGSTOP) member must not outlive SIGKILL's delivery
      process.kill(rec.pid, 'SIGKILL');
      process.stderr.write(`global-teardown: killed leaked test process ${rec.pid}: ${rec.command ?? '?'}\n`);
    } catch {
      // exited meanwhile
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops the outside servers that test files of this run started (via requireServices), unless
 * another live jest run still holds a lease on them, or a person started them with `ops/services up`.
 * A run that never asked for a service does nothing here.
 */
export default async function globalTeardown(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const runId = process.env.SIPHON_TEST_RUN_ID;
  if (!runId) return;
  reapChildren(runId);
  const servicesDir = resolve(process.env.SIPHON_SERVICES_DIR ?? join(tmpdir(), 'siphon-services'));
  if (!leasedByRun(servicesDir, runId)) return;
  const script = join(projectConfig.rootDir, 'ops', 'services');
  execFileSync('bash', [script, 'release', runId], { stdio: 'inherit', timeout: 120_000 });
}
