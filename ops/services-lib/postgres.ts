import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { isAlive, run, spawnDetached, stopPid, waitUntil } from './processes.js';

export interface PostgresServer {
  readonly dir: string;
  readonly port: number;
  readonly pid: number;
  readonly user: string;
  readonly version: string;
}

/** initdb and postgres refuse to run as root; as root the throwaway cluster runs as this system user. */
export const PG_OS_USER = process.env.SIPHON_PG_OS_USER ?? 'siphon';

/** The PostgreSQL bin directory: SIPHON_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else next to `initdb` on PATH. */
export function pgBinDir(): string {
  if (process.env.SIPHON_PG_BIN) return process.env.SIPHON_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  for (const p of (process.env.PATH ?? '').split(':')) {
    const c = join(p, 'initdb');
    if (existsSync(c)) return join(realpathSync(c), '..');
  }
  throw new Error('postgres: initdb not found (install Debian postgresql, or set SIPHON_PG_BIN)');
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Creates the unprivileged OS user once (idempotent: checks with `id` first). */
async function ensureOsUser(): Promise<{ uid: number; gid: number }> {
  try {
    return await ids(PG_OS_USER);
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', PG_OS_USER]).catch(async (err: unknown) => {
      // A parallel run may have created it between our check and our useradd.
      await ids(PG_OS_USER).catch(() => {
        throw err;
      });
    });
    return ids(PG_OS_USER);
  }
}

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number.parseInt(await run('id', ['-u', user]), 10);
  const gid = Number.parseInt(await run('id', ['-g', user]), 10);
  return { uid, gid };
}

/** As root, `setpriv` execs the command as PG_OS_USER without forking, so the spawned PID is the server itself. */
function asOwner(cmd: string, args: readonly string[], owner: { uid: number; gid: number } | undefined): [string, string[]] {
  if (!owner) return [cmd, [...args]];
  return ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', '--', cmd, ...args]];
}

export async function startPostgres(dir: string, port?: number, timeoutMs = 60_000): Promise<PostgresServer> {
  const bin = pgBinDir();
  const owner = isRoot() ? await ensureOsUser() : undefined;
  const user = owner ? PG_OS_USER : (process.env.USER ?? 'postgres');
  const data = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  if (!existsSync(join(data, 'PG_VERSION'))) {
    const [c, a] = asOwner(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], owner);
    await run(c, a, { env, cwd: dir });
  }
  const p = port ?? (await freePort());
  // A throwaway cluster: durability settings off for speed; the Unix socket stays inside `dir`.
  const [c, a] = asOwner(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(p), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=32MB', '-c', 'max_connections=60', '-c', 'logging_collector=off'],
    owner,
  );
  const pid = spawnDetached({ cmd: c, args: a, logFile: join(dir, 'postgres.log'), cwd: dir, env });
  const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:${p}/postgres`;
  try {
    await waitUntil('postgres', () => postgresProbe(url), timeoutMs, () => isAlive(pid));
  } catch (err) {
    await stopPid(pid, { signal: 'SIGINT' });
    throw err;
  }
  const version = readFileSync(join(data, 'PG_VERSION'), 'utf8').trim();
  return { dir, port: p, pid, user, version };
}

export async function postgresProbe(url: string): Promise<boolean> {
  const pg = await import('pg');
  const Client = pg.default.Client;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query<{ ok: number }>('SELECT 1 AS ok');
    return r.rows[0]?.ok === 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit. */
export async function stopPostgres(pid: number): Promise<void> {
  await stopPid(pid, { signal: 'SIGINT', graceMs: 15_000 });
}
