/**
 * End-to-end (issue 5 must-shows): the REAL server process (dist/node/main.js, built with
 * `npx tsc -p .`) running the default script as registrar + record-routing stateful proxy, driven
 * by SIPp on 127.0.0.1. Scenarios: ../shared/bench/sipp (the benchmark kit, beside the repo) and
 * ./sipp (ours).
 */
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, sleep } from '../../helpers/eventually.js';
import { portsBound } from '../../helpers/port-bound.js';
import { REPO_ROOT, freePort, serverPerSuite, type ServerProcess } from '../../helpers/server-process.js';

const OURS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
const SHARED = join(REPO_ROOT, '..', 'shared', 'bench', 'sipp');

interface SippRun {
  readonly code: number | null;
  readonly output: string;
  readonly port: number;
}

interface SippOptions {
  readonly scenario: string;
  /** Remote server port (a UAC); omitted for a UAS that only listens. */
  readonly target?: number;
  readonly port?: number;
  readonly transport?: 'u1' | 't1';
  readonly user?: string;
  readonly calls?: number;
  readonly extra?: readonly string[];
  readonly timeoutMs?: number;
}

let runSeq = 0;

/** Runs one sipp to completion (bounded); the exit code is 0 only if every call succeeded. */
async function sipp(dir: string, o: SippOptions): Promise<SippRun> {
  const port = o.port ?? (await freePort());
  const n = ++runSeq;
  const args: string[] = [];
  if (o.target !== undefined) args.push(`127.0.0.1:${o.target}`);
  args.push('-sf', o.scenario, '-i', '127.0.0.1', '-p', String(port), '-t', o.transport ?? 'u1', '-m', String(o.calls ?? 1));
  if (o.user !== undefined) {
    const csv = join(dir, `users-${n}.csv`);
    writeFileSync(csv, `SEQUENTIAL\n${o.user};\n`);
    args.push('-inf', csv);
  }
  args.push('-nostdin', '-timeout', '15s', '-timeout_error', '-trace_err', '-error_file', join(dir, `sipp-${n}-errors.log`), ...(o.extra ?? []));
  return new Promise((resolve) => {
    const child = spawnTracked('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 25_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let errors = '';
      try {
        errors = readFileSync(join(dir, `sipp-${n}-errors.log`), 'utf8');
      } catch {
        // no error file: no errors
      }
      resolve({ code, output: code === 0 ? '' : `${output.slice(-1500)}\n${errors.slice(-2500)}`, port });
    });
  });
}

/** A listening UAS sipp; `done` resolves when it exits. */
function uas(dir: string, o: SippOptions & { port: number }): { done: Promise<SippRun> } {
  return { done: sipp(dir, o) };
}

async function register(server: ServerProcess, user: string, port: number, transport: 'u1' | 't1' = 'u1'): Promise<SippRun> {
  return sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: server.sipPort, port, transport, user });
}

async function admin(server: ServerProcess, path: string, method = 'GET'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${server.adminPort}${path}`, { method });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface ContactJson {
  readonly contact: string;
  readonly expires: number;
  readonly flow: { readonly transport: string } | null;
}

async function contactsOf(server: ServerProcess, aor: string): Promise<ContactJson[] | null> {
  const r = await admin(server, `/admin/registrations/${encodeURIComponent(aor)}`);
  return r.status === 200 ? (r.json.contacts as ContactJson[]) : null;
}

const ok = (r: SippRun) => ({ code: r.code, output: r.output });
const PASSED = { code: 0, output: '' };

describe('registrar + proxy (default script, no auth)', () => {
  const server = serverPerSuite();

  test('REGISTER over UDP is stored and visible in /admin/registrations', async () => {
    const r = await register(server, 'alice', await freePort(), 'u1');
    expect(ok(r)).toEqual(PASSED);
    const contacts = await contactsOf(server, 'alice@127.0.0.1');
    expect(contacts).toHaveLength(1);
    expect(contacts?.[0].contact).toBe(`sip:alice@127.0.0.1:${r.port};transport=UDP`);
    expect(contacts?.[0].flow?.transport).toBe('udp');
    const all = await admin(server, '/admin/registrations');
    expect(all.status).toBe(200);
    expect((all.json.registrations as { aor: string }[]).map((x) => x.aor)).toContain('sip:alice@127.0.0.1');
  }, 30_000);

  test('REGISTER over TCP is answered on the connection and stored with a TCP flow', async () => {
    const r = await register(server, 'tina', await freePort(), 't1');
    expect(ok(r)).toEqual(PASSED);
    const contacts = await contactsOf(server, 'tina@127.0.0.1');
    expect(contacts?.[0].contact).toBe(`sip:tina@127.0.0.1:${r.port};transport=TCP`);
    expect(contacts?.[0].flow?.transport).toBe('tcp');
  }, 30_000);

  test('a call INVITE/180/200/ACK/BYE goes through the proxy to the registered callee', async () => {
    const answered = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      return Number(/^siphon_request_duration_seconds_count (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    const before = await answered();
    const uasPort = await freePort();
    expect(ok(await register(server, 'bob', uasPort))).toEqual(PASSED);
    const callee = uas(server.dir, { scenario: join(SHARED, 'uas.xml'), port: uasPort });
    await portsBound('udp', [uasPort]);
    const caller = await sipp(server.dir, { scenario: join(SHARED, 'uac.xml'), target: server.sipPort, user: 'bob' });
    expect(ok(caller)).toEqual(PASSED);
    expect(ok(await callee.done)).toEqual(PASSED);
    const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/siphon_dialogs_active 0/); // confirmed by the 200, ended by the BYE's 200
    expect(metrics).toMatch(/siphon_registrations_active [1-9]/);
    expect(metrics).toMatch(/siphon_transactions_active \d+/);
    // Answered server transactions, whoever answered: the REGISTER (registrar), the INVITE and the BYE (relayed).
    expect((await answered()) - before).toBe(3);
  }, 40_000);

  test('CANCEL while ringing: caller gets 487, the callee gets a CANCEL on the INVITE branch', async () => {
    const uasPort = await freePort();
    expect(ok(await register(server, 'carl', uasPort))).toEqual(PASSED);
    const trace = join(server.dir, 'uas-cancel-messages.log');
    const callee = uas(server.dir, {
      scenario: join(OURS, 'uas-cancel.xml'),
      port: uasPort,
      extra: ['-trace_msg', '-message_file', trace],
    });
    await portsBound('udp', [uasPort]);
    const caller = await sipp(server.dir, { scenario: join(OURS, 'uac-cancel.xml'), target: server.sipPort, user: 'carl' });
    expect(ok(caller)).toEqual(PASSED);
    expect(ok(await callee.done)).toEqual(PASSED);
    // §9.1/§16.10: the CANCEL (and the ACK for the 487, §17.1.1.3) carry the INVITE's top Via branch.
    const log = readFileSync(trace, 'utf8');
    const topBranch = (method: string): string | undefined => {
      const m = new RegExp(`^${method} [^\\r\\n]*\\r?\\n(?:[^\\r\\n]+\\r?\\n)*?Via: [^\\r\\n]*?branch=([^;,\\s]+)`, 'm').exec(log);
      return m?.[1];
    };
    const invite = topBranch('INVITE');
    expect(invite).toMatch(/^z9hG4bK/);
    expect(topBranch('CANCEL')).toBe(invite);
    expect(topBranch('ACK')).toBe(invite);
  }, 40_000);

  test('parallel fork: one contact answers 486, the other 200; the caller gets the 200', async () => {
    const busyPort = await freePort();
    const answerPort = await freePort();
    expect(ok(await register(server, 'erin', busyPort))).toEqual(PASSED);
    expect(ok(await register(server, 'erin', answerPort))).toEqual(PASSED);
    expect(await contactsOf(server, 'erin@127.0.0.1')).toHaveLength(2);
    const busy = uas(server.dir, { scenario: join(OURS, 'uas-busy.xml'), port: busyPort });
    const answer = uas(server.dir, { scenario: join(OURS, 'uas-answer-late.xml'), port: answerPort });
    await portsBound('udp', [busyPort, answerPort]);
    const caller = await sipp(server.dir, { scenario: join(SHARED, 'uac.xml'), target: server.sipPort, user: 'erin' });
    expect(ok(caller)).toEqual(PASSED);
    expect(ok(await busy.done)).toEqual(PASSED);
    expect(ok(await answer.done)).toEqual(PASSED);
  }, 40_000);

  test('re-registration refresh and Expires: 0 removal show in /admin/registrations', async () => {
    const run = sipp(server.dir, { scenario: join(OURS, 'register-refresh.xml'), target: server.sipPort, user: 'frank' });
    const aor = 'frank@127.0.0.1';
    const first = await eventually('registered', () => contactsOf(server, aor), (c) => c !== null && c[0].expires > 300);
    expect(first?.[0].expires).toBeGreaterThan(3500);
    const refreshed = await eventually('refreshed', () => contactsOf(server, aor), (c) => c !== null && c[0].expires <= 300);
    expect(refreshed).toHaveLength(1);
    expect(refreshed?.[0].contact).toBe(first?.[0].contact);
    await eventually('removed', () => contactsOf(server, aor), (c) => c === null);
    expect(ok(await run)).toEqual(PASSED);
    expect((await admin(server, `/admin/registrations/${encodeURIComponent(aor)}`)).status).toBe(404);
  }, 30_000);

  test('DELETE /admin/registrations/:aor removes the bindings', async () => {
    expect(ok(await register(server, 'gina', await freePort()))).toEqual(PASSED);
    const del = await admin(server, `/admin/registrations/${encodeURIComponent('gina@127.0.0.1')}`, 'DELETE');
    expect(del).toEqual({ status: 200, json: { aor: 'sip:gina@127.0.0.1', removed: 1 } });
    expect(await contactsOf(server, 'gina@127.0.0.1')).toBeNull();
  }, 30_000);
});

describe('registrar with digest authentication (auth.backend static)', () => {
  const server = serverPerSuite({ config: { auth: { realm: 'e2e.test', users: [{ username: 'dave', password: 's3cret' }] } } });

  test('REGISTER without credentials gets 401; the retry with them gets 200 and is stored', async () => {
    const r = await sipp(server.dir, {
      scenario: join(OURS, 'register-auth.xml'),
      target: server.sipPort,
      user: 'dave',
      extra: ['-au', 'dave', '-ap', 's3cret'],
    });
    expect(ok(r)).toEqual(PASSED);
    expect(await contactsOf(server, 'dave@127.0.0.1')).toHaveLength(1);
  }, 30_000);

  test('a wrong password is challenged again and nothing is stored', async () => {
    const r = await sipp(server.dir, {
      scenario: join(OURS, 'register-auth.xml'),
      target: server.sipPort,
      user: 'dave2',
      extra: ['-au', 'dave', '-ap', 'wrong'],
    });
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/SIP\/2\.0 401/);
    expect(await contactsOf(server, 'dave2@127.0.0.1')).toBeNull();
  }, 30_000);
});
