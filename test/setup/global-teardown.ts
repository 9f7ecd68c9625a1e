// jest loads globalTeardown through CommonJS `require`, outside moduleNameMapper: this file
// must stay free of relative imports, so it reads the state files itself and hands the
// stopping to `ops/services release` (the same code the CLI runs).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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

/**
 * Stops the outside servers that test files of this run started (via requireServices), unless
 * another live jest run still holds a lease on them, or a person started them with `ops/services up`.
 * A run that never asked for a service does nothing here.
 */
export default async function globalTeardown(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const runId = process.env.SIPHON_TEST_RUN_ID;
  if (!runId) return;
  const servicesDir = resolve(process.env.SIPHON_SERVICES_DIR ?? join(tmpdir(), 'siphon-services'));
  if (!leasedByRun(servicesDir, runId)) return;
  const script = join(projectConfig.rootDir, 'ops', 'services');
  execFileSync('bash', [script, 'release', runId], { stdio: 'inherit', timeout: 120_000 });
}
