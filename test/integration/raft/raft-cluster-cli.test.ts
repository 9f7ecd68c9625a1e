// ops/raft-cluster.js: start a local 3-member cluster (data under a temp dir, PIDs recorded),
// append through a member's HTTP port, read GET /admin/cluster, stop by PID.
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(root, 'dist/ops/raft-cluster.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('raft-cluster start → append → status → stop', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-cluster-cli-'));
  // Fixed member ports below the ephemeral range (32768+ here), which every other suite's port-0
  // sockets and outgoing connections draw from: a member that lost its port to one exits at start.
  const base = 12000 + Math.floor(Math.random() * 20000);
  let pids: number[] = [];
  try {
    const out = JSON.parse(execFileSync(process.execPath, [cli, 'start', '--dir', dir, '--base-port', String(base)], { encoding: 'utf8' }));
    pids = out.members.map((m: { pid: number }) => m.pid);
    expect(pids).toHaveLength(3);
    const recorded = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as Array<{ pid: number; http: string }>;
    expect(recorded.map((m) => m.pid)).toEqual(pids);

    // A leader within 30 s even on a CI box running other suites; if none, what each member says.
    let leaderHttp: string | undefined;
    const seen = new Map<string, string>();
    const end = Date.now() + 30_000;
    while (!leaderHttp && Date.now() < end) {
      for (const m of recorded) {
        try {
          const text = await (await fetch(`http://${m.http}/admin/cluster`)).text();
          seen.set(m.http, text.slice(0, 300));
          if ((JSON.parse(text) as { role: string }).role === 'leader') leaderHttp = m.http;
        } catch (e) {
          seen.set(m.http, String(e)); // still starting
        }
      }
      if (!leaderHttp) await new Promise((r) => setTimeout(r, 100));
    }
    expect({ leader: leaderHttp !== undefined, members: leaderHttp ? [] : [...seen] }).toEqual({ leader: true, members: [] });
    // Any member accepts an append (followers forward to the leader).
    for (const m of recorded) {
      const r = await fetch(`http://${m.http}/append`, { method: 'POST', body: `hello-${m.pid}` });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { index: number }).index).toBeGreaterThan(3);
    }
    const status = execFileSync(process.execPath, [cli, 'status', '--dir', dir], { encoding: 'utf8' });
    expect(status.match(/"role":"leader"/g)).toHaveLength(1);
  } finally {
    execFileSync(process.execPath, [cli, 'stop', '--dir', dir], { encoding: 'utf8' });
    await fsp.rm(dir, { recursive: true, force: true });
  }
  expect(pids.every((p) => !alive(p))).toBe(true);
}, 60_000);
