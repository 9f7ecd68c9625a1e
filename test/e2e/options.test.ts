/**
 * End-to-end: the REAL server process (dist/node/main.js, built by `npx tsc -p .`) on random
 * ports, driven by SIPp OPTIONS over UDP and TCP, plus raw-socket checks for 501/400 and HTTP
 * checks for /metrics and /admin/health.
 */
import { spawnTracked } from '../helpers/tracked-spawn.js';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, runServerToExit, startServer, type ServerProcess } from '../helpers/server-process.js';
import { headerOf, sipRequest, statusOf, tcpClient, udpClient } from '../helpers/sip-client.js';

const SCENARIO = join(dirname(fileURLToPath(import.meta.url)), 'sipp', 'options-uac.xml');

interface SippResult {
  readonly code: number | null;
  readonly output: string;
}

async function sipp(server: ServerProcess, transport: 'u1' | 't1', calls: number): Promise<SippResult> {
  const localPort = await freePort();
  const args = [
    `127.0.0.1:${server.sipPort}`,
    '-sf', SCENARIO,
    '-t', transport,
    '-i', '127.0.0.1',
    '-p', String(localPort),
    '-m', String(calls),
    '-r', '50',
    '-l', '10',
    '-nostdin',
    '-timeout', '20s',
    '-timeout_error',
    '-trace_err',
    '-error_file', join(server.dir, `sipp-${transport}-errors.log`),
  ];
  return new Promise((resolve) => {
    const child = spawnTracked('sipp', args, { cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

let server: ServerProcess;
/** Sockets opened by a test, closed even when an assertion fails (an open socket would hang jest). */
const openClients: { close(): unknown }[] = [];
afterEach(async () => {
  for (const c of openClients.splice(0)) await c.close();
});
const own = (user = ''): string => `sip:${user === '' ? '' : `${user}@`}127.0.0.1:${server.sipPort}`;

beforeAll(async () => {
  server = await startServer({ config: { server: { server_header: 'SIPhon-E2E' } } });
}, 30_000);

afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0); // clean SIGTERM shutdown
});

test('SIPp OPTIONS over UDP: every call gets 200 with a Server header', async () => {
  const r = await sipp(server, 'u1', 20);
  expect({ code: r.code, tail: r.code === 0 ? '' : r.output.slice(-2000) }).toEqual({ code: 0, tail: '' });
});

test('SIPp OPTIONS over TCP: every call gets 200 with a Server header', async () => {
  const r = await sipp(server, 't1', 20);
  expect({ code: r.code, tail: r.code === 0 ? '' : r.output.slice(-2000) }).toEqual({ code: 0, tail: '' });
});

test('a method the node does not implement gets 501 with the configured Server header (UDP and TCP)', async () => {
  // RFC 3261 §21.5.2: 501 is the answer when the server does not recognise the request method.
  const u = await udpClient();
  openClients.push(u);
  u.send(sipRequest('FOO', { viaPort: u.port, uri: own() }), server.sipPort);
  const res = await u.next();
  expect(statusOf(res)).toBe(501);
  expect(headerOf(res, 'Server')).toBe('SIPhon-E2E');
  const t = await tcpClient(server.sipPort);
  openClients.push(t);
  t.send(sipRequest('FOO', { transport: 'TCP', uri: own() }));
  const tres = await t.next();
  expect(statusOf(tres)).toBe(501);
  expect(headerOf(tres, 'Server')).toBe('SIPhon-E2E');
});

test('garbage gets a 400 when the request line is readable and is dropped otherwise; the server keeps serving', async () => {
  const u = await udpClient();
  openClients.push(u);
  u.send(sipRequest('OPTIONS', { viaPort: u.port, uri: own() }).replace(/Call-ID: .*\r\n/, ''), server.sipPort);
  const res = await u.next();
  expect(statusOf(res)).toBe(400);
  u.send(Buffer.from('\x00\xff\xfe garbage \r\n\r\n'), server.sipPort);
  expect(await u.silentFor(300)).toBe(true);
  u.send(sipRequest('OPTIONS', { viaPort: u.port, uri: own() }), server.sipPort);
  expect(statusOf(await u.next())).toBe(200);
});

test('/admin/health and /metrics on the admin listener', async () => {
  const health = await fetch(`http://127.0.0.1:${server.adminPort}/admin/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ live: true, ready: true });
  const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  const options = /siphon_requests_total\{method="OPTIONS"\} (\d+)/.exec(metrics);
  expect(Number(options?.[1])).toBeGreaterThanOrEqual(40);
  expect(metrics).toMatch(/siphon_responses_total\{code="501"\} [1-9]/);
  expect(metrics).toMatch(/siphon_responses_total\{code="400"\} [1-9]/);
  expect(metrics).toMatch(/siphon_connections_active\{transport="tcp"\} \d/);
  expect(metrics).toMatch(/siphon_uptime_seconds [\d.]+/);
  expect(metrics).toContain('siphon_request_duration_seconds_bucket');
});

test('a bad config key stops start-up with the file, the key path and the reason (exit 2)', async () => {
  const file = join(server.dir, 'bad.yaml');
  writeFileSync(file, 'transport:\n  max_message_size: lots\n');
  const r = await runServerToExit(['--config', file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toContain('transport.max_message_size');
  expect(r.stderr).toContain('expected an integer');
  const unknown = await runServerToExit(['--config', file, '--set', 'transport.max_message_size=4096', '--set', 'log.colour=red']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/--set: log\.colour: unknown key/);
});

test('--set overrides a key of the config file', async () => {
  const other = await startServer({ args: ['--set', 'server.server_header=Overridden/2'] });
  try {
    const u = await udpClient();
    openClients.push(u);
    u.send(sipRequest('OPTIONS', { viaPort: u.port, uri: `sip:127.0.0.1:${other.sipPort}` }), other.sipPort);
    expect(headerOf(await u.next(), 'Server')).toBe('Overridden/2');
  } finally {
    expect(await other.stop()).toBe(0);
  }
});
