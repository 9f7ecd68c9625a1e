/**
 * registrar.max_bindings on the running node: a flood of new AoRs meets a 503 with Retry-After once
 * the budget is spent, the log says so once, and registered users keep refreshing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, sipRequest, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';

let server: ServerProcess;
let ua: UdpClient;
beforeAll(async () => {
  server = await startServer({ config: { registrar: { max_bindings: 3 } } });
  ua = await udpClient();
}, 30_000);
afterAll(async () => {
  await ua?.close();
  if (server) expect(await server.stop()).toBe(0);
});

function register(user: string, cseq: number, expires = 600): string {
  return sipRequest('REGISTER', {
    uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: ua.port, rport: true,
    extra: `Contact: <sip:${user}@127.0.0.1:${ua.port}>\r\nExpires: ${expires}\r\n`,
  })
    .replace(/^To: <[^>]*>/m, `To: <sip:${user}@127.0.0.1>`)
    .replace(/^From: <[^>]*>/m, `From: <sip:${user}@127.0.0.1>`)
    .replace(/^Call-ID: .*$/m, `Call-ID: cap-${user}`)
    .replace(/^CSeq: \d+/m, `CSeq: ${cseq}`);
}

async function answer(req: string): Promise<string> {
  ua.send(req, server.sipPort);
  return ua.next(3000);
}

it('past max_bindings new AoRs get 503 + Retry-After, counted in /metrics; refreshes and removals still work', async () => {
  for (const u of ['u1', 'u2', 'u3']) expect(statusOf(await answer(register(u, 1)))).toBe(200);
  for (const u of ['x1', 'x2']) {
    const full = await answer(register(u, 1));
    expect(full.split('\r\n')[0]).toBe('SIP/2.0 503 Registrar Full');
    expect(headerOf(full, 'Retry-After')).toBe('60');
  }
  expect(statusOf(await answer(register('u1', 2)))).toBe(200); // refresh
  expect(statusOf(await answer(register('u2', 2, 0)))).toBe(200); // removal frees room
  expect(statusOf(await answer(register('x1', 2)))).toBe(200);
  const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  expect(metrics).toContain('siphon_registrar_full_total 2\n');
  expect(metrics).toContain('siphon_registrations_active 3\n');
  // One warning for the whole episode, naming the key.
  const log = readFileSync(join(server.dir, 'siphon.log'), 'utf8');
  expect(log.match(/registrar full/g)?.length).toBe(1);
  expect(log).toContain('"max_bindings":3');
}, 20_000);
