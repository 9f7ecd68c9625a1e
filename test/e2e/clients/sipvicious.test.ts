/**
 * sipvicious (Debian `sipvicious` 0.3.3), what a security suite runs, against the REAL server with
 * digest auth on:
 * - svmap (OPTIONS and INVITE scans) finds the node and reads its Server header; its unACKed
 *   INVITE probe draws one 407, not a retransmission series;
 * - svwar (extension enumeration by REGISTER, INVITE and OPTIONS) finds no user: every request
 *   naming a user is challenged the same way, registered or not, known or not (as Kamailio's
 *   stock config challenges requests from its own domain). The OPTIONS scan names our host:port,
 *   so each probe is addressed to a user of this node; bob is registered to a phone answering
 *   "200 Ok" the way Linphone's stack words it, which svwar would tell from the node's own "200 OK";
 * - svcrack (digest brute force on REGISTER) does not find a password missing from its list and
 *   finds the one that is in it;
 * and afterwards the node still answers its keepalive and a known-good REGISTER (sipsak) succeeds.
 * sipvicious reads its local port from -P (it binds the next free one if taken).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/server-process.js';
import { errorLogLines, keepaliveStatus, registrations, run, scriptedUa, startClientServer, type ClientServer, type RunResult, type ScriptedUa } from './harness.js';

let cs: ClientServer;
let bobPhone: ScriptedUa | undefined;
const dir = mkdtempSync(join(tmpdir(), 'siphon-sipvicious-'));
// sipvicious keeps its session state under $HOME/.sipvicious.
const env = { ...process.env, HOME: dir };

async function sipvicious(tool: 'svmap' | 'svwar' | 'svcrack', args: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  const local = await freePort();
  return run(tool, ['-P', String(local), ...args], { env, cwd: dir, timeoutMs });
}

interface Scans {
  readonly mapOptions: RunResult;
  readonly mapInvite: RunResult;
  readonly warRegister: RunResult;
  readonly warInvite: RunResult;
  readonly warOptions: RunResult;
  readonly crackMissing: RunResult;
  readonly crackPresent: RunResult;
}
let scans: Scans;

beforeAll(async () => {
  cs = await startClientServer();
  bobPhone = await scriptedUa(200, 'Ok');
  const reg = await run('sipsak', ['-U', '-C', `sip:bob@127.0.0.1:${bobPhone.port}`, '-s', `sip:bob@127.0.0.1:${cs.sipPort}`, '-u', 'bob', '-a', 'bob-pw', '-x', '600'], { timeoutMs: 10_000 });
  if (reg.code !== 0) throw new Error(`bob's phone did not register:\n${reg.output}`);

  const users = join(dir, 'users.txt');
  writeFileSync(users, ['alice', 'bob', 'svc', 'carol', 'dave', '100', '1000'].join('\n') + '\n');
  const missing = join(dir, 'passwords-missing.txt');
  writeFileSync(missing, ['123456', 'password', 'secret', 'svc', 'qwerty'].join('\n') + '\n');
  const present = join(dir, 'passwords-present.txt');
  writeFileSync(present, ['123456', 'password', 'letmein', 'qwerty'].join('\n') + '\n');
  const target = [`-p${cs.sipPort}`];
  // Side by side: each tool mostly waits (svmap 3 s, svcrack 10 s of socket timeout at the end).
  const [mapOptions, mapInvite, warRegister, warInvite, warOptions, crackMissing, crackPresent] = await Promise.all([
    sipvicious('svmap', [...target, '-m', 'OPTIONS', '127.0.0.1']),
    sipvicious('svmap', [...target, '-d', '-m', 'INVITE', '127.0.0.1']),
    sipvicious('svwar', [...target, '-m', 'REGISTER', '-d', users, '127.0.0.1']),
    sipvicious('svwar', [...target, '-m', 'INVITE', '-d', users, '127.0.0.1']),
    sipvicious('svwar', [...target, '-m', 'OPTIONS', '-d', users, '--domain', `127.0.0.1:${cs.sipPort}`, '127.0.0.1']),
    sipvicious('svcrack', [...target, '-u', 'svc', '-d', missing, '127.0.0.1'], 25_000),
    sipvicious('svcrack', [...target, '-u', 'svc', '-d', present, '127.0.0.1']),
  ]);
  scans = { mapOptions, mapInvite, warRegister, warInvite, warOptions, crackMissing, crackPresent };
}, 45_000);

afterAll(async () => {
  await bobPhone?.close();
  if (cs) {
    expect(await cs.server.stop()).toBe(0);
    expect(errorLogLines(cs.server)).toEqual([]);
  }
});

test('svmap finds the node with OPTIONS and INVITE scans and reads its Server header', () => {
  for (const [method, r] of [['OPTIONS', scans.mapOptions], ['INVITE', scans.mapInvite]] as const) {
    expect({ method, code: r.code }).toEqual({ method, code: 0 });
    expect({ method, out: r.output }).toEqual({ method, out: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1:${cs.sipPort}\\s*\\|\\s*SIPhon-TS/`)) });
  }
});

test('svmap never ACKs its INVITE probe, and the 407 is sent once: no retransmission to amplify (RFC 3261 §26.3.2.4)', () => {
  // svmap -d prints every datagram it receives during its 3 s wait; Timer G would have resent at 0.5, 1.5 s.
  expect(scans.mapInvite.output.match(/SIP\/2\.0 407 Proxy Authentication Required/g)).toHaveLength(1);
});

test('svwar enumerates no user by REGISTER, INVITE or OPTIONS, and no OPTIONS reached the registered phone', () => {
  for (const [method, r] of [['REGISTER', scans.warRegister], ['INVITE', scans.warInvite], ['OPTIONS', scans.warOptions]] as const) {
    expect({ method, code: r.code }).toEqual({ method, code: 0 });
    expect({ method, out: r.output }).toEqual({ method, out: expect.stringMatching(/found nothing/) });
    expect({ method, out: r.output }).toEqual({ method, out: expect.not.stringMatching(/\|\s*(alice|bob|svc|carol|dave|100|1000)\s*\|/) });
  }
  expect(bobPhone?.received.filter((m) => m.startsWith('OPTIONS '))).toEqual([]);
});

test('svcrack does not find a password missing from its list and finds the one in it', () => {
  expect(scans.crackMissing.code).toBe(0);
  expect(scans.crackMissing.output).toMatch(/found nothing/);
  expect(scans.crackMissing.output).not.toMatch(/\|\s*svc\s*\|/);
  expect(scans.crackPresent.code).toBe(0);
  expect(scans.crackPresent.output).toMatch(/\|\s*svc\s*\|\s*letmein\s*\|/);
});

test('after the scans the node answers its keepalive and a known-good REGISTER succeeds', async () => {
  expect(await keepaliveStatus(cs.sipPort)).toBe(200);
  const r = await run('sipsak', ['-U', '-s', `sip:alice@127.0.0.1:${cs.sipPort}`, '-u', 'alice', '-a', 'alice-pw', '-x', '600'], { timeoutMs: 10_000 });
  expect(r.code).toBe(0);
  const view = await registrations(cs.server, 'alice@127.0.0.1');
  expect(view?.contacts.length).toBeGreaterThan(0);
  const health = await fetch(`http://127.0.0.1:${cs.server.adminPort}/admin/health`);
  expect(health.status).toBe(200);
}, 20_000);
