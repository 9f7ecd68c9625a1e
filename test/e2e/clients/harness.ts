/**
 * Shared by the real-client suites (sipsak, sipvicious, linphonec): the REAL server process with
 * digest auth on, a bounded runner for one-shot tools, a scripted UDP user agent, and the admin
 * queries the tests assert on.
 */
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startServer, type ServerProcess } from '../../helpers/server-process.js';

export const REALM = 'clients.test';
export const USERS = [
  { username: 'alice', password: 'alice-pw' },
  { username: 'bob', password: 'bob-pw' },
  { username: 'svc', password: 'letmein' },
] as const;

function bindsTcp(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function bindsUdp(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    s.once('error', () => res(false));
    s.bind(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/**
 * A random port below 10000 that is free for TCP and UDP. sipsak 0.9.8 cuts the last digit of a
 * five-digit port when it writes the Request-URI (it sizes the buffer for `host:` plus 4 digits),
 * so `-s sip:host:40000` would send `OPTIONS sip:host:4000`; a four-digit port is written intact.
 */
async function freeFourDigitPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 2000 + Math.floor(Math.random() * 7900);
    if ((await bindsTcp(p)) && (await bindsUdp(p))) return p;
  }
  throw new Error('no free port below 10000');
}

export interface ClientServer {
  readonly server: ServerProcess;
  /** The SIP port (UDP and TCP); the ServerProcess's own sipPort field is not the one in use. */
  readonly sipPort: number;
}

/** The built server with digest auth for USERS, listening on a four-digit port (see above). */
export async function startClientServer(extra: Record<string, unknown> = {}): Promise<ClientServer> {
  for (let attempt = 1; ; attempt++) {
    const sipPort = await freeFourDigitPort();
    try {
      const server = await startServer({
        config: {
          listen: { udp: [`127.0.0.1:${sipPort}`], tcp: [`127.0.0.1:${sipPort}`] },
          auth: { realm: REALM, users: USERS.map((u) => ({ ...u })) },
          ...extra,
        },
      });
      return { server, sipPort };
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('EADDRINUSE')) throw err;
    }
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly ms: number;
}

/** Runs a tool to completion (stdout and stderr together), killed after `timeoutMs`. */
export function run(command: string, args: readonly string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: Date.now() - started });
    });
  });
}

/** OPTIONS keepalive to the node itself over UDP: the status it answers (0 when none in 2 s). */
export async function keepaliveStatus(sipPort: number): Promise<number> {
  const r = await run('sipsak', ['-vv', '-s', `sip:127.0.0.1:${sipPort}`], { timeoutMs: 5000 });
  const m = /^SIP\/2\.0 (\d{3})/m.exec(r.output);
  return m === null ? 0 : Number(m[1]);
}

export interface RegistrationView {
  readonly aor: string;
  readonly contacts: readonly { readonly contact: string; readonly user_agent: string | null }[];
}

export async function registrations(server: ServerProcess, aor: string): Promise<RegistrationView | null> {
  const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent(aor)}`);
  if (res.status !== 200) return null;
  return (await res.json()) as RegistrationView;
}

export async function metric(server: ServerProcess, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  const m = pattern.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** Error- and fatal-level lines (pino level >= 50) of the server's log file: a client must never cause one. */
export function errorLogLines(server: ServerProcess): string[] {
  const file = join(server.dir, 'siphon.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /"level":(5\d|6\d)\b/.test(l));
}

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A user agent on a UDP socket that answers every request with `status reason`, echoing the
 * headers §8.2.6.2 requires; records what it received. Stands for a registered phone.
 */
export interface ScriptedUa {
  readonly port: number;
  readonly received: string[];
  close(): Promise<void>;
}

export async function scriptedUa(status = 200, reason = 'OK'): Promise<ScriptedUa> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const received: string[] = [];
  sock.on('message', (m, rinfo) => {
    const text = m.toString('latin1');
    received.push(text);
    if (text.startsWith('SIP/2.0 ') || text.startsWith('ACK ')) return;
    const head = text.split('\r\n\r\n')[0].split('\r\n');
    const echo = head.filter((l) => /^(via|v|from|f|call-id|i|cseq|record-route):/i.test(l));
    const to = head.find((l) => /^(to|t):/i.test(l)) ?? '';
    const answer = [`SIP/2.0 ${status} ${reason}`, ...echo, /;\s*tag=/i.test(to) ? to : `${to};tag=ua${sock.address().port}`, 'Content-Length: 0', '', ''].join('\r\n');
    sock.send(Buffer.from(answer, 'latin1'), rinfo.port, rinfo.address);
  });
  return {
    port: sock.address().port,
    received,
    close: () => new Promise((r) => sock.close(() => r())),
  };
}
