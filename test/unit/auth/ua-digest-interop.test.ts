/**
 * Interop: SIPp ([authentication]) and baresip digest implementations against our challenge/verify, over
 * real UDP on 127.0.0.1, through the registrar's handleRegister path.
 */
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { freePort } from '../../helpers/server-process.js';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '../../../node/auth/index.js';
import { DEFAULT_REGISTRAR_SETTINGS, MemoryBindingStore, Registrar, handleRegister } from '../../../node/registrar/index.js';
import { parseMessage, serialize, SipRequest } from '../../../node/sip/index.js';

const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register-digest">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:alice@example.com>;tag=[pid]SIPpTag00[call_number]
      To: <sip:alice@example.com>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:alice@[local_ip]:[local_port]>
      Expires: 600
      Content-Length: 0
    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:alice@example.com>;tag=[pid]SIPpTag00[call_number]
      To: <sip:alice@example.com>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:alice@[local_ip]:[local_port]>
      [authentication username=alice password=PASSWORD]
      Expires: 600
      Content-Length: 0
    ]]>
  </send>
  <recv response="RESULT"/>
</scenario>
`;

interface Harness {
  socket: Socket;
  port: number;
  registrar: Registrar;
  statuses: number[];
  authorizations: string[];
}

async function startRegistrar(algorithms: Array<'MD5' | 'SHA-256'>): Promise<Harness> {
  const auth = createAuthenticator({
    backend: 'static',
    realm: 'example.com',
    algorithms,
    nonce_secret: 'interop',
    nonce_ttl_secs: 300,
    users: [{ username: 'alice', password: 'wonderland', ha1: null, realm: null }],
    http: { url: null, cache_ttl_secs: 0, timeout_ms: 1000 },
  });
  const registrar = new Registrar(new MemoryBindingStore(), { ...DEFAULT_REGISTRAR_SETTINGS, enforceAuthAorMatch: true });
  const socket = createSocket('udp4');
  const statuses: number[] = [];
  const authorizations: string[] = [];
  socket.on('message', (buf, rinfo) => {
    let msg: unknown;
    try {
      msg = parseMessage(buf);
    } catch {
      return;
    }
    if (!(msg instanceof SipRequest) || msg.method !== 'REGISTER') return;
    authorizations.push(...msg.headers.getLines('Authorization'));
    const source = { transport: 'udp', address: rinfo.address, port: rinfo.port, connectionId: null, localAddress: null };
    void handleRegister(registrar, msg, source, Date.now(), { auth, toTag: 'srv' }).then(({ response }) => {
      statuses.push(response.status);
      socket.send(serialize(response), rinfo.port, rinfo.address);
    });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, registrar, statuses, authorizations };
}

function runSipp(dir: string, port: number, password: string, expect: number): Promise<number> {
  const file = join(dir, `register-${expect}.xml`);
  writeFileSync(file, SCENARIO.replace('PASSWORD', password).replace('RESULT', String(expect)));
  const localPort = 20000 + Math.floor(Math.random() * 40000);
  return new Promise((resolve) => {
    const p = spawnTracked('sipp', [`127.0.0.1:${port}`, '-sf', file, '-m', '1', '-i', '127.0.0.1', '-p', String(localPort), '-timeout', '10', '-timeout_error', '-nostdin'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const killer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code ?? -1);
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'siphon-sipp-auth-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('SIPp answers our MD5 challenge and registers', async () => {
  const h = await startRegistrar(['MD5']);
  try {
    expect(await runSipp(dir, h.port, 'wonderland', 200)).toBe(0);
    expect(h.statuses).toEqual([401, 200]);
    expect(h.authorizations).toHaveLength(1);
    expect(h.authorizations[0]).toMatch(/^Digest /);
    expect(h.registrar.lookup('sip:alice@example.com', Date.now())).toHaveLength(1);
  } finally {
    h.socket.close();
  }
});

test('SIPp with a wrong password is challenged again', async () => {
  const h = await startRegistrar(['MD5']);
  try {
    expect(await runSipp(dir, h.port, 'not-the-password', 401)).toBe(0);
    expect(h.statuses).toEqual([401, 401]);
    expect(h.registrar.lookup('sip:alice@example.com', Date.now())).toHaveLength(0);
  } finally {
    h.socket.close();
  }
});

test('baresip (a real UA) answers our MD5 challenge and registers', async () => {
  const h = await startRegistrar(['MD5']);
  const cfg = mkdtempSync(join(tmpdir(), 'siphon-baresip-'));
  try {
    // Not a random 20000-59999 port: one in use (most of that range is ephemeral) leaves baresip unbound, never registering.
    const sipPort = await freePort();
    writeFileSync(join(cfg, 'config'), `sip_listen\t127.0.0.1:${sipPort}\nmodule_path\t/usr/lib/baresip/modules\nmodule\taccount.so\n`);
    // To/From AoR user "alice"; the registrar enforces auth user == AoR user.
    writeFileSync(join(cfg, 'accounts'), `<sip:alice@127.0.0.1:${h.port}>;auth_pass=wonderland;regint=600\n`);
    // Run baresip until our registrar has answered its credentialed REGISTER (bounded: 15 s), then
    // stop it — a fixed run time (-t) is too short when a busy CI box slows baresip's start-up.
    const p = spawnTracked('baresip', ['-f', cfg], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    while (!h.statuses.includes(200) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    p.kill('SIGTERM');
    const killer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
    expect(h.statuses.slice(0, 2)).toEqual([401, 200]);
    expect(h.authorizations[0]).toMatch(/qop=auth/);
  } finally {
    h.socket.close();
    rmSync(cfg, { recursive: true, force: true });
  }
});
