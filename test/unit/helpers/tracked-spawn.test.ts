// The safety net that keeps a dead jest worker's children from outliving the run.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childRecordDir, procStartTime, spawnTracked } from '../../helpers/tracked-spawn.js';
import { reapChildren } from '../../setup/global-teardown.js';

const alive = (pid: number): boolean => procStartTime(pid) !== undefined;
const exited = (c: { once(e: 'exit', f: () => void): unknown }): Promise<void> => new Promise((r) => c.once('exit', () => r()));

let saved: string | undefined;
beforeEach(() => {
  saved = process.env.SIPHON_TEST_CHILDREN_DIR;
  process.env.SIPHON_TEST_CHILDREN_DIR = mkdtempSync(join(tmpdir(), 'siphon-children-test-'));
});
afterEach(() => {
  if (saved === undefined) delete process.env.SIPHON_TEST_CHILDREN_DIR;
  else process.env.SIPHON_TEST_CHILDREN_DIR = saved;
});

test('a spawned child is recorded with its start time while it runs, and forgotten once it exits', async () => {
  const child = spawnTracked('sleep', ['30'], { stdio: 'ignore' });
  const file = join(childRecordDir(), String(child.pid));
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; start: string; command: string };
  expect(rec).toEqual({ pid: child.pid, start: procStartTime(child.pid!), command: 'sleep 30' });
  const gone = exited(child);
  child.kill('SIGKILL');
  await gone;
  expect(existsSync(file)).toBe(false);
});

test('the teardown kills a recorded child that is still running, even a frozen one, and clears the record', async () => {
  const runId = 'reap-test';
  const saveRun = process.env.SIPHON_TEST_RUN_ID;
  process.env.SIPHON_TEST_RUN_ID = runId;
  try {
    const child = spawnTracked('sleep', ['30'], { stdio: 'ignore' });
    const gone = exited(child);
    process.kill(child.pid!, 'SIGSTOP');
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => written.push(String(s)) > 0) as typeof process.stderr.write;
    try {
      reapChildren(runId);
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toContain(`killed leaked test process ${child.pid}: sleep 30`);
    await gone;
    expect(alive(child.pid!)).toBe(false);
    expect(existsSync(childRecordDir(runId))).toBe(false);
  } finally {
    if (saveRun === undefined) delete process.env.SIPHON_TEST_RUN_ID;
    else process.env.SIPHON_TEST_RUN_ID = saveRun;
  }
});

test('a record whose PID now names another process (its start time differs) is left alone', async () => {
  const runId = 'reuse-test';
  const other = spawnTracked('sleep', ['30'], { stdio: 'ignore' });
  const dir = childRecordDir(runId);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, String(other.pid)), JSON.stringify({ pid: other.pid, start: '1', command: 'an older process' }));
  reapChildren(runId);
  expect(alive(other.pid!)).toBe(true);
  expect(readdirSync(join(dir, '..')).includes(runId)).toBe(false);
  const gone = exited(other);
  other.kill('SIGKILL');
  await gone;
});
