/**
 * /admin/health is the signal orchestrators and test harnesses wait on: it must not say ready
 * while the routing script is still loading (the node would answer every request 503). A
 * TypeScript script.path is transpiled at start-up, which makes the window wide enough to hit.
 */
import { join } from 'node:path';
import { eventually } from '../../helpers/eventually.js';
import { REPO_ROOT, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { sipRequest, statusOf, udpClient } from '../../helpers/sip-client.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer({ config: { script: { path: join(REPO_ROOT, 'scripts', 'default.ts') } }, startTimeoutMs: 30_000 });
}, 40_000);
afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
});

it('the first REGISTER after /admin/health says ready is handled by the script, not turned away with 503', async () => {
  const c = await udpClient();
  try {
    const reg = sipRequest('REGISTER', {
      uri: `sip:127.0.0.1:${server.sipPort}`,
      viaPort: c.port,
      rport: true,
      extra: `Contact: <sip:early@127.0.0.1:${c.port}>\r\nExpires: 600\r\n`,
    }).replace(/^To: <[^>]*>/m, 'To: <sip:early@127.0.0.1>');
    c.send(reg, server.sipPort);
    expect(statusOf(await c.next(3000))).toBe(200);
    const health = (await (await fetch(`http://127.0.0.1:${server.adminPort}/admin/health`)).json()) as { ready: boolean; checks: Record<string, boolean> };
    expect(health.ready).toBe(true);
    expect(health.checks.routing).toBe(true);
  } finally {
    await c.close();
  }
}, 20_000);

/**
 * Starts the real server on `config` (over fresh ports and a log file in a temp dir), sends it
 * SIGTERM after `afterMs`, and resolves with how it exited and its log's directory.
 */
async function sigtermAfter(afterMs: number, config: Record<string, unknown>): Promise<{ exit: { code: number | null; signal: NodeJS.Signals | null }; dir: string }> {
  const { spawnTracked } = await import('../../helpers/tracked-spawn.js');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { stringify } = await import('yaml');
  const { MAIN_JS, freePort } = await import('../../helpers/server-process.js');
  const dir = mkdtempSync(join(tmpdir(), 'siphon-early-term-'));
  const port = await freePort();
  const file = join(dir, 'siphon.yaml');
  writeFileSync(file, stringify({
    listen: { udp: [`127.0.0.1:${port}`], tcp: [`127.0.0.1:${port}`] },
    admin: { listen: `127.0.0.1:${await freePort()}` },
    log: { level: 'info', file: join(dir, 'siphon.log') },
    ...config,
  }));
  const child = spawnTracked(process.execPath, [MAIN_JS, '--config', file], { stdio: 'ignore' });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  // Not before the node has its signal handlers (its 'starting' line): a loaded box can take longer
  // than any fixed delay to get there, and a SIGTERM before it kills the process outright.
  const { readFileSync, existsSync } = await import('node:fs');
  const log = join(dir, 'siphon.log');
  await eventually('the starting line', async () => (existsSync(log) ? readFileSync(log, 'utf8') : ''), (t) => t.includes('"msg":"starting"'), 15_000);
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGTERM');
  return { exit: await exit, dir };
}

it('a SIGTERM during start-up (while the script is still loading) stops the node cleanly with exit 0', async () => {
  // Early enough that the TypeScript script is still being transpiled (it takes a second or more).
  const { exit } = await sigtermAfter(0, {
    script: { path: join(REPO_ROOT, 'scripts', 'default.ts') },
    warmup: { enabled: false }, // this test is about the script's load; the warm-up has its own below
  });
  expect(exit).toEqual({ code: 0, signal: null });
  // The transpiled copy of the script written beside it during loading is gone too.
  const { readdirSync } = await import('node:fs');
  expect(readdirSync(join(REPO_ROOT, 'scripts')).filter((f) => f.includes('.siphon-'))).toEqual([]);
}, 20_000);

it('a node given cluster.data_dir says at start-up that its registrations are not persisted yet', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const other = await startServer({ config: { cluster: { data_dir: mkdtempSync(join(tmpdir(), 'siphon-dd-')) } } });
  try {
    const { readFileSync } = await import('node:fs');
    const warning = readFileSync(join(other.dir, 'siphon.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; data_dir?: string })
      .find((l) => l.msg.startsWith('cluster.data_dir and cluster.peers are not used'));
    expect(warning).toBeDefined();
    expect(warning!.level).toBe(40);
    expect(warning!.msg).toContain('a restart loses them');
  } finally {
    expect(await other.stop()).toBe(0);
  }
}, 30_000);

describe('start-up warm-up (warmup.enabled, on by default)', () => {
  interface LogLine { level: number; msg: string; calls?: number; registrations?: number; abandoned?: number; ms?: number }
  const logLines = (dir: string, readFileSync: (p: string, e: 'utf8') => string): LogLine[] =>
    readFileSync(join(dir, 'siphon.log'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);

  it('runs calls and REGISTERs through a throwaway node before the listeners bind, and leaves nothing of them in the real one', async () => {
    const { readFileSync } = await import('node:fs');
    const warm = await startServer({ config: { warmup: { enabled: true, duration_ms: 500 } } });
    try {
      const lines = logLines(warm.dir, readFileSync);
      const done = lines.findIndex((l) => l.msg === 'warm-up done');
      const ready = lines.findIndex((l) => l.msg === 'ready');
      expect(done).toBeGreaterThanOrEqual(0);
      expect(done).toBeLessThan(ready);
      expect(lines[done].calls).toBeGreaterThan(0);
      expect(lines[done].registrations).toBeGreaterThan(0);
      expect(lines[done].abandoned).toBe(0);
      expect(lines[done].ms).toBeGreaterThanOrEqual(500);
      const regs = (await (await fetch(`http://127.0.0.1:${warm.adminPort}/admin/registrations`)).json()) as { count: number };
      expect(regs.count).toBe(0);
      const metrics = await (await fetch(`http://127.0.0.1:${warm.adminPort}/metrics`)).text();
      expect(metrics).toMatch(/^siphon_registrations_active 0$/m);
      expect(metrics).toMatch(/^siphon_transactions_active 0$/m);
      expect(metrics).not.toMatch(/^siphon_requests_total\{/m);
    } finally {
      expect(await warm.stop()).toBe(0);
    }
  }, 30_000);

  it('a SIGTERM during the warm-up stops the node cleanly with exit 0', async () => {
    const { readFileSync } = await import('node:fs');
    const { exit, dir } = await sigtermAfter(300, { warmup: { duration_ms: 30_000 } });
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = logLines(dir, readFileSync);
    expect(lines.some((l) => l.msg === 'stopping')).toBe(true);
    expect(lines.some((l) => l.msg === 'starting')).toBe(true);
    expect(lines.some((l) => l.msg === 'ready' || l.msg === 'warm-up done')).toBe(false);
  }, 20_000);
});
