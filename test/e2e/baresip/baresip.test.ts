/**
 * Interop (issue 5 must-show): two real baresip UAs (Debian `baresip`) register to the REAL server
 * process with digest credentials over UDP on loopback; alice calls bob through the proxy, bob
 * auto-answers, alice hangs up. The same call again over TLS (a throwaway PKI: baresip trusts our CA
 * and serves its own TLS listener with a certificate from it). Both UAs are driven and observed through baresip's `ctrl_tcp`
 * module (netstring JSON commands and events). Headless: opus + the `ausine` source (48 kHz) and
 * the `aufile` player writing to the temp dir, no audio device.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { eventually } from '../../helpers/eventually.js';
import { freePort, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { testPki } from '../../helpers/tls-certs.js';

/** Where a UA registers: the server's UDP port, or its TLS listener (with the CA to trust and our own certificate+key PEM). */
interface Registrar {
  readonly port: number;
  readonly tls?: { readonly caFile: string; readonly certAndKeyFile: string };
}

interface Ua {
  readonly name: string;
  readonly events: string[];
  readonly proc: ChildProcess;
  readonly ctrl: Socket;
  output(): string;
  command(command: string, params?: string): void;
  waitFor(event: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Netstring framing of ctrl_tcp (`<len>:<json>,`). */
function netstring(obj: unknown): string {
  const s = JSON.stringify(obj);
  return `${Buffer.byteLength(s)}:${s},`;
}

function parseNetstrings(buf: string, onMessage: (json: string) => void): string {
  for (;;) {
    const colon = buf.indexOf(':');
    if (colon < 0) return buf;
    const len = Number(buf.slice(0, colon));
    if (!Number.isInteger(len) || buf.length < colon + 1 + len + 1) return buf;
    onMessage(buf.slice(colon + 1, colon + 1 + len));
    buf = buf.slice(colon + 1 + len + 1);
  }
}

async function connectWithRetry(port: number, deadlineMs: number, gone: () => boolean = () => false): Promise<Socket> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > until || gone()) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** baresip running with its control socket connected; ports it could not bind make it exit, so a start is retried with fresh ones. */
async function spawnBaresip(dir: string, name: string, registrar: Registrar, password: string, rtpBase: number): Promise<{ proc: ChildProcess; ctrl: Socket; output: () => string }> {
  let lastOutput = '';
  for (let attempt = 1; ; attempt++) {
    const sipPort = await freePort();
    let ctrlPort = await freePort();
    // baresip also binds sip_listen+1 (TLS): keep the control port off it.
    while (ctrlPort === sipPort + 1) ctrlPort = await freePort();
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen 127.0.0.1:${sipPort}`,
        'audio_source ausine,440',
        `audio_player aufile,${join(dir, 'play.wav')}`,
        `audio_alert aufile,${join(dir, 'alert.wav')}`,
        `rtp_ports ${rtpBase}-${rtpBase + 99}`,
        'module_path /usr/lib/baresip/modules',
        'module opus.so',
        'module ausine.so',
        'module aufile.so',
        'module account.so',
        'module menu.so',
        'module ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        ...(registrar.tls === undefined ? [] : [`sip_cafile ${registrar.tls.caFile}`, `sip_certificate ${registrar.tls.certAndKeyFile}`]),
        '',
      ].join('\n'),
    );
    const transport = registrar.tls === undefined ? '' : ';transport=tls';
    writeFileSync(join(dir, 'accounts'), `<sip:${name}@127.0.0.1:${registrar.port}${transport}>;auth_pass=${password};answermode=auto;regint=600\n`);
    const proc = spawnTracked('baresip', ['-f', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<null>((r) => proc.once('exit', () => r(null)));
    // A loaded CI box can take a while to start it; an early exit (a port taken meanwhile) is retried.
    const connecting = connectWithRetry(ctrlPort, 20_000, () => proc.exitCode !== null || proc.signalCode !== null);
    connecting.catch(() => undefined); // when the exit wins the race, its rejection is expected
    const ctrl = await Promise.race([connecting, exited]);
    if (ctrl !== null) return { proc, ctrl, output: () => out };
    lastOutput = out;
    if (attempt === 3) throw new Error(`${name}: baresip exited before its control socket came up\n${lastOutput.slice(-1500)}`);
  }
}

async function startUa(server: ServerProcess, name: string, password: string, rtpBase: number, registrar: Registrar = { port: server.sipPort }): Promise<Ua> {
  const dir = join(server.dir, `baresip-${name}${registrar.tls === undefined ? '' : '-tls'}`);
  mkdirSync(dir, { recursive: true });
  const { proc, ctrl, output } = await spawnBaresip(dir, name, registrar, password, rtpBase);
  const events: string[] = [];
  const waiters: { event: string; resolve: () => void }[] = [];
  let pending = '';
  ctrl.on('data', (chunk: Buffer) => {
    pending = parseNetstrings(pending + chunk.toString(), (json) => {
      const msg = JSON.parse(json) as { event?: boolean; type?: string };
      if (msg.event !== true || msg.type === undefined) return;
      events.push(msg.type);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].event === msg.type) {
          waiters[i].resolve();
          waiters.splice(i, 1);
        }
      }
    });
  });
  let token = 0;
  return {
    name,
    events,
    proc,
    ctrl,
    output,
    command: (command, params) => ctrl.write(netstring({ command, params, token: String(++token) })),
    waitFor: (event, timeoutMs = 10_000) =>
      events.includes(event)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`${name}: no ${event} within ${timeoutMs} ms; events ${events.join(',')}\n${output().slice(-1500)}`)),
              timeoutMs,
            );
            waiters.push({ event, resolve: () => (clearTimeout(timer), resolve()) });
          }),
    stop: async () => {
      ctrl.destroy();
      if (proc.exitCode !== null || proc.pid === undefined) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
}

async function registered(server: ServerProcess, aor: string, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent(aor)}`);
    if (res.status === 200) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The proxy's dialog gauge once it reads `count` (bounded wait: throws with the last value otherwise). */
async function dialogsActiveOnceAt(server: ServerProcess, count: number): Promise<number> {
  const read = async (): Promise<number> => {
    const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
    return Number(/^siphon_dialogs_active (\S+)$/m.exec(metrics)?.[1]);
  };
  return eventually('siphon_dialogs_active', read, (v) => v === count, 5_000);
}

let server: ServerProcess;
const uas: Ua[] = [];

beforeAll(async () => {
  server = await startServer({
    config: {
      auth: { realm: 'baresip.test', users: [{ username: 'alice', password: 'alice-pw' }, { username: 'bob', password: 'bob-pw' }] },
    },
  });
}, 30_000);

afterAll(async () => {
  for (const ua of uas) await ua.stop();
  if (server) expect(await server.stop()).toBe(0);
}, 20_000);

test('two baresip UAs register with digest auth; alice calls bob through the proxy; both see the call established and ended', async () => {
  const rtpBase = 20_000 + Math.floor(Math.random() * 200) * 100;
  const bob = await startUa(server, 'bob', 'bob-pw', rtpBase);
  uas.push(bob);
  const alice = await startUa(server, 'alice', 'alice-pw', rtpBase + 100);
  uas.push(alice);
  expect(await registered(server, 'bob@127.0.0.1')).toBe(true);
  expect(await registered(server, 'alice@127.0.0.1')).toBe(true);

  alice.command('dial', `sip:bob@127.0.0.1:${server.sipPort}`);
  await Promise.all([alice.waitFor('CALL_ESTABLISHED', 15_000), bob.waitFor('CALL_ESTABLISHED', 15_000)]);
  alice.command('hangup');
  await Promise.all([alice.waitFor('CALL_CLOSED'), bob.waitFor('CALL_CLOSED')]);

  expect(alice.events).toEqual(expect.arrayContaining(['CALL_RINGING', 'CALL_ESTABLISHED', 'CALL_CLOSED']));
  expect(bob.events).toEqual(expect.arrayContaining(['CALL_ESTABLISHED', 'CALL_CLOSED']));
  // The registrations were challenged (401) and so was the INVITE (407), then accepted.
  const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  expect(metrics).toMatch(/siphon_responses_total\{code="401"\} [2-9]/);
  expect(metrics).toMatch(/siphon_responses_total\{code="407"\} [1-9]/);
  // Bob reports CALL_CLOSED when the BYE reaches him; the dialog ends at the proxy only when his
  // 200 to it passes back through, a moment later.
  expect(await dialogsActiveOnceAt(server, 0)).toBe(0);
}, 60_000);

describe('over TLS', () => {
  const pki = testPki();
  let tlsServer: ServerProcess;
  let tlsPort = 0;
  const tlsUas: Ua[] = [];

  beforeAll(async () => {
    tlsPort = await freePort();
    const udp = await freePort();
    tlsServer = await startServer({
      config: {
        listen: { udp: [`127.0.0.1:${udp}`], tcp: [`127.0.0.1:${udp}`], tls: [`127.0.0.1:${tlsPort}`] },
        auth: { realm: 'baresip.test', users: [{ username: 'alice', password: 'alice-pw' }, { username: 'bob', password: 'bob-pw' }] },
        tls: { certificate: pki.serverCertFile, private_key: pki.serverKeyFile, ca: pki.caFile },
      },
    });
  }, 30_000);

  afterAll(async () => {
    for (const ua of tlsUas) await ua.stop();
    if (tlsServer) expect(await tlsServer.stop()).toBe(0);
  }, 20_000);

  test('two baresip UAs register over TLS; alice calls bob through the proxy over TLS; both see the call established and ended', async () => {
    // baresip wants its certificate and key in one PEM file.
    const certAndKeyFile = join(tlsServer.dir, 'baresip-cert.pem');
    writeFileSync(certAndKeyFile, pki.serverCert + pki.serverKey);
    const registrar: Registrar = { port: tlsPort, tls: { caFile: pki.caFile, certAndKeyFile } };
    const rtpBase = 20_000 + Math.floor(Math.random() * 200) * 100;
    const bob = await startUa(tlsServer, 'bob', 'bob-pw', rtpBase, registrar);
    tlsUas.push(bob);
    const alice = await startUa(tlsServer, 'alice', 'alice-pw', rtpBase + 100, registrar);
    tlsUas.push(alice);
    expect(await registered(tlsServer, 'bob@127.0.0.1')).toBe(true);
    expect(await registered(tlsServer, 'alice@127.0.0.1')).toBe(true);

    alice.command('dial', `sip:bob@127.0.0.1:${tlsPort};transport=tls`);
    await Promise.all([alice.waitFor('CALL_ESTABLISHED', 15_000), bob.waitFor('CALL_ESTABLISHED', 15_000)]);
    alice.command('hangup');
    await Promise.all([alice.waitFor('CALL_CLOSED'), bob.waitFor('CALL_CLOSED')]);

    expect(alice.events).toEqual(expect.arrayContaining(['CALL_ESTABLISHED', 'CALL_CLOSED']));
    expect(bob.events).toEqual(expect.arrayContaining(['CALL_ESTABLISHED', 'CALL_CLOSED']));
    const metrics = await (await fetch(`http://127.0.0.1:${tlsServer.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/siphon_connections_active\{transport="tls"\} [2-9]/);
    expect(await dialogsActiveOnceAt(tlsServer, 0)).toBe(0);
  }, 60_000);
});
