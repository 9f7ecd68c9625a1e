/**
 * Kamailio 5.6 (Debian `kamailio`) chained with the REAL server (dist/, `npx tsc -p .`), both on
 * 127.0.0.1 with SIPp at the ends:
 *  (a) SIPp UAC -> Kamailio edge (stateful, record-routes, adds Path) -> SIPhon (registrar + proxy)
 *      -> SIPp UAS registered with SIPhon;
 *  (b) SIPp UAC -> SIPhon -> Kamailio as the callee's proxy (./kamailio/callee-proxy.cfg) -> SIPp UAS.
 * Asserted: the SIPp scenarios pass, Record-Route/Route sets as RFC 3261 §16.6 item 4/§12.1.2
 * build them (the caller's Route is the Record-Route set as received; the callee sees it in
 * order), in-dialog BYE through both proxies, CANCEL on the INVITE's branch (§16.10), a 486
 * relayed, Path (RFC 3327) stored and used, UDP and TCP, digest challenges (401/407) answered
 * through Kamailio, and neither side logs an error.
 */
import { join } from 'node:path';
import { portsBound } from '../../helpers/port-bound.js';
import { freePort, serverPerSuite, type ServerProcess } from '../../helpers/server-process.js';
import {
  OURS,
  PASSED,
  SHARED,
  headerValues,
  metric,
  metricsText,
  sipp,
  startKamailio,
  stopKamailioCheckingLogs,
  traceHeaders,
  verdict,
  type Kamailio,
  type SippRun,
} from './chain-harness.js';

/** The SIPhon node serves 127.0.0.1 as a domain: Kamailio forwards Request-URIs naming itself. */
const NODE_CONFIG = { config: { proxy: { local_domains: ['127.0.0.1'] } } };

const nodeRr = (s: ServerProcess): string => `<sip:127.0.0.1:${s.sipPort};lr>`;
const kamRr = (k: Kamailio): RegExp => new RegExp(`^<sip:127\\.0\\.0\\.1:${k.port};lr;ftag=[^>]+>$`);

/** Registers `user` straight with SIPhon from `port`, where its UAS will listen. */
async function registerWithNode(server: ServerProcess, user: string, port: number): Promise<void> {
  const r = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${server.sipPort}`, port, users: [user] });
  expect(verdict(r)).toEqual(PASSED);
}

/** A UAS on `port` and a caller through `firstHop` for `user`; both traced. */
async function call(
  dir: string,
  firstHop: number,
  user: string,
  uasPort: number,
  uasScenario: string,
  uacScenario: string,
  transport: 'u1' | 't1' = 'u1',
): Promise<{ uac: SippRun; uas: SippRun }> {
  const uas = sipp(dir, { scenario: uasScenario, port: uasPort, transport, traceMessages: true });
  await portsBound(transport === 't1' ? 'tcp' : 'udp', [uasPort]);
  const uac = await sipp(dir, { scenario: uacScenario, target: `127.0.0.1:${firstHop}`, transport, users: [user], traceMessages: true });
  return { uac, uas: await uas };
}

/** Top Via branch of the first message starting with `startLine` in a trace. */
function topBranch(run: SippRun, startLine: string): string | undefined {
  return /branch=([^;,\s]+)/.exec(headerValues(traceHeaders(run.messages, startLine), 'Via')[0] ?? '')?.[1];
}

describe('(a) SIPp -> Kamailio edge -> SIPhon registrar/proxy -> SIPp', () => {
  const server = serverPerSuite(NODE_CONFIG);
  let kam: Kamailio;

  beforeAll(async () => {
    kam = await startKamailio('edge.cfg', await freePort(), { NODEPORT: server.sipPort });
  }, 20_000);

  afterAll(() => stopKamailioCheckingLogs(kam, server));

  test('a call INVITE/180/200/ACK/BYE: both proxies record-route, ACK and BYE follow the route set through both', async () => {
    const uasPort = await freePort();
    await registerWithNode(server, 'bob', uasPort);
    const { uac, uas } = await call(server.dir, kam.port, 'bob', uasPort, join(SHARED, 'uas.xml'), join(SHARED, 'uac.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    // the callee sees SIPhon's Record-Route above Kamailio's, and SIPhon's Via above Kamailio's
    const invite = traceHeaders(uas.messages, 'INVITE ');
    const rr = headerValues(invite, 'Record-Route');
    expect(rr).toHaveLength(2);
    expect(rr[0]).toBe(nodeRr(server));
    expect(rr[1]).toMatch(kamRr(kam));
    const vias = headerValues(invite, 'Via');
    expect(vias.map((v) => /^SIP\/2\.0\/UDP 127\.0\.0\.1:(\d+)/.exec(v)?.[1])).toEqual([String(server.sipPort), String(kam.port), String(uac.port)]);
    // the caller routes its ACK and BYE by the Record-Route set as received (§12.1.2): Kamailio, then SIPhon
    for (const method of ['ACK ', 'BYE ']) {
      const route = headerValues(traceHeaders(uac.messages, method), 'Route');
      expect(route).toHaveLength(2);
      expect(route[0]).toMatch(kamRr(kam));
      expect(route[1]).toBe(nodeRr(server));
    }
    // the BYE reached the callee through both proxies, each having consumed its own Route
    const bye = traceHeaders(uas.messages, 'BYE ');
    expect(headerValues(bye, 'Route')).toEqual([]);
    expect(headerValues(bye, 'Via')).toHaveLength(3);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
  }, 25_000);

  test('CANCEL while ringing: the caller gets 487 through Kamailio, the callee a CANCEL on the INVITE branch', async () => {
    const uasPort = await freePort();
    await registerWithNode(server, 'carl', uasPort);
    const { uac, uas } = await call(server.dir, kam.port, 'carl', uasPort, join(OURS, 'uas-cancel-two-proxies.xml'), join(OURS, 'uac-cancel.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    const invite = topBranch(uas, 'INVITE ');
    expect(invite).toMatch(/^z9hG4bK/);
    expect(topBranch(uas, 'CANCEL ')).toBe(invite);
    expect(topBranch(uas, 'ACK ')).toBe(invite);
  }, 25_000);

  test('a busy callee: 486 reaches the caller through both proxies, each ACKs hop by hop', async () => {
    const uasPort = await freePort();
    await registerWithNode(server, 'dora', uasPort);
    const { uac, uas } = await call(server.dir, kam.port, 'dora', uasPort, join(OURS, 'uas-busy.xml'), join(OURS, 'uac-busy.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    expect(traceHeaders(uac.messages, 'SIP/2.0 486')).not.toEqual([]);
  }, 25_000);

  test('REGISTER through Kamailio stores its Path (RFC 3327), and a call to that user is routed back through Kamailio', async () => {
    const uasPort = await freePort();
    const reg = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${kam.port}`, port: uasPort, users: ['pat'] });
    expect(verdict(reg)).toEqual(PASSED);
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent('pat@127.0.0.1')}`);
    const contacts = ((await res.json()) as { contacts: { contact: string; path: string[] }[] }).contacts;
    expect(contacts).toHaveLength(1);
    expect(contacts[0].contact).toBe(`sip:pat@127.0.0.1:${uasPort};transport=UDP`);
    expect(contacts[0].path).toEqual([`<sip:127.0.0.1:${kam.port};lr>`]);

    // caller -> Kamailio -> SIPhon -> (Route from Path) Kamailio -> callee
    const { uac, uas } = await call(server.dir, kam.port, 'pat', uasPort, join(SHARED, 'uas.xml'), join(SHARED, 'uac.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    const rr = headerValues(traceHeaders(uas.messages, 'INVITE '), 'Record-Route');
    expect(rr).toHaveLength(3);
    expect(rr[0]).toMatch(kamRr(kam));
    expect(rr[1]).toBe(nodeRr(server));
    expect(rr[2]).toMatch(kamRr(kam));
    // the Path Route was consumed by Kamailio; the BYE crossed Kamailio, SIPhon, Kamailio
    expect(headerValues(traceHeaders(uas.messages, 'INVITE '), 'Route')).toEqual([]);
    expect(headerValues(traceHeaders(uas.messages, 'BYE '), 'Via')).toHaveLength(4);
  }, 25_000);

  test('over TCP end to end: REGISTER through Kamailio stores a TCP Path, the call and its BYE cross Kamailio, SIPhon, Kamailio on TCP', async () => {
    const uasPort = await freePort();
    const reg = await sipp(server.dir, { scenario: join(SHARED, 'register.xml'), target: `127.0.0.1:${kam.port}`, port: uasPort, transport: 't1', users: ['tess'] });
    expect(verdict(reg)).toEqual(PASSED);
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent('tess@127.0.0.1')}`);
    const contacts = ((await res.json()) as { contacts: { path: string[]; flow: { transport: string } }[] }).contacts;
    expect(contacts[0].path).toEqual([`<sip:127.0.0.1:${kam.port};transport=tcp;lr>`]);
    expect(contacts[0].flow.transport).toBe('tcp');

    const { uac, uas } = await call(server.dir, kam.port, 'tess', uasPort, join(SHARED, 'uas.xml'), join(SHARED, 'uac.xml'), 't1');
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    const invite = traceHeaders(uas.messages, 'INVITE ');
    expect(headerValues(invite, 'Record-Route')[1]).toBe(`<sip:127.0.0.1:${server.sipPort};transport=tcp;lr>`);
    const byeVias = headerValues(traceHeaders(uas.messages, 'BYE '), 'Via');
    expect(byeVias.map((v) => /^SIP\/2\.0\/(\w+) 127\.0\.0\.1:(\d+)/.exec(v)?.slice(1).join(':'))).toEqual([
      `TCP:${kam.port}`,
      `TCP:${server.sipPort}`,
      `TCP:${kam.port}`,
      `TCP:${uac.port}`,
    ]);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
  }, 25_000);
});

describe('(a) with digest authentication at SIPhon: challenges cross Kamailio', () => {
  const server = serverPerSuite({
    config: { ...NODE_CONFIG.config, auth: { realm: 'chain.test', users: [{ username: 'alice', password: 'a-secret' }, { username: 'bert', password: 'b-secret' }] } },
  });
  let kam: Kamailio;

  beforeAll(async () => {
    kam = await startKamailio('edge.cfg', await freePort(), { NODEPORT: server.sipPort });
  }, 20_000);

  afterAll(() => stopKamailioCheckingLogs(kam, server));

  test('REGISTER draws 401 through Kamailio and the retry 200; INVITE draws 407, is ACKed hop by hop, and the retried call runs to BYE', async () => {
    const uasPort = await freePort();
    const reg = await sipp(server.dir, {
      scenario: join(OURS, 'register-digest.xml'),
      target: `127.0.0.1:${kam.port}`,
      port: uasPort,
      extra: ['-s', 'bert', '-au', 'bert', '-ap', 'b-secret'],
    });
    expect(verdict(reg)).toEqual(PASSED);
    const uas = sipp(server.dir, { scenario: join(OURS, 'call-uas.xml'), port: uasPort });
    await portsBound('udp', [uasPort]);
    const uac = await sipp(server.dir, {
      scenario: join(OURS, 'call-auth-uac.xml'),
      target: `127.0.0.1:${kam.port}`,
      extra: ['-s', 'bert', '-au', 'alice', '-ap', 'a-secret'],
      traceMessages: true,
    });
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(await uas)).toEqual(PASSED);
    expect(traceHeaders(uac.messages, 'SIP/2.0 407')).not.toEqual([]);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
  }, 25_000);
});

describe('(b) SIPp -> SIPhon -> Kamailio as the callee\'s proxy -> SIPp', () => {
  const server = serverPerSuite();
  let kam: Kamailio;
  let uasPort: number;

  beforeAll(async () => {
    uasPort = await freePort();
    kam = await startKamailio('callee-proxy.cfg', await freePort(), { UASPORT: uasPort });
    // the callee's binding at SIPhon points at its proxy, Kamailio
    const reg = await sipp(server.dir, {
      scenario: join(OURS, 'register-contact.xml'),
      target: `127.0.0.1:${server.sipPort}`,
      extra: ['-s', 'kate'],
      keys: { contact: `sip:kate@127.0.0.1:${kam.port}` },
    });
    expect(verdict(reg)).toEqual(PASSED);
  }, 20_000);

  afterAll(() => stopKamailioCheckingLogs(kam, server));

  test('a call INVITE/180/200/ACK/BYE: Kamailio\'s Record-Route above SIPhon\'s, the BYE crosses both', async () => {
    const { uac, uas } = await call(server.dir, server.sipPort, 'kate', uasPort, join(SHARED, 'uas.xml'), join(SHARED, 'uac.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    const invite = traceHeaders(uas.messages, 'INVITE ');
    expect(invite).not.toEqual([]);
    const rr = headerValues(invite, 'Record-Route');
    expect(rr).toHaveLength(2);
    expect(rr[0]).toMatch(kamRr(kam));
    expect(rr[1]).toBe(nodeRr(server));
    for (const method of ['ACK ', 'BYE ']) {
      const route = headerValues(traceHeaders(uac.messages, method), 'Route');
      expect(route).toHaveLength(2);
      expect(route[0]).toBe(nodeRr(server));
      expect(route[1]).toMatch(kamRr(kam));
    }
    const byeVias = headerValues(traceHeaders(uas.messages, 'BYE '), 'Via');
    expect(byeVias.map((v) => /^SIP\/2\.0\/UDP 127\.0\.0\.1:(\d+)/.exec(v)?.[1])).toEqual([String(kam.port), String(server.sipPort), String(uac.port)]);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
  }, 25_000);

  test('CANCEL while ringing crosses SIPhon and Kamailio; the caller gets 487', async () => {
    const { uac, uas } = await call(server.dir, server.sipPort, 'kate', uasPort, join(OURS, 'uas-cancel-two-proxies.xml'), join(OURS, 'uac-cancel.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    expect(topBranch(uas, 'CANCEL ')).toBe(topBranch(uas, 'INVITE '));
  }, 25_000);

  test('a busy callee behind Kamailio: the caller gets the 486', async () => {
    const { uac, uas } = await call(server.dir, server.sipPort, 'kate', uasPort, join(OURS, 'uas-busy.xml'), join(OURS, 'uac-busy.xml'));
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    expect(traceHeaders(uac.messages, 'SIP/2.0 486')).not.toEqual([]);
  }, 25_000);

  test('over TCP: SIPhon reaches Kamailio and Kamailio the callee on TCP; the BYE crosses both on TCP', async () => {
    const reg = await sipp(server.dir, {
      scenario: join(OURS, 'register-contact.xml'),
      target: `127.0.0.1:${server.sipPort}`,
      extra: ['-s', 'kurt'],
      keys: { contact: `sip:kurt@127.0.0.1:${kam.port};transport=tcp` },
    });
    expect(verdict(reg)).toEqual(PASSED);
    const { uac, uas } = await call(server.dir, server.sipPort, 'kurt', uasPort, join(SHARED, 'uas.xml'), join(SHARED, 'uac.xml'), 't1');
    expect(verdict(uac)).toEqual(PASSED);
    expect(verdict(uas)).toEqual(PASSED);
    expect(headerValues(traceHeaders(uas.messages, 'INVITE '), 'Record-Route')[1]).toBe(`<sip:127.0.0.1:${server.sipPort};transport=tcp;lr>`);
    const byeVias = headerValues(traceHeaders(uas.messages, 'BYE '), 'Via');
    expect(byeVias.map((v) => /^SIP\/2\.0\/(\w+) 127\.0\.0\.1:(\d+)/.exec(v)?.slice(1).join(':'))).toEqual([`TCP:${kam.port}`, `TCP:${server.sipPort}`, `TCP:${uac.port}`]);
    expect(metric(await metricsText(server.adminPort), 'siphon_dialogs_active')).toBe(0);
  }, 25_000);
});
