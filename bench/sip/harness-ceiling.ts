/**
 * The load harness's own ceiling, measured in the same run as the peers: REGISTER steps against
 * bench/ceiling/null-registrar.c (a stateless C responder, batched recvmmsg/sendmmsg). A rate that is
 * not clean against it cannot be shown by any SIP server on this machine with this harness; a rate
 * that is clean against it means the box and SIPp can carry that load, and a peer falling short of
 * it is short on its own CPU. Skipped (with the reason recorded) when no C compiler is installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface NullResponder {
  readonly pid: number;
  readonly target: string;
  stop(): void;
}

/** Compiles the responder into `workDir`; returns the binary path or why it could not. */
export function buildNullResponder(root: string, workDir: string): { bin: string } | { skipped: string } {
  const bin = join(workDir, 'null-registrar');
  const cc = spawnSync('cc', ['-O2', '-o', bin, join(root, 'bench', 'ceiling', 'null-registrar.c')], { encoding: 'utf8' });
  if (cc.error !== undefined) return { skipped: `no C compiler: ${cc.error.message}` };
  if (cc.status !== 0) return { skipped: `cc failed: ${cc.stderr.trim()}` };
  return { bin };
}

export async function startNullResponder(bin: string, port: number): Promise<NullResponder> {
  const child = spawn(bin, ['127.0.0.1', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise((r) => setTimeout(r, 300));
  if (child.exitCode !== null || child.pid === undefined) throw new Error(`null-registrar did not start: ${stderr}`);
  const pid = child.pid;
  return { pid, target: `127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}
