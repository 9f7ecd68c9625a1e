/**
 * sipsak (Debian `sipsak` 0.9.8), the operator's check tool, against the REAL server with digest
 * auth: an OPTIONS ping, a REGISTER through its 401 challenge and its wildcard removal, a MESSAGE
 * to a registered user through the proxy's 407 challenge, and the traceroute mode (Max-Forwards
 * 0 → 483, then the user).
 *
 * sipsak's own MESSAGE mode (-M) dies with SIGSEGV in this build before it sends anything (a NULL
 * buffer in its sprintf of the reply it prepares), so the MESSAGE is sent in its file mode (-f),
 * which is the same request, auth handling included.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorLogLines, keepaliveStatus, registrations, run, scriptedUa, startClientServer, type ClientServer, type ScriptedUa } from './harness.js';

let cs: ClientServer;
let phone: ScriptedUa | undefined;

beforeAll(async () => {
  cs = await startClientServer();
}, 30_000);

afterAll(async () => {
  await phone?.close();
  if (cs) {
    expect(await cs.server.stop()).toBe(0);
    expect(errorLogLines(cs.server)).toEqual([]);
  }
});

test('sipsak OPTIONS ping: 200 from the node, unchallenged', async () => {
  const r = await run('sipsak', ['-vv', '-s', `sip:127.0.0.1:${cs.sipPort}`], { timeoutMs: 5000 });
  expect(r.code).toBe(0);
  expect(r.output).toMatch(/^SIP\/2\.0 200 OK/m);
  expect(r.output).toMatch(/^Allow: .*\bMESSAGE\b/m);
  expect(r.output).not.toMatch(/Authenticate/);
}, 10_000);

test('sipsak REGISTER with digest: 401, then 200 with the binding; a wrong password is refused', async () => {
  const sipsak = (password: string) =>
    run('sipsak', ['-vvv', '-U', '-s', `sip:alice@127.0.0.1:${cs.sipPort}`, '-u', 'alice', '-a', password, '-x', '600'], { timeoutMs: 10_000 });
  const ok = await sipsak('alice-pw');
  expect(ok.code).toBe(0);
  expect(ok.output).toMatch(/^SIP\/2\.0 401 Unauthorized/m);
  expect(ok.output).toMatch(/^SIP\/2\.0 200 OK/m);
  expect(ok.output).toMatch(/^Contact: <sip:alice@127\.0\.0\.1:\d+>;expires=600/m);
  const view = await registrations(cs.server, 'alice@127.0.0.1');
  expect(view?.contacts.some((c) => c.user_agent?.startsWith('sipsak') === true)).toBe(true);

  const wrong = await sipsak('not-the-password');
  expect(wrong.code).not.toBe(0);
  expect(wrong.output).not.toMatch(/^SIP\/2\.0 200 OK/m);
}, 25_000);

test('sipsak REGISTER with Contact: * and Expires: 0 removes every binding of the AoR (§10.2.2)', async () => {
  expect(await registrations(cs.server, 'alice@127.0.0.1')).not.toBeNull();
  const r = await run('sipsak', ['-vvv', '-U', '-C', '*', '-x', '0', '-s', `sip:alice@127.0.0.1:${cs.sipPort}`, '-u', 'alice', '-a', 'alice-pw'], { timeoutMs: 10_000 });
  expect(r.code).toBe(0);
  expect(r.output).toMatch(/^SIP\/2\.0 200 OK/m);
  expect(await registrations(cs.server, 'alice@127.0.0.1')).toBeNull();
}, 15_000);

test('sipsak MESSAGE to a registered user goes through the 407 challenge and the proxy to her phone', async () => {
  phone = await scriptedUa();
  // bob's phone registers (sipsak usrloc mode with an explicit Contact: the phone's socket).
  const reg = await run('sipsak', ['-U', '-C', `sip:bob@127.0.0.1:${phone.port}`, '-s', `sip:bob@127.0.0.1:${cs.sipPort}`, '-u', 'bob', '-a', 'bob-pw', '-x', '600'], { timeoutMs: 10_000 });
  expect(reg.code).toBe(0);

  const dir = mkdtempSync(join(tmpdir(), 'siphon-sipsak-'));
  const file = join(dir, 'message.sip');
  const body = 'hello from sipsak';
  writeFileSync(
    file,
    [
      `MESSAGE sip:bob@127.0.0.1:${cs.sipPort} SIP/2.0`,
      `From: <sip:alice@127.0.0.1:${cs.sipPort}>;tag=sipsak-m1`,
      `To: <sip:bob@127.0.0.1:${cs.sipPort}>`,
      `Call-ID: sipsak-message-${Date.now()}@127.0.0.1`,
      'CSeq: 1 MESSAGE',
      'Max-Forwards: 70',
      'Content-Type: text/plain',
      `Content-Length: ${body.length}`,
      '',
      body,
    ].join('\n'),
  );
  const sent = await run('sipsak', ['-vvv', '-f', file, '-s', `sip:bob@127.0.0.1:${cs.sipPort}`, '-u', 'alice', '-a', 'alice-pw'], { timeoutMs: 10_000 });
  expect(sent.code).toBe(0);
  expect(sent.output).toMatch(/^SIP\/2\.0 407 Proxy Authentication Required/m);
  expect(sent.output).toMatch(/^SIP\/2\.0 200 OK/m);
  const delivered = phone.received.filter((m) => m.startsWith('MESSAGE '));
  expect(delivered).toHaveLength(1);
  expect(delivered[0].startsWith(`MESSAGE sip:bob@127.0.0.1:${phone.port} SIP/2.0`)).toBe(true);
  expect(delivered[0].endsWith(`\r\n\r\n${body}`)).toBe(true);
}, 25_000);

test('sipsak traceroute: 483 at Max-Forwards 0 from the node, then the registered user answers', async () => {
  const r = await run('sipsak', ['-vv', '-T', '-s', `sip:bob@127.0.0.1:${cs.sipPort}`, '-u', 'alice', '-a', 'alice-pw'], { timeoutMs: 10_000 });
  expect(r.code).toBe(0);
  expect(r.output).toMatch(/SIP\/2\.0 483 Too Many Hops/);
  expect(r.output).toMatch(/SIP\/2\.0 200 OK/);
  expect(await keepaliveStatus(cs.sipPort)).toBe(200);
}, 15_000);
