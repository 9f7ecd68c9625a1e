/**
 * linphonec (Debian `linphone-cli` 5.1), a full UA, against the REAL server with digest auth:
 * alice registers over TCP, bob over UDP, both through the 401 challenge (SHA-256 digests, RFC
 * 8760, offered before MD5); alice calls bob through the proxy (407, then INVITE/180/200/ACK),
 * hangs up, and both see the call connected and ended.
 *
 * Linphone asks for GRUUs, gets them from our registrar and puts its public GRUU in the Contact of
 * the dialog, so the ACK and BYE come back with the GRUU as Request-URI: this is the test that
 * proves they reach the callee (RFC 5627 §5.5). Its SDP makes the INVITE larger than 1300 bytes,
 * so the proxy tries TCP towards the UDP-only bob first and falls back to UDP (§18.1.1).
 *
 * The second test runs the other way round (bob calls the TCP-registered alice), holds and resumes
 * the call (re-INVITEs to the GRUU), and has alice send bob a chat MESSAGE.
 *
 * Headless: no sound card here (ALSA/PulseAudio missing); `soundcard use files` makes linphonec
 * play and record WAV files instead. Driven through stdin commands; its stdout lines are the events.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { freePort } from '../../helpers/server-process.js';
import { errorLogLines, eventually, metric, REALM, startClientServer, USERS, type ClientServer } from './harness.js';

interface Linphone {
  readonly name: string;
  readonly proc: ChildProcess;
  output(): string;
  command(line: string): void;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function startLinphone(cs: ClientServer, name: string, password: string, transport: 'udp' | 'tcp', rtpBase: number, autoAnswer: boolean): Promise<Linphone> {
  const home = join(cs.server.dir, `linphone-${name}`);
  // linphonec opens its call history database there and stops short of starting the core without it.
  mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
  const port = await freePort();
  const rc = join(home, 'linphonerc');
  writeFileSync(
    rc,
    [
      '[sip]',
      `sip_port=${transport === 'udp' ? port : -1}`,
      `sip_tcp_port=${transport === 'tcp' ? port : -1}`,
      'sip_tls_port=-1',
      'default_proxy=0',
      '[rtp]',
      `audio_rtp_port=${rtpBase}-${rtpBase + 9}`,
      `video_rtp_port=${rtpBase + 10}-${rtpBase + 19}`,
      '[sound]',
      'echocancellation=0',
      '[video]',
      'enabled=0',
      'capture=0',
      'display=0',
      '[proxy_0]',
      `reg_proxy=<sip:127.0.0.1:${cs.sipPort};transport=${transport}>`,
      `reg_identity=sip:${name}@127.0.0.1`,
      'reg_expires=600',
      'reg_sendregister=1',
      '[auth_info_0]',
      `username=${name}`,
      `passwd=${password}`,
      `realm=${REALM}`,
      '',
    ].join('\n'),
  );
  const args = ['-c', rc, '-d', '6', '-l', join(home, 'linphonec.log'), ...(autoAnswer ? ['-a'] : [])];
  const proc = spawnTracked('linphonec', args, { cwd: home, env: { ...process.env, HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pattern.test(out)) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ua: Linphone = {
    name,
    proc,
    output: () => out,
    command: (line) => {
      proc.stdin?.write(`${line}\n`);
    },
    waitFor: (pattern, timeoutMs = 10_000) =>
      pattern.test(out)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${name}: no ${String(pattern)} within ${timeoutMs} ms\n${out.slice(-2000)}`)), timeoutMs);
            waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
          }),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      ua.command('quit');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
  ua.command('soundcard use files');
  await ua.waitFor(/Using wav files instead of soundcard/);
  return ua;
}

interface Contact {
  readonly contact: string;
  readonly user_agent: string | null;
  readonly flow: { readonly transport: string } | null;
}

async function linphoneContact(cs: ClientServer, aor: string): Promise<Contact | undefined> {
  const res = await fetch(`http://127.0.0.1:${cs.server.adminPort}/admin/registrations/${encodeURIComponent(aor)}`);
  if (res.status !== 200) return undefined;
  const view = (await res.json()) as { contacts: Contact[] };
  return view.contacts.find((c) => c.user_agent?.startsWith('Linphone') === true);
}

let cs: ClientServer;
const uas: Linphone[] = [];

beforeAll(async () => {
  // The AoR domain is 127.0.0.1: linphonec's chat addresses its peer as sip:bob@127.0.0.1 (no port).
  // Challenges offer SHA-256 first and MD5 (RFC 8760); linphonec answers with the stronger one.
  cs = await startClientServer({
    proxy: { local_domains: ['127.0.0.1'] },
    auth: { realm: REALM, algorithms: ['SHA-256', 'MD5'], users: USERS.map((u) => ({ ...u })) },
  });
}, 30_000);

afterAll(async () => {
  for (const ua of uas) await ua.stop();
  if (cs) {
    expect(await cs.server.stop()).toBe(0);
    expect(errorLogLines(cs.server)).toEqual([]);
  }
}, 20_000);

test('two linphonec register with digest (TCP and UDP); alice calls bob through the proxy; both see it connected and ended', async () => {
  const rtpBase = 30_000 + Math.floor(Math.random() * 1000) * 20;
  const bob = await startLinphone(cs, 'bob', 'bob-pw', 'udp', rtpBase, true);
  uas.push(bob);
  const alice = await startLinphone(cs, 'alice', 'alice-pw', 'tcp', rtpBase + 20, false);
  uas.push(alice);

  let bobContact: Contact | undefined;
  let aliceContact: Contact | undefined;
  expect(await eventually(async () => (bobContact = await linphoneContact(cs, 'bob@127.0.0.1')) !== undefined)).toBe(true);
  expect(await eventually(async () => (aliceContact = await linphoneContact(cs, 'alice@127.0.0.1')) !== undefined)).toBe(true);
  expect(bobContact?.flow?.transport).toBe('udp');
  expect(aliceContact?.flow?.transport).toBe('tcp');

  alice.command(`call sip:bob@127.0.0.1:${cs.sipPort}`);
  await Promise.all([
    alice.waitFor(/Call 1 with sip:bob@127\.0\.0\.1:\d+ connected\./, 15_000),
    bob.waitFor(/Call 1 with sip:alice@127\.0\.0\.1 connected\./, 15_000),
  ]);
  expect(await metric(cs.server, /^siphon_dialogs_active (\d+)/m)).toBe(1);

  alice.command('terminate');
  await Promise.all([
    alice.waitFor(/Call 1 with sip:bob@127\.0\.0\.1:\d+ ended/, 10_000),
    bob.waitFor(/Call 1 with sip:alice@127\.0\.0\.1 ended/, 10_000),
  ]);
  expect(bob.output()).toMatch(/Receiving new incoming call from sip:alice@127\.0\.0\.1/);
  expect(alice.output()).toMatch(/Call 1 to sip:bob@127\.0\.0\.1:\d+ ringing\./);
  expect(await eventually(async () => (await metric(cs.server, /^siphon_dialogs_active (\d+)/m)) === 0, 3000)).toBe(true);
  // Both UAs answered the challenges with SHA-256 digests.
  for (const ua of [alice, bob]) {
    const sent = readFileSync(join(cs.server.dir, `linphone-${ua.name}`, 'linphonec.log'), 'utf8');
    const algorithms = [...sent.matchAll(/^(?:Proxy-)?Authorization:.*\balgorithm=([A-Za-z0-9-]+)/gm)].map((m) => m[1]);
    expect({ ua: ua.name, algorithms: [...new Set(algorithms)] }).toEqual({ ua: ua.name, algorithms: ['SHA-256'] });
  }
  // Both registrations were challenged (401) and so was the INVITE (407).
  expect(await metric(cs.server, /^siphon_responses_total\{code="401"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
  expect(await metric(cs.server, /^siphon_responses_total\{code="407"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
}, 40_000);

test('bob calls alice (registered over TCP), holds and resumes; alice hangs up; alice chats bob', async () => {
  const [bob, alice] = uas;
  expect(bob?.name).toBe('bob');
  expect(alice?.name).toBe('alice');
  bob.command(`call sip:alice@127.0.0.1:${cs.sipPort}`);
  await alice.waitFor(/Receiving new incoming call from sip:bob@127\.0\.0\.1, assigned id 2/, 10_000);
  alice.command('answer');
  await Promise.all([
    bob.waitFor(/Call 2 with sip:alice@127\.0\.0\.1:\d+ connected\./, 10_000),
    alice.waitFor(/Call 2 with sip:bob@127\.0\.0\.1 connected\./, 10_000),
  ]);
  bob.command('pause');
  await Promise.all([
    bob.waitFor(/Call 2 with sip:alice@127\.0\.0\.1:\d+ is now paused\./, 10_000),
    alice.waitFor(/Call 2 has been paused by sip:bob@127\.0\.0\.1/, 10_000),
  ]);
  bob.command('resume');
  await bob.waitFor(/Resuming call 2[\s\S]*Media streams established with sip:alice@127\.0\.0\.1:\d+ for call 2/, 10_000);
  alice.command('terminate');
  await Promise.all([
    alice.waitFor(/Call 2 with sip:bob@127\.0\.0\.1 ended/, 10_000),
    bob.waitFor(/Call 2 with sip:alice@127\.0\.0\.1:\d+ ended/, 10_000),
  ]);

  alice.command(`chat sip:bob@127.0.0.1:${cs.sipPort} hello from alice`);
  await bob.waitFor(/Message received from sip:alice@127\.0\.0\.1: hello from alice/, 10_000);
  expect(await eventually(async () => (await metric(cs.server, /^siphon_dialogs_active (\d+)/m)) === 0, 3000)).toBe(true);
}, 40_000);
