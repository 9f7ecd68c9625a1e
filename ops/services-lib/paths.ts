import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every service's data, logs, PIDs and the endpoints file live under this one directory. */
export function servicesDir(): string {
  return resolve(process.env.SIPHON_SERVICES_DIR ?? join(tmpdir(), 'siphon-services'));
}

/** Downloaded artefacts (Kafka jars) survive `down` and temp-dir wipes. */
export function cacheDir(): string {
  return resolve(process.env.SIPHON_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'siphon-ts'));
}

/** Repository root, found from this file whether it runs from sources or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'ops', 'kafka', 'pom.xml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('services: cannot find the repository root (package.json + ops/kafka/pom.xml)');
}

export const endpointsJsonPath = (): string => join(servicesDir(), 'endpoints.json');
export const endpointsEnvPath = (): string => join(servicesDir(), 'endpoints.env');
export const statePath = (): string => join(servicesDir(), 'state.json');
export const lockPath = (): string => join(servicesDir(), 'lock');
