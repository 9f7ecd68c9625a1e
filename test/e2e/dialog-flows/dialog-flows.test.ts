/**
 * Dialog flows other projects' SIPp suites drive through a proxy, against the REAL server with the
 * shipped default script (registrar + record-routing proxy), over UDP, TCP and IPv6 loopback:
 * reliable provisionals (RFC 3262), early UPDATE (RFC 3311), INFO (RFC 6086), callee-initiated
 * re-INVITE and BYE, a 491 on a crossed re-INVITE, a relayed 302, forked early media and a 2xx
 * race (RFC 3261 §16.7), a large INVITE to a UDP-only callee (§18.1.1), mixed IPv4/IPv6 calls,
 * and on a second, IPv4-only node with a short Timer C: an IPv6 contact it cannot reach, a silent
 * and a forever-ringing callee over TCP (the UDP cases live in siphon-interop).
 * Each case asserts the sipp verdicts (0 = every message as scripted) and what the traces show.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { portsBound } from '../../helpers/port-bound.js';
import { freePort, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { PASSED, runSipp, verdict, type SippRun, type SippTransport } from '../../helpers/sipp-run.js';
import { spawnTracked } from '../../helpers/tracked-spawn.js';

const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
const V4 = '127.0.0.1';
const V6 = '::1';

let server: ServerProcess;
/** One SIP port for the four listeners: UDP and TCP on 127.0.0.1 and on [::1]. */
let sipPort: number;

beforeAll(async () => {
  sipPort = await freePort();
  server = await startServer({
    config: {
      listen: {
        udp: [`${V4}:${sipPort}`, `[${V6}]:${sipPort}`],
        tcp: [`${V4}:${sipPort}`, `[${V6}]:${sipPort}`],
      },
      // The large-INVITE case waits out one TCP connect that is never answered.
      transport: { tcp_connect_timeout_ms: 1000 },
    },
  });
}, 30_000);

afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
});

const proxyAt = (ip: string): string => (ip === V6 ? `[${V6}]:${sipPort}` : `${V4}:${sipPort}`);
const hostRef = (ip: string): string => (ip === V6 ? `[${ip}]` : ip);
const streamOf = (t: SippTransport): 'udp' | 'tcp' => (t === 'u1' ? 'udp' : 'tcp');

interface Leg {
  readonly scenario: string;
  readonly ip?: string;
  readonly transport?: SippTransport;
}

/** A scenario of ./sipp, or a copy with `token` replaced / a marked block removed. */
function scenario(name: string, edit?: (text: string) => string): string {
  if (edit === undefined) return join(SCENARIOS, name);
  const out = join(server.dir, `${Math.random().toString(36).slice(2, 8)}-${name}`);
  writeFileSync(out, edit(readFileSync(join(SCENARIOS, name), 'utf8')));
  return out;
}

/** answer-uas.xml with its 183-to-200 pause set. */
const answerAfter = (ms: number) => (text: string): string => text.split('ANSWER_DELAY_MS').join(String(ms));

async function register(user: string, contact: string, ip = V4): Promise<void> {
  const r = await runSipp(server.dir, {
    scenario: scenario('register-contact.xml'), target: proxyAt(ip), localIp: ip, extra: ['-s', user], keys: { contact },
  });
  expect(verdict(r)).toEqual(PASSED);
}

/** A callee sipp listening on a fresh port (bound before this resolves). */
async function callee(leg: Leg, port?: number, calls = 1): Promise<{ port: number; run: Promise<SippRun> }> {
  const p = port ?? (await freePort());
  const transport = leg.transport ?? 'u1';
  const run = runSipp(server.dir, { scenario: leg.scenario, port: p, transport, localIp: leg.ip ?? V4, traceMessages: true, timeoutSecs: 20, calls });
  await portsBound(streamOf(transport), [p]);
  return { port: p, run };
}

function caller(leg: Leg, user: string): Promise<SippRun> {
  const ip = leg.ip ?? V4;
  return runSipp(server.dir, {
    scenario: leg.scenario, target: proxyAt(ip), transport: leg.transport ?? 'u1', localIp: ip, extra: ['-s', user], traceMessages: true, timeoutSecs: 20,
  });
}

/** The messages a sipp received, as text, in order (from its -trace_msg file). */
function received(run: SippRun): string[] {
  if (run.messages === null) return [];
  const blocks = readFileSync(run.messages, 'utf8').split(/^-{20,}.*$/m);
  return blocks.filter((b) => / message received \[\d+\] bytes/.test(b)).map((b) => b.slice(b.indexOf('\n', b.indexOf('bytes')) + 1).trimStart());
}

/** ms from the INVITE leaving the caller to the first answer above 100 reaching it (post-dial delay). */
function postDialDelayMs(run: SippRun): number {
  if (run.messages === null) return NaN;
  const text = readFileSync(run.messages, 'utf8');
  const stamped = [...text.matchAll(/^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n(\w+) message (sent|received)[^\n]*\n\s*([^\n]*)/gm)];
  const at = (stamp: string): number => Date.parse(`${stamp.slice(0, 23).replace(' ', 'T')}Z`);
  const invite = stamped.find((m) => m[3] === 'sent' && m[4].startsWith('INVITE '));
  const answer = stamped.find((m) => m[3] === 'received' && /^SIP\/2\.0 (1[1-9]\d|[2-6]\d\d) /.test(m[4]));
  return invite === undefined || answer === undefined ? NaN : at(answer[1]) - at(invite[1]);
}

const startLine = (m: string): string => m.slice(0, m.indexOf('\n')).trim();
const header = (m: string, name: string): string[] =>
  m.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
/** In first-seen order, without the copies a retransmission on a slow box would add. */
const unique = (xs: readonly string[]): string[] => [...new Set(xs)];
const toTag = (m: string): string => /;tag=([^;>\s]+)/.exec(header(m, 'To')[0] ?? '')?.[1] ?? '';

const contactUri = (user: string, ip: string, port: number, t: SippTransport): string =>
  `sip:${user}@${hostRef(ip)}:${port}${t === 'u1' ? '' : ';transport=tcp'}`;

describe.each([
  ['UDP', 'u1', V4],
  ['TCP', 't1', V4],
  ['UDP over IPv6', 'u1', V6],
  ['TCP over IPv6', 't1', V6],
] as const)('dialog flows over %s', (label, transport, ip) => {
  const user = (base: string): string => `${base}${transport}${ip === V6 ? '6' : '4'}`;

  test('RFC 3262: reliable 183 (and its retransmission over UDP) relayed, PRACK by the 183 route set, then 200/ACK/BYE', async () => {
    const uas = transport === 'u1'
      ? scenario('prack-uas.xml')
      : scenario('prack-uas.xml', (t) => t.replace(/ {2}<!-- RETRANSMISSION -->[\s\S]*?<!-- \/RETRANSMISSION -->\n/, ''));
    const b = await callee({ scenario: uas, ip, transport });
    await register(user('prack'), contactUri(user('prack'), ip, b.port, transport), ip);
    const a = await caller({ scenario: scenario('prack-uac.xml'), ip, transport }, user('prack'));
    expect(verdict(a)).toEqual(PASSED);
    const bRun = await b.run;
    expect(verdict(bRun)).toEqual(PASSED);
    const reliable = received(a).filter((m) => startLine(m).startsWith('SIP/2.0 183'));
    expect(reliable).toHaveLength(transport === 'u1' ? 2 : 1);
    expect(header(reliable[0], 'RSeq')).toEqual(['4711']);
    expect(header(reliable[0], 'Require')).toEqual(['100rel']);
    const invite = received(bRun).find((m) => startLine(m).startsWith('INVITE')) ?? '';
    // Our Via names the listener of the callee's family, bracketed when IPv6 (§20.42 sent-by);
    // the caller's Via gets received= unbracketed (RFC 3261 §25.1 via-received, RFC 5118 §4.5).
    expect(header(invite, 'Via')[0]).toMatch(new RegExp(`^SIP/2\\.0/${transport === 'u1' ? 'UDP' : 'TCP'} ${ip === V6 ? '\\[::1\\]' : '127\\.0\\.0\\.1'}:${sipPort};`));
    expect(header(invite, 'Via')[1]).toContain(`;received=${ip}`);
    expect(header(invite, 'Record-Route')).toEqual([`<sip:${hostRef(ip)}:${sipPort}${transport === 'u1' ? '' : ';transport=tcp'};lr>`]);
    const prack = received(bRun).find((m) => startLine(m).startsWith('PRACK'));
    expect(prack).toBeDefined();
    expect(header(prack ?? '', 'RAck')).toEqual(['4711 1 INVITE']);
    expect(header(prack ?? '', 'Route')).toEqual([]); // our own Route was consumed (§16.4)
  }, 30_000);

  test(`both directions: early UPDATE each way, INFO each way, 491 on a crossed re-INVITE, callee re-INVITE and BYE (${label})`, async () => {
    const b = await callee({ scenario: scenario('dialog-uas.xml'), ip, transport });
    await register(user('dlg'), contactUri(user('dlg'), ip, b.port, transport), ip);
    const a = await caller({ scenario: scenario('dialog-uac.xml'), ip, transport }, user('dlg'));
    expect(verdict(a)).toEqual(PASSED);
    const bRun = await b.run;
    expect(verdict(bRun)).toEqual(PASSED);
    const atCallee = received(bRun);
    // §17.1.1.3: the ACK for the 491 is the proxy's own, hop by hop: one Via (ours), and only one.
    const ack491 = atCallee.filter((m) => startLine(m).startsWith('ACK') && header(m, 'CSeq')[0] === '4 ACK');
    expect(ack491).toHaveLength(1);
    expect(header(ack491[0], 'Via').join(',').split(',')).toHaveLength(1);
    // Requests from the callee reach the caller by the reversed route set, our Via on top.
    const fromCallee = received(a).filter((m) => /^(UPDATE|INFO|INVITE|BYE) /.test(startLine(m)));
    expect(unique(fromCallee.map((m) => header(m, 'CSeq')[0]))).toEqual(['101 UPDATE', '102 INFO', '103 INVITE', '104 BYE']);
    for (const m of fromCallee) expect(header(m, 'Via')[0]).toMatch(new RegExp(`^SIP/2\\.0/${transport === 'u1' ? 'UDP' : 'TCP'} ${hostRef(ip).replace(/[[\]]/g, '\\$&')}:${sipPort};branch=z9hG4bK`));
  }, 30_000);
});

describe('3xx from the callee', () => {
  test.each([['u1'], ['t1']] as const)('302 relayed with its Contacts; the caller ACK is absorbed, the callee gets the proxy ACK once (%s)', async (transport) => {
    const b = await callee({ scenario: scenario('redirect-uas.xml'), transport });
    await register(`moved${transport}`, contactUri(`moved${transport}`, V4, b.port, transport));
    const a = await caller({ scenario: scenario('redirect-uac.xml'), transport }, `moved${transport}`);
    expect(verdict(a)).toEqual(PASSED);
    const bRun = await b.run;
    expect(verdict(bRun)).toEqual(PASSED);
    const redirect = received(a).find((m) => startLine(m).startsWith('SIP/2.0 302'));
    expect(header(redirect ?? '', 'Contact')).toEqual(['<sip:carol@192.0.2.33:5080>;q=0.7, <sip:carol@voicemail.example.com>;q=0.1']);
    const acks = received(bRun).filter((m) => startLine(m).startsWith('ACK'));
    expect(acks).toHaveLength(1);
    expect(header(acks[0], 'Via').join(',').split(',')).toHaveLength(1);
  }, 30_000);
});

describe('forked calls (two contacts for one AoR)', () => {
  test('early media from both branches reaches the caller; the 200 of one gets the other CANCELled with a Reason (487 ACKed)', async () => {
    const winner = await callee({ scenario: scenario('answer-uas.xml', answerAfter(600)) });
    const loser = await callee({ scenario: scenario('cancelled-uas.xml') });
    await register('forked', contactUri('forked', V4, winner.port, 'u1'));
    await register('forked', contactUri('forked', V4, loser.port, 'u1'));
    const a = await caller({ scenario: scenario('fork-uac.xml') }, 'forked');
    expect(verdict(a)).toEqual(PASSED);
    expect(verdict(await winner.run)).toEqual(PASSED);
    const loserRun = await loser.run;
    expect(verdict(loserRun)).toEqual(PASSED);
    const early = received(a).filter((m) => startLine(m).startsWith('SIP/2.0 183'));
    expect(new Set(early.map(toTag)).size).toBe(2);
    expect(unique(received(loserRun).map((m) => startLine(m).split(' ')[0]))).toEqual(['INVITE', 'CANCEL', 'ACK']);
    // RFC 3326 §3: the losing phone learns the call was answered elsewhere (no missed-call entry).
    const cancel = received(loserRun).find((m) => startLine(m).startsWith('CANCEL')) ?? '';
    expect(header(cancel, 'Reason')).toEqual(['SIP;cause=200;text="Call completed elsewhere"']);
  }, 30_000);

  test('both branches answer (2xx race): both 200s reach the caller, each dialog is ACKed and BYEd', async () => {
    // Neither sends a provisional, so neither can be CANCELled before its 200 (§9.1).
    const one = await callee({ scenario: scenario('answer-at-once-uas.xml') });
    const two = await callee({ scenario: scenario('answer-at-once-uas.xml') });
    await register('raced', contactUri('raced', V4, one.port, 'u1'));
    await register('raced', contactUri('raced', V4, two.port, 'u1'));
    const a = await caller({ scenario: scenario('fork-race-uac.xml') }, 'raced');
    expect(verdict(a)).toEqual(PASSED);
    expect(verdict(await one.run)).toEqual(PASSED);
    expect(verdict(await two.run)).toEqual(PASSED);
    const answers = received(a).filter((m) => startLine(m).startsWith('SIP/2.0 200') && header(m, 'CSeq')[0] === '1 INVITE');
    expect(new Set(answers.map(toTag)).size).toBe(2);
  }, 30_000);
});

describe('RFC 3261 §18.1.1: a large INVITE to a callee on UDP only', () => {
  test('TCP refused (RST): the proxy retries over UDP at once and the call completes', async () => {
    const b = await callee({ scenario: scenario('answer-uas.xml', answerAfter(100)) });
    await register('udponly', contactUri('udponly', V4, b.port, 'u1'));
    const a = await caller({ scenario: scenario('large-invite-uac.xml') }, 'udponly');
    expect(verdict(a)).toEqual(PASSED);
    expect(postDialDelayMs(a)).toBeLessThan(700); // no connect timeout waited out
    const bRun = await b.run;
    expect(verdict(bRun)).toEqual(PASSED);
    const invite = received(bRun).find((m) => startLine(m).startsWith('INVITE')) ?? '';
    expect(Buffer.byteLength(invite)).toBeGreaterThan(1300);
    expect(header(invite, 'Via')[0]).toMatch(/^SIP\/2\.0\/UDP /);
  }, 30_000);

  test('TCP connect never answered (SYN dropped, as by a NAT): UDP after transport.tcp_connect_timeout_ms, the call is not lost; the next call goes over UDP at once', async () => {
    const port = await freePort();
    // A TCP listener on the callee's port whose accept queue is full: the kernel drops further SYNs.
    const blackhole: ChildProcess = spawnTracked('python3', ['-c', [
      'import socket, sys, time',
      's = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)',
      'held = []',
      'for _ in range(3):',
      '    c = socket.socket(); c.setblocking(False)',
      '    try: c.connect(("127.0.0.1", int(sys.argv[1])))',
      '    except BlockingIOError: pass',
      '    held.append(c)',
      'print("ready", flush=True); time.sleep(30)',
    ].join('\n'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        blackhole.stdout?.once('data', () => resolve());
        blackhole.once('exit', (code) => reject(new Error(`blackhole exited ${code}`)));
      });
      const b = await callee({ scenario: scenario('answer-uas.xml', answerAfter(100)) }, port, 2);
      await register('natted', contactUri('natted', V4, port, 'u1'));
      const first = await caller({ scenario: scenario('large-invite-uac.xml') }, 'natted');
      expect(verdict(first)).toEqual(PASSED);
      expect(postDialDelayMs(first)).toBeGreaterThanOrEqual(900);
      // §18.1.1 fallback memory: this next hop failed TCP, so the proxy does not wait on it again.
      const second = await caller({ scenario: scenario('large-invite-uac.xml') }, 'natted');
      expect(verdict(second)).toEqual(PASSED);
      expect(postDialDelayMs(second)).toBeLessThan(700);
      expect(verdict(await b.run)).toEqual(PASSED);
    } finally {
      blackhole.kill('SIGKILL');
    }
  }, 30_000);
});

describe('SIP over IPv6', () => {
  test('REGISTER over IPv6 stores the bracketed contact; an IPv4 caller reaches an IPv6 callee through two Record-Routes', async () => {
    const b = await callee({ scenario: scenario('prack-uas.xml'), ip: V6 });
    await register('six', contactUri('six', V6, b.port, 'u1'), V6);
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent(`six@[${V6}]`)}`);
    const stored = (await res.json()) as { contacts: Array<{ contact: string }> };
    expect(stored.contacts.map((c) => c.contact)).toEqual([`sip:six@[::1]:${b.port}`]);
    // The AoR lives under the IPv6 domain; an IPv4 caller names a contact of it registered over IPv4.
    await register('mixed', contactUri('mixed', V6, b.port, 'u1'), V4);
    const a = await caller({ scenario: scenario('prack-uac.xml') }, 'mixed');
    expect(verdict(a)).toEqual(PASSED);
    const bRun = await b.run;
    expect(verdict(bRun)).toEqual(PASSED);
    const invite = received(bRun).find((m) => startLine(m).startsWith('INVITE')) ?? '';
    expect(header(invite, 'Via')[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP \\[::1\\]:${sipPort};branch=`));
    expect(header(invite, 'Via')[1]).toMatch(/^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;.*received=127\.0\.0\.1/);
    expect(header(invite, 'Record-Route')).toEqual([`<sip:[::1]:${sipPort};lr>`, `<sip:127.0.0.1:${sipPort};lr>`]);
    // The caller's PRACK and BYE go out by the route set and come through both of our routes.
    const prackAtCallee = received(bRun).find((m) => startLine(m).startsWith('PRACK')) ?? '';
    expect(header(prackAtCallee, 'Via')[0]).toMatch(/^SIP\/2\.0\/UDP \[::1\]:/);
  }, 30_000);
});

describe('an IPv4-only node with a 2 s INVITE timeout (Timer C)', () => {
  let v4only: ServerProcess;
  beforeAll(async () => {
    v4only = await startServer({ config: { transaction: { invite_timeout_secs: 2 } } });
  }, 30_000);
  afterAll(async () => {
    if (v4only) expect(await v4only.stop()).toBe(0);
  });

  test('an IPv6 contact behind an IPv4-only node fails at once (503, 500 upstream), not after Timer B', async () => {
    const target = `${V4}:${v4only.sipPort}`;
    const reg = await runSipp(v4only.dir, {
      scenario: scenario('register-contact.xml'), target, extra: ['-s', 'far6'], keys: { contact: `sip:far6@[${V6}]:${await freePort()}` },
    });
    expect(verdict(reg)).toEqual(PASSED);
    const started = Date.now();
    const uac = scenario('reject-uac.xml', (t) => t.split('EXPECTED_FINAL').join('500'));
    expect(verdict(await runSipp(v4only.dir, { scenario: uac, target, extra: ['-s', 'far6'], timeoutSecs: 10 }))).toEqual(PASSED);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 30_000);

  /**
   * A TCP callee running `uasScenario`, registered as `user` on the IPv4-only node (2 s Timer C), is
   * called by a caller that must end with 408; returns the callee's run (its message trace).
   */
  async function callTcpCalleeExpecting408(user: string, uasScenario: string): Promise<SippRun> {
    const port = await freePort();
    const target = `${V4}:${v4only.sipPort}`;
    const callee = runSipp(v4only.dir, { scenario: scenario(uasScenario), port, transport: 't1', traceMessages: true, timeoutSecs: 10 });
    await portsBound('tcp', [port]);
    const reg = await runSipp(v4only.dir, {
      scenario: scenario('register-contact.xml'), target, extra: ['-s', user], keys: { contact: `sip:${user}@${V4}:${port};transport=tcp` },
    });
    expect(verdict(reg)).toEqual(PASSED);
    const uac = scenario('reject-uac.xml', (t) => t.split('EXPECTED_FINAL').join('408'));
    expect(verdict(await runSipp(v4only.dir, { scenario: uac, target, extra: ['-s', user], timeoutSecs: 10 }))).toEqual(PASSED);
    const calleeRun = await callee;
    expect(verdict(calleeRun)).toEqual(PASSED);
    return calleeRun;
  }

  test('a silent TCP callee (no 100 at all): 408 to the caller, and no CANCEL to the callee (§9.1)', async () => {
    const calleeRun = await callTcpCalleeExpecting408('mute', 'silent-uas.xml');
    expect(received(calleeRun).map((m) => startLine(m).split(' ')[0])).toEqual(['INVITE']);
  }, 30_000);

  test('a TCP callee that rings forever: Timer C CANCELs it over TCP, its 487 is ACKed, the caller gets 408', async () => {
    const calleeRun = await callTcpCalleeExpecting408('ringer', 'ring-forever-uas.xml');
    expect(unique(received(calleeRun).map((m) => startLine(m).split(' ')[0]))).toEqual(['INVITE', 'CANCEL', 'ACK']);
  }, 30_000);
});
