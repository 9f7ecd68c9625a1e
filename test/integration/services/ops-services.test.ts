import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { down, isAlive, readRecord, release, up, withFileLock } from '../../../ops/services-lib/index.js';

// The command and the lease rules, against a private services dir so the shared servers of
// this run are never touched. Redis is the fastest real server to start.
const root = resolve(process.cwd());
let dir: string;
let savedDir: string | undefined;

function cli(...args: string[]): { code: number; out: string } {
  const r = spawnSync('bash', [join(root, 'ops', 'services'), ...args], { env: { ...process.env, SIPHON_SERVICES_DIR: dir }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

// A stopped server may linger as a zombie until its new parent reaps it: not alive.
const alive = (pid: number): boolean => isAlive(pid);

function deadPid(): number {
  const r = spawnSync('true');
  return r.pid ?? 999_999;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'siphon-services-cli-'));
  savedDir = process.env.SIPHON_SERVICES_DIR;
  process.env.SIPHON_SERVICES_DIR = dir; // for the in-process lease checks below
});

afterAll(async () => {
  await down();
  if (savedDir === undefined) delete process.env.SIPHON_SERVICES_DIR;
  else process.env.SIPHON_SERVICES_DIR = savedDir;
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('up is idempotent, writes the endpoint files, status reports, down stops by PID', () => {
  const first = cli('up', 'redis');
  expect(first.code).toBe(0);
  const ep = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as { redis: { url: string } };
  expect(ep.redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
  expect(readFileSync(join(dir, 'endpoints.env'), 'utf8')).toContain(`export SIPHON_REDIS_URL=${ep.redis.url}`);
  const rec = readRecord('redis');
  if (!rec) throw new Error('no state recorded');
  const pid = rec.processes[0].pid;
  expect(alive(pid)).toBe(true);

  expect(cli('up', 'redis').code).toBe(0);
  expect(readRecord('redis')?.processes[0].pid).toBe(pid); // same server, not a second one

  const st = cli('status', 'redis');
  expect(st.code).toBe(0);
  expect(st.out).toMatch(/redis\s+running/);

  process.kill(pid, 'SIGKILL');
  const stale = cli('status', 'redis');
  expect(stale.code).toBe(3);
  expect(stale.out).toMatch(/redis\s+unhealthy/);
  expect(cli('up', 'redis').code).toBe(0); // replaces the dead one
  const pid2 = readRecord('redis')?.processes[0].pid ?? 0;
  expect(pid2).not.toBe(pid);
  expect(alive(pid2)).toBe(true);

  const d = cli('down');
  expect(d.code).toBe(0);
  expect(d.out).toContain('redis');
  expect(alive(pid2)).toBe(false);
  expect(existsSync(join(dir, 'redis'))).toBe(false);
  expect(JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8'))).toEqual({});
  expect(cli('status').code).toBe(3);
}, 120_000);

it('rejects an unknown service with usage', () => {
  const r = cli('up', 'mysql');
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/unknown service 'mysql'/);
});

it('a test run stops what it started once no live run holds a lease, and never what a person started', async () => {
  await up(['redis'], { startedBy: 'test', lease: { runId: 'run-a', pid: process.pid } });
  await up(['redis'], { startedBy: 'test', lease: { runId: 'run-b', pid: process.pid } });
  const pid = readRecord('redis')?.processes[0].pid ?? 0;
  expect(await release('run-a')).toEqual([]); // run-b is still alive and using it
  expect(alive(pid)).toBe(true);
  await up(['redis'], { startedBy: 'test', lease: { runId: 'run-c', pid: deadPid() } });
  expect(await release('run-b')).toEqual(['redis']); // run-c's process is gone: nobody left
  expect(alive(pid)).toBe(false);

  await up(['redis'], { startedBy: 'cli' });
  await up(['redis'], { startedBy: 'test', lease: { runId: 'run-d', pid: process.pid } });
  expect(await release('run-d')).toEqual([]);
  expect(readRecord('redis')?.startedBy).toBe('cli');
  expect(alive(readRecord('redis')?.processes[0].pid ?? 0)).toBe(true);
}, 120_000);

it('the file lock serialises holders and takes over a lock left by a dead process', async () => {
  const lock = join(dir, 'probe.lock');
  const order: string[] = [];
  const hold = (name: string) =>
    withFileLock(lock, async () => {
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 50));
      order.push(`${name}-`);
    });
  await Promise.all([hold('a'), hold('b')]);
  expect(order).toHaveLength(4);
  expect(order[0][0]).toBe(order[1][0]); // no interleaving: each holder enters and leaves before the next
  expect(order[2][0]).toBe(order[3][0]);

  writeFileSync(lock, String(deadPid()));
  await expect(withFileLock(lock, async () => 'taken', 5_000)).resolves.toBe('taken');
  expect(existsSync(lock)).toBe(false);
});
