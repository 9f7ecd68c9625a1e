// Every process a test starts is recorded under a directory named for the jest run, and removed
// again when it exits. If a worker dies without its cleanup (a crash, jest killing a worker that
// did not exit, a hook that threw), test/setup/global-teardown.ts kills what is still recorded, so
// no server, log member or SIPp outlives the run to hold ports and CPU for the next one.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The run's record directory; the teardown computes the same path (it may not import this file). */
export function childRecordDir(runId = process.env.SIPHON_TEST_RUN_ID ?? `adhoc-${process.pid}`): string {
  return join(process.env.SIPHON_TEST_CHILDREN_DIR ?? join(tmpdir(), 'siphon-test-children'), runId);
}

/** Field 22 of /proc/PID/stat: the start time, so a reused PID is never mistaken for our child. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** child_process.spawn with the same overloads, recording the child for the run's teardown. */
export const spawnTracked = ((command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess =>
  track(spawn(command, args, options), [command, ...args].join(' '))) as typeof spawn;

function track(child: ChildProcess, commandLine: string): ChildProcess {
  const pid = child.pid;
  if (pid === undefined) return child; // failed to start: 'error' follows, nothing to record
  const dir = childRecordDir();
  const file = join(dir, String(pid));
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify({ pid, start: procStartTime(pid), command: commandLine.slice(0, 300) }));
  } catch {
    return child; // recording is a safety net; a test must not fail for want of it
  }
  child.once('exit', () => rmSync(file, { force: true }));
  return child;
}
