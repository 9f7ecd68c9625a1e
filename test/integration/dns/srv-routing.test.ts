/**
 * RFC 3263 on the REAL server (dist/node/main.js) against a REAL DNS server (dnsmasq on 127.0.0.1,
 * a random port, stopped by PID): a next hop named without a port is located by SRV and reaches
 * the SIPp UAS on the SRV target's port; with neither port nor transport NAPTR picks the transport
 * and SRV name first; a 503 from one SRV target sends the request on to the next (§4.3); with an
 * explicit port only the A record is used; a name
 * with no records is answered 5xx at once (the transport error path, §16.9), not 408 after Timer B.
 * The node asks dnsmasq through the `dns.servers` config key.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { portsBound } from '../../helpers/port-bound.js';
import { freePort, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';
import { runSipp, type SippRun } from '../../helpers/sipp-run.js';
import { spawnTracked } from '../../helpers/tracked-spawn.js';

const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'sipp');

const dnsmasqInstalled = spawnSync('sh', ['-c', 'command -v dnsmasq'], { stdio: 'ignore' }).status === 0;

let dir: string;
let dns: ChildProcess | null = null;
let server: ServerProcess | null = null;
let uac: UdpClient;
/** The SRV target's port (`_sip._udp.example.test` and `_sip._udp.edge.example.test`). */
let srvPort: number;
/** Where `sip:...@example.test:PORT` (A record only) must go. */
let explicitPort: number;
/** `_sip._tcp.example.test`'s target port, and a port nothing listens on (the first failover target). */
let tcpSrvPort: number;
let deadPort: number;
/** `_sip._udp.unavailable.example.test`'s first target, answering 503 (the second is srvPort). */
let unavailablePort: number;

async function startDnsmasq(port: number): Promise<ChildProcess> {
  const child = spawnTracked(
    'dnsmasq',
    [
      '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
      '--conf-file=/dev/null', `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--local=/example.test/', '--local-ttl=60',
      `--srv-host=_sip._udp.example.test,target.example.test,${srvPort},0,10`,
      `--srv-host=_sip._udp.edge.example.test,target.example.test,${srvPort},0,10`,
      `--srv-host=_sip._tcp.example.test,target.example.test,${tcpSrvPort},0,10`,
      // §4.3: the priority-10 target refuses the connect, the priority-20 one answers.
      `--srv-host=_sip._tcp.failover.example.test,target.example.test,${deadPort},10,10`,
      `--srv-host=_sip._tcp.failover.example.test,target.example.test,${tcpSrvPort},20,10`,
      // §4.1: NAPTR prefers TCP (order 10) over UDP (order 20), each through its own SRV name.
      `--naptr-record=naptr.example.test,10,10,s,SIP+D2T,,_sip._tcp.naptr-pool.example.test`,
      `--naptr-record=naptr.example.test,20,10,s,SIP+D2U,,_sip._udp.naptr-pool.example.test`,
      `--srv-host=_sip._tcp.naptr-pool.example.test,target.example.test,${tcpSrvPort},0,10`,
      `--srv-host=_sip._udp.naptr-pool.example.test,target.example.test,${srvPort},0,10`,
      // §4.3: the priority-10 target answers 503, the priority-20 one is reached next.
      `--srv-host=_sip._udp.unavailable.example.test,target.example.test,${unavailablePort},10,10`,
      `--srv-host=_sip._udp.unavailable.example.test,target.example.test,${srvPort},20,10`,
      '--host-record=target.example.test,127.0.0.1',
      '--host-record=example.test,127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`dnsmasq exited ${code}: ${err}`))));
  await Promise.race([portsBound('udp', [port]), exited]);
  return child;
}

beforeAll(async () => {
  if (!dnsmasqInstalled) throw new Error('dnsmasq is not installed (Debian package dnsmasq-base)');
  dir = mkdtempSync(join(tmpdir(), 'siphon-dns-'));
  srvPort = await freePort();
  explicitPort = await freePort();
  tcpSrvPort = await freePort();
  deadPort = await freePort();
  unavailablePort = await freePort();
  const dnsPort = await freePort();
  dns = await startDnsmasq(dnsPort);
  // Relays every request to its Route / Request-URI: the next hop is whatever the test names.
  const script = join(dir, 'relay.mjs');
  writeFileSync(script, 'export default function register(api) {\n  api.proxy.onRequest((request) => request.relay());\n}\n');
  server = await startServer({ config: { script: { path: script }, dns: { servers: [`127.0.0.1:${dnsPort}`] } } });
  uac = await udpClient();
}, 30_000);

afterAll(async () => {
  await uac?.close();
  if (server !== null) expect(await server.stop()).toBe(0);
  if (dns !== null && dns.exitCode === null) {
    const gone = new Promise((r) => dns?.once('exit', r));
    if (dns.pid !== undefined) process.kill(dns.pid, 'SIGTERM');
    await gone;
  }
});

let seq = 0;

function invite(ruri: string, route?: string): { text: string; branch: string; callId: string; tag: string } {
  const n = ++seq;
  const branch = `z9hG4bK-dns${n}-${Date.now()}`;
  const callId = `dns-${n}-${Date.now()}@test`;
  const tag = `caller${n}`;
  const text =
    `INVITE ${ruri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=${branch};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    (route === undefined ? '' : `Route: ${route}\r\n`) +
    `From: <sip:alice@127.0.0.1>;tag=${tag}\r\n` +
    `To: <${ruri}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 INVITE\r\n` +
    `Contact: <sip:alice@127.0.0.1:${uac.port}>\r\n` +
    'Content-Length: 0\r\n\r\n';
  return { text, branch, callId, tag };
}

/** RFC 3261 §17.1.1.3: the ACK for a non-2xx final, in the INVITE's transaction (same branch). */
function ackFor(inv: { text: string; branch: string }, final: string): string {
  const ruri = inv.text.slice(7, inv.text.indexOf(' SIP/2.0'));
  return (
    `ACK ${ruri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=${inv.branch};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    (headerOf(inv.text, 'Route') === undefined ? '' : `Route: ${headerOf(inv.text, 'Route')}\r\n`) +
    `From: ${headerOf(final, 'From')}\r\nTo: ${headerOf(final, 'To')}\r\nCall-ID: ${headerOf(final, 'Call-ID')}\r\n` +
    'CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n'
  );
}

/** Sends the INVITE and returns its first final response (ACKed), with the time it took. */
async function call(ruri: string, route?: string): Promise<{ final: string; ms: number }> {
  const inv = invite(ruri, route);
  const start = Date.now();
  uac.send(inv.text, server?.sipPort ?? 0);
  for (;;) {
    const msg = await uac.next(10_000);
    if (headerOf(msg, 'Call-ID') !== inv.callId) continue;
    const status = statusOf(msg);
    if (status >= 200) {
      uac.send(ackFor(inv, msg), server?.sipPort ?? 0);
      return { final: msg, ms: Date.now() - start };
    }
  }
}

/** A SIPp UAS answering `calls` INVITEs 486 with its port in the reason phrase. */
function busyUas(port: number, calls: number, transport: 'u1' | 't1' = 'u1'): Promise<SippRun> {
  return runSipp(dir, { scenario: join(SCENARIOS, 'uas-busy-port.xml'), port, calls, transport, timeoutSecs: 20 });
}

/** The callee answered: 486 "Busy at PORT" from the expected port. */
function expectBusyAt(final: string, port: number): void {
  expect(statusOf(final)).toBe(486);
  expect(final).toContain(`Busy at ${port}`);
}

/** Every SIPp of the test ran its calls as scripted. */
async function expectPassed(...runs: Promise<SippRun>[]): Promise<void> {
  for (const run of await Promise.all(runs)) expect({ code: run.code, output: run.output }).toEqual({ code: 0, output: '' });
}

test('a Request-URI naming example.test without a port reaches the UAS on the SRV target port; a Route naming a host without a port too', async () => {
  const uas = busyUas(srvPort, 2);
  await portsBound('udp', [srvPort]);
  expectBusyAt((await call('sip:bob@example.test')).final, srvPort);
  expectBusyAt((await call('sip:bob@192.0.2.1', '<sip:edge.example.test;lr>')).final, srvPort);
  await expectPassed(uas);
}, 30_000);

test('with an explicit port the SRV record is not used: the A record at that port', async () => {
  const uas = busyUas(explicitPort, 1);
  await portsBound('udp', [explicitPort]);
  expectBusyAt((await call(`sip:bob@example.test:${explicitPort}`)).final, explicitPort);
  await expectPassed(uas);
}, 30_000);

test('transport=tcp asks _sip._tcp; a refused connect to the first SRV target fails over to the next (§4.3)', async () => {
  const uas = busyUas(tcpSrvPort, 2, 't1');
  await portsBound('tcp', [tcpSrvPort]);
  expectBusyAt((await call('sip:bob@example.test;transport=tcp')).final, tcpSrvPort);
  expectBusyAt((await call('sip:bob@failover.example.test;transport=tcp')).final, tcpSrvPort);
  await expectPassed(uas);
}, 30_000);

test('no transport and no port: NAPTR chooses TCP and its SRV name, and the request arrives over TCP (§4.1)', async () => {
  const uas = busyUas(tcpSrvPort, 1, 't1');
  await portsBound('tcp', [tcpSrvPort]);
  expectBusyAt((await call('sip:bob@naptr.example.test')).final, tcpSrvPort);
  await expectPassed(uas);
}, 30_000);

test('a 503 from the first SRV target sends the INVITE on to the next one, and the caller sees only its answer (§4.3)', async () => {
  const unavailable = runSipp(dir, { scenario: join(SCENARIOS, 'uas-unavailable.xml'), port: unavailablePort, calls: 1, transport: 'u1', timeoutSecs: 20 });
  const busy = busyUas(srvPort, 1);
  await portsBound('udp', [unavailablePort, srvPort]);
  expectBusyAt((await call('sip:bob@unavailable.example.test;transport=udp')).final, srvPort);
  await expectPassed(unavailable, busy);
}, 30_000);

test('a name with no records: the caller gets a 5xx at once, not a 408 after Timer B', async () => {
  const r = await call('sip:bob@nothing.example.test');
  const status = statusOf(r.final);
  expect(status).toBeGreaterThanOrEqual(500);
  expect(status).toBeLessThan(600);
  expect(r.ms).toBeLessThan(3000);
  // Cached negative answer: the second attempt is answered the same way.
  const again = await call('sip:bob@nothing.example.test:5070');
  expect(statusOf(again.final)).toBe(status);
}, 20_000);
