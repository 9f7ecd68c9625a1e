/**
 * SIPp's stock `-sn uac` / `-sn uas` pair through the node, as an operator's acceptance run would
 * do it: register the uas user with a one-REGISTER scenario, then call it. Over UDP and TCP.
 */
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, serverPerSuite } from '../../helpers/server-process.js';
import { portsBound } from '../../helpers/port-bound.js';
import { metricsText } from './harness.js';

const REGISTER_XML = join(dirname(fileURLToPath(import.meta.url)), 'sipp', 'register-service.xml');

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** One bounded sipp run; the exit code is 0 only when every call succeeded. */
function sipp(cwd: string, args: readonly string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawnTracked('sipp', [...args, '-nostdin', '-timeout', '20s', '-timeout_error', '-m', '1'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: code === 0 ? '' : output.slice(-2000) });
    });
  });
}

const PASSED = { code: 0, output: '' };

describe('SIPp -sn uac → node → -sn uas', () => {
  const server = serverPerSuite();

  for (const transport of ['u1', 't1'] as const) {
    it(`the stock call scenario completes over ${transport === 'u1' ? 'UDP' : 'TCP'}`, async () => {
      const user = `svc${transport}`;
      const uasPort = await freePort();
      const target = `127.0.0.1:${server.sipPort}`;
      const common = ['-i', '127.0.0.1', '-t', transport];
      expect(await sipp(server.dir, [target, '-sf', REGISTER_XML, '-s', user, '-p', String(uasPort), ...common])).toEqual(PASSED);
      const uas = sipp(server.dir, ['-sn', 'uas', '-p', String(uasPort), ...common]);
      await portsBound(transport === 'u1' ? 'udp' : 'tcp', [uasPort]);
      const uac = await sipp(server.dir, [target, '-sn', 'uac', '-s', user, '-p', String(await freePort()), ...common]);
      expect(uac).toEqual(PASSED);
      expect(await uas).toEqual(PASSED);
      expect(await metricsText(server)).toMatch(/siphon_dialogs_active 0/);
    }, 60_000);
  }
});
