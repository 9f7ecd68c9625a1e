/**
 * SIPp over TCP under load against the REAL server (dist/, `npx tsc -p .`): one connection for
 * everything (`-t t1`) and one connection per call (`-t tn`), REGISTER and calls through the
 * proxy to a SIPp UAS over TCP and over UDP; then more connections than `ulimit -n` allows.
 * RFC 3261 §18.2.2: a response goes back over the request's connection; requests to a peer reuse
 * the open connection to it; Via gets received/rport (RFC 3581 §4).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { eventually } from '../../helpers/eventually.js';
import { portsBound } from '../../helpers/port-bound.js';
import { freePort, serverPerSuite, type ServerProcess } from '../../helpers/server-process.js';
import {
  OURS,
  PASSED,
  SHARED,
  TCP_CONNECTIONS,
  TCP_REFUSED,
  errorLines,
  healthStatus,
  logLines,
  metric,
  metricsText,
  openDescriptors,
  sampler,
  sipp,
  startServerWithFileLimit,
  verdict,
  type SippTransport,
} from './chain-harness.js';

const users = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

async function tcpConnections(server: ServerProcess): Promise<number> {
  return metric(await metricsText(server.adminPort), TCP_CONNECTIONS);
}

/** Registers `user` from `port` (so the UAS sipp on that port is its contact), then runs `calls` calls at `rate`/s. */
async function callsThroughProxy(server: ServerProcess, user: string, uacTransport: SippTransport, uasTransport: 'u1' | 't1', rate: number, calls: number) {
  const uasPort = await freePort();
  const reg = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${server.sipPort}`, port: uasPort, transport: uasTransport, users: [user] });
  expect(verdict(reg)).toEqual(PASSED);
  // the registering sipp's connection closes with it: what is sampled below is the calls' own
  await eventually('registration connection closed', () => tcpConnections(server), (n) => n === 0);
  // -nr on a UDP callee: when a loaded box holds the ACK past its T1, the callee retransmits its 200;
  // we forward that to the TCP caller (§13.3.1.4, RFC 6026 Accepted), and SIPp's TCP UAC aborts on it
  // (assertion in call::process_incoming, seen once in a CI dry run). This test is about connections.
  const callee = sipp(server.dir, {
    scenario: join(SHARED, 'uas.xml'), port: uasPort, transport: uasTransport, calls, traceMessages: true, timeoutSecs: 20,
    extra: uasTransport === 'u1' ? ['-nr'] : [],
  });
  await portsBound(uasTransport === 't1' ? 'tcp' : 'udp', [uasPort]);
  const connections = sampler(() => tcpConnections(server));
  const caller = await sipp(server.dir, {
    scenario: join(SHARED, 'uac.xml'),
    target: `127.0.0.1:${server.sipPort}`,
    transport: uacTransport,
    users: [user],
    calls,
    rate,
    timeoutSecs: 20,
  });
  const uas = await callee;
  return { caller, uas, connections: await connections.stop() };
}

/** Distinct rport values the proxy stamped in the caller's Via (2nd) of every INVITE the callee got. */
function callerSourcePorts(messagesFile: string): Set<string> {
  const ports = new Set<string>();
  for (const invite of readFileSync(messagesFile, 'utf8').split('INVITE sip:').slice(1)) {
    const vias = invite.slice(0, invite.indexOf('\n\n')).split('\n').filter((l) => /^Via:/i.test(l));
    const rport = /;rport=(\d+)/.exec(vias[1] ?? '')?.[1];
    if (rport !== undefined) ports.add(rport);
  }
  return ports;
}

/** The Via headers of the first INVITE in a sipp -trace_msg file, top first. */
function firstInviteVias(messagesFile: string): string[] {
  const text = readFileSync(messagesFile, 'utf8');
  const start = text.indexOf('INVITE sip:');
  const end = text.indexOf('\n\n', start);
  const head = text.slice(start, end > start ? end : undefined);
  return head.split('\n').filter((l) => /^Via:/i.test(l));
}

describe('SIPp over TCP under load', () => {
  const server = serverPerSuite();

  test('REGISTER at 400/s over one connection (t1) and over a connection per REGISTER (tn): all 200, connections back to 0', async () => {
    const one = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${server.sipPort}`, transport: 't1', users: users('one', 1200), calls: 1200, rate: 400 });
    expect(verdict(one)).toEqual(PASSED);
    expect(one.stats).toMatchObject({ created: 1200, succeeded: 1200, failed: 0 });
    const each = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${server.sipPort}`, transport: 'tn', users: users('each', 1200), calls: 1200, rate: 400 });
    expect(verdict(each)).toEqual(PASSED);
    expect(each.stats).toMatchObject({ created: 1200, succeeded: 1200, failed: 0 });
    await eventually('TCP connections closed', () => tcpConnections(server), (n) => n === 0);
    const m = await metricsText(server.adminPort);
    expect(metric(m, 'siphon_registrations_active')).toBeGreaterThanOrEqual(2400);
  }, 30_000);

  test('calls at 300/s, caller over one TCP connection, callee over TCP: every call passes over two reused connections, Via carries received/rport', async () => {
    const run = await callsThroughProxy(server, 'tcpcallee', 't1', 't1', 300, 900);
    expect(verdict(run.caller)).toEqual(PASSED);
    expect(verdict(run.uas)).toEqual(PASSED);
    expect(run.caller.stats).toMatchObject({ created: 900, succeeded: 900, failed: 0 });
    // one caller connection in, one connection out to the callee, reused by all 900 calls
    expect(Math.max(...run.connections)).toBeLessThanOrEqual(2);
    const vias = firstInviteVias(run.uas.messages ?? '');
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(new RegExp(`^Via: SIP/2\\.0/TCP 127\\.0\\.0\\.1:${server.sipPort};branch=z9hG4bK`));
    // RFC 3581 §4: the request came with an empty rport, so both received and rport are filled
    expect(vias[1]).toMatch(new RegExp(`^Via: SIP/2\\.0/TCP 127\\.0\\.0\\.1:${run.caller.port};.*received=127\\.0\\.0\\.1`));
    expect(vias[1]).toMatch(/;rport=\d+/);
    // every INVITE came over the caller's one connection (one source port)
    expect(callerSourcePorts(run.uas.messages ?? '').size).toBe(1);
    await eventually('TCP connections closed', () => tcpConnections(server), (n) => n === 0);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
  }, 30_000);

  test('calls at 300/s with a TCP connection per call (tn) to a TCP callee, then to a UDP callee', async () => {
    const tcp = await callsThroughProxy(server, 'tncallee', 'tn', 't1', 300, 900);
    expect(verdict(tcp.caller)).toEqual(PASSED);
    expect(verdict(tcp.uas)).toEqual(PASSED);
    expect(tcp.caller.stats).toMatchObject({ created: 900, succeeded: 900, failed: 0 });
    // tn: each call's connection has its own source port, which rport records (RFC 3581 §4),
    // and each response went back over its call's connection (else sipp fails the call)
    const ports = callerSourcePorts(tcp.uas.messages ?? '');
    expect(ports.size).toBeGreaterThan(450);
    expect(ports.has(String(tcp.caller.port))).toBe(false);
    const udp = await callsThroughProxy(server, 'udpcallee', 'tn', 'u1', 300, 900);
    expect(verdict(udp.caller)).toEqual(PASSED);
    expect(verdict(udp.uas)).toEqual(PASSED);
    expect(udp.caller.stats).toMatchObject({ created: 900, succeeded: 900, failed: 0 });
    await eventually('TCP connections closed', () => tcpConnections(server), (n) => n === 0);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
    expect(errorLines(server)).toEqual([]);
  }, 30_000);
});

describe('the callee hangs up: its BYE reaches a TCP caller through the proxy', () => {
  const server = serverPerSuite();

  test.each(['t1', 'tn'] as const)('caller over %s, callee over TCP: 20 calls, each ended by the callee', async (transport) => {
    const uasPort = await freePort();
    const user = `hangup-${transport}`;
    const reg = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${server.sipPort}`, port: uasPort, transport: 't1', users: [user] });
    expect(verdict(reg)).toEqual(PASSED);
    const callee = sipp(server.dir, { scenario: join(OURS, 'uas-hangs-up.xml'), port: uasPort, transport: 't1', calls: 20 });
    await portsBound('tcp', [uasPort]);
    const caller = await sipp(server.dir, { scenario: join(OURS, 'uac-callee-hangs-up.xml'), target: `127.0.0.1:${server.sipPort}`, transport, users: [user], calls: 20, rate: 20 });
    expect(verdict(caller)).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);
    expect(caller.stats).toMatchObject({ succeeded: 20, failed: 0 });
    await eventually('dialogs ended', async () => metric(await metricsText(server.adminPort), 'siphon_dialogs_active'), (n) => n === 0);
    expect(errorLines(server)).toEqual([]);
  }, 25_000);
});

describe('more TCP connections than the open-file limit', () => {
  const OPEN_FILES = 256;
  const IDLE_SECS = 5;
  let server: ServerProcess | undefined;
  const held: Socket[] = [];

  afterAll(async () => {
    for (const s of held) s.destroy();
    if (server !== undefined) expect(await server.stop()).toBe(0);
  });

  test('ulimit -n 256 and 400 connections: the surplus is refused at accept, health and calls go on, idle connections close, then TCP serves again', async () => {
    server = await startServerWithFileLimit(OPEN_FILES, { transport: { tcp_idle_timeout_secs: IDLE_SECS } });
    const s = server;
    // the callee registers over TCP before the flood; the proxy must still open a connection to it
    const uasPort = await freePort();
    const reg = await sipp(s.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${s.sipPort}`, port: uasPort, transport: 't1', users: ['floodcallee'] });
    expect(verdict(reg)).toEqual(PASSED);

    // the registration's connection is gone before the flood, so the counts below are the flood's
    await eventually('registration connection closed', () => tcpConnections(s), (n) => n === 0);
    let connected = 0;
    for (let i = 0; i < 400; i++) {
      const c = connect(s.sipPort, '127.0.0.1');
      c.on('connect', () => void connected++);
      c.on('error', () => undefined);
      held.push(c);
    }
    await eventually('all 400 connected', async () => connected, (n) => n === 400);
    // The counter has no sample until the first refusal (absent: NaN): none yet counts as 0.
    const refusedBefore = metric(await metricsText(s.adminPort), TCP_REFUSED) || 0;
    const m = await eventually('the surplus refused', () => metricsText(s.adminPort), (t) => metric(t, TCP_CONNECTIONS) + metric(t, TCP_REFUSED) >= 400);
    // the inbound cap (256 less a reserve of 64) holds; the descriptors left serve everything else
    expect(metric(m, TCP_CONNECTIONS)).toBe(192);
    expect(metric(m, TCP_REFUSED)).toBe(208);
    expect(refusedBefore).toBeLessThanOrEqual(208);
    expect(openDescriptors(s.pid)).toBeLessThan(OPEN_FILES);
    expect(await healthStatus(s.adminPort)).toBe(200);

    // a UDP caller reaches the TCP callee: the proxy opens an outbound connection from the reserve
    const callee = sipp(s.dir, { scenario: join(SHARED, 'uas.xml'), port: uasPort, transport: 't1', calls: 20 });
    await portsBound('tcp', [uasPort]);
    const caller = await sipp(s.dir, { scenario: join(SHARED, 'uac.xml'), target: `127.0.0.1:${s.sipPort}`, transport: 'u1', users: ['floodcallee'], calls: 20, rate: 50 });
    expect(verdict(caller)).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);

    // the held connections say nothing: the idle timeout closes them, without the clients' help
    await eventually('idle connections closed', () => metricsText(s.adminPort), (t) => metric(t, TCP_CONNECTIONS) === 0, (IDLE_SECS + 4) * 1000);
    const again = await sipp(s.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${s.sipPort}`, transport: 'tn', users: users('after', 300), calls: 300, rate: 300 });
    expect(verdict(again)).toEqual(PASSED);
    expect(again.stats).toMatchObject({ succeeded: 300, failed: 0 });
    expect(await healthStatus(s.adminPort)).toBe(200);

    // no error per refused connection: one warning for the cap at start-up, one (rate-limited) for the refusals
    expect(errorLines(s)).toEqual([]);
    const warnings = logLines(s).filter((l) => l.level === 40);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings.map((w) => w.msg)).toEqual(
      expect.arrayContaining([expect.stringContaining('tcp_max_connections exceeds'), expect.stringContaining('TCP connections refused')]),
    );
  }, 30_000);
});
