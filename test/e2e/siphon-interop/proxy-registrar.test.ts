/**
 * SIPhon's own proxy/registrar SIPp acceptance cases (siphon-project/siphon-sip, sipp/), rewritten
 * as our scenarios (./sipp) and run against the REAL server with the shipped default script:
 * registrar, then record-routing proxy to the registered contacts. Each case asserts the sipp exit
 * codes (0 = every call passed) and the server-side fact it is about.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { eventually } from '../../helpers/eventually.js';
import { portsBound } from '../../helpers/port-bound.js';
import { freePort, serverPerSuite, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { PASSED, bindingsOf, metricValue, metrics, sipp, substituted, verdict } from './sipp-runner.js';

/** A port nothing listens on (bound and released, so a TCP connect to it is refused at once). */
const deadPort = freePort;

async function registerAt(server: ServerProcess, user: string, contactPort: number, transport = 'udp'): Promise<void> {
  const contact = `sip:${user}@127.0.0.1:${contactPort}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  expect(verdict(await sipp(server.dir, { scenario: 'register-contact.xml', target: server.sipPort, service: user, keys: { contact } }))).toEqual(PASSED);
}

describe('SIPhon proxy/registrar scenarios, default script without auth', () => {
  const server = serverPerSuite();

  test('options: OPTIONS to the node is answered 200 with Allow, five times', async () => {
    expect(verdict(await sipp(server.dir, { scenario: 'options-uac.xml', target: server.sipPort, calls: 5, extra: ['-l', '1'] }))).toEqual(PASSED);
  }, 30_000);

  test('register / refresh / unregister (Contact: *) are reflected in /admin/registrations', async () => {
    const run = sipp(server.dir, { scenario: 'unregister.xml', target: server.sipPort, service: 'rita' });
    const first = await eventually('registered', () => bindingsOf(server, 'rita@127.0.0.1'), (b) => b !== null && b[0].expires > 3000);
    expect(first).toHaveLength(1);
    await eventually('refreshed', () => bindingsOf(server, 'rita@127.0.0.1'), (b) => b !== null && b[0].expires <= 120);
    expect(verdict(await run)).toEqual(PASSED);
    expect(await bindingsOf(server, 'rita@127.0.0.1')).toBeNull();
  }, 30_000);

  test('call: INVITE/180/200/ACK, in-dialog INFO and BYE by the route set through the proxy', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'bob', uasPort);
    const callee = sipp(server.dir, { scenario: 'call-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    const caller = await sipp(server.dir, { scenario: 'call-uac.xml', target: server.sipPort, service: 'bob' });
    expect(verdict(caller)).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);
    expect(metricValue(await metrics(server), 'siphon_dialogs_active')).toBe(0);
  }, 40_000);

  test('MESSAGE is relayed to the registered contact; to an unknown AoR it gets 404 with a To tag', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'mia', uasPort);
    const rcpt = sipp(server.dir, { scenario: 'message-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    expect(verdict(await sipp(server.dir, { scenario: 'message-uac.xml', target: server.sipPort, service: 'mia' }))).toEqual(PASSED);
    expect(verdict(await rcpt)).toEqual(PASSED);
    expect(verdict(await sipp(server.dir, { scenario: 'message-unknown-uac.xml', target: server.sipPort, service: 'nobody' }))).toEqual(PASSED);
  }, 40_000);

  test('SUBSCRIBE/NOTIFY: subscription, NOTIFYs and un-SUBSCRIBE all pass through the proxy', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'nora', uasPort);
    const notifier = sipp(server.dir, { scenario: 'subscribe-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    expect(verdict(await sipp(server.dir, { scenario: 'subscribe-uac.xml', target: server.sipPort, service: 'nora' }))).toEqual(PASSED);
    expect(verdict(await notifier)).toEqual(PASSED);
  }, 40_000);

  test('REFER passthrough: in-dialog REFER, 202 and the sipfrag NOTIFYs are loose-routed once each', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'tess', uasPort);
    const transferee = sipp(server.dir, { scenario: 'refer-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    expect(verdict(await sipp(server.dir, { scenario: 'refer-uac.xml', target: server.sipPort, service: 'tess' }))).toEqual(PASSED);
    expect(verdict(await transferee)).toEqual(PASSED);
  }, 40_000);

  test('CANCEL while ringing: caller gets 487; the callee gets the CANCEL and the ACK for its 487', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'cara', uasPort);
    const callee = sipp(server.dir, { scenario: 'ring-forever-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    expect(verdict(await sipp(server.dir, { scenario: 'cancel-uac.xml', target: server.sipPort, service: 'cara' }))).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);
  }, 40_000);

  // §16.7 step 6: a lone 503 is not forwarded (it would say the proxy itself is unavailable): 500.
  for (const [status, upstream] of [
    [486, 486],
    [603, 603],
    [503, 500],
  ] as const) {
    test(`reject: a callee's ${status} reaches the caller as ${upstream}`, async () => {
      const uasPort = await freePort();
      const user = `rej${status}`;
      await registerAt(server, user, uasPort);
      const callee = sipp(server.dir, { scenario: substituted(server.dir, 'reject-uas.xml', 'REPLY_STATUS', String(status)), port: uasPort });
      await portsBound('udp', [uasPort]);
      const uac = substituted(server.dir, 'reject-uac.xml', 'EXPECTED_FINAL', String(upstream));
      expect(verdict(await sipp(server.dir, { scenario: uac, target: server.sipPort, service: user }))).toEqual(PASSED);
      expect(verdict(await callee)).toEqual(PASSED);
    }, 40_000);
  }

  test('an ACK with a branch of its own (sloppy UA) still stops the final response: no Timer G copies', async () => {
    // Relayed 486 from the callee, and the node's own 404 for an unknown AoR.
    const uasPort = await freePort();
    await registerAt(server, 'sloppy', uasPort);
    const callee = sipp(server.dir, { scenario: substituted(server.dir, 'reject-uas.xml', 'REPLY_STATUS', '486'), port: uasPort });
    await portsBound('udp', [uasPort]);
    for (const [user, status] of [['sloppy', '486'], ['nosuchuser', '404']] as const) {
      const uac = substituted(server.dir, 'reject-sloppy-ack-uac.xml', 'EXPECTED_FINAL', status);
      const run = await sipp(server.dir, { scenario: uac, target: server.sipPort, service: user, traceMessages: true });
      expect(verdict(run)).toEqual(PASSED);
      const received = readFileSync(run.messages!, 'utf8').split(/-{20,}/).filter((m) => /message received/.test(m) && m.includes(`SIP/2.0 ${status} `));
      expect(received).toHaveLength(1);
    }
    expect(verdict(await callee)).toEqual(PASSED);
  }, 40_000);

  test('max-forwards: an INVITE with Max-Forwards: 0 gets 483, five times', async () => {
    await registerAt(server, 'hops', await deadPort());
    const r = await sipp(server.dir, { scenario: 'max-forwards-uac.xml', target: server.sipPort, service: 'hops', calls: 5, extra: ['-l', '1'] });
    expect(verdict(r)).toEqual(PASSED);
  }, 30_000);

  test('fork over Path: each binding is reached through its own Path; the 404 edge loses to the 200 edge', async () => {
    const rejectEdge = await freePort();
    const answerEdge = await freePort();
    for (const [edge, q] of [
      [rejectEdge, '1.0'],
      [answerEdge, '0.5'],
    ] as const) {
      const r = await sipp(server.dir, {
        scenario: 'register-path.xml',
        target: server.sipPort,
        service: 'pat',
        // The Contact is somewhere nothing listens: only the Path leads to the edge.
        keys: { contact: `sip:pat@127.0.0.1:${await deadPort()}`, path: `<sip:token${edge}@127.0.0.1:${edge};lr>`, q },
      });
      expect(verdict(r)).toEqual(PASSED);
    }
    const stored = await bindingsOf(server, 'pat@127.0.0.1');
    expect(stored).toHaveLength(2);
    const rejecting = sipp(server.dir, { scenario: substituted(server.dir, 'reject-uas.xml', 'REPLY_STATUS', '404'), port: rejectEdge });
    const answering = sipp(server.dir, { scenario: 'call-uas.xml', port: answerEdge });
    await portsBound('udp', [rejectEdge, answerEdge]);
    expect(verdict(await sipp(server.dir, { scenario: 'call-uac.xml', target: server.sipPort, service: 'pat' }))).toEqual(PASSED);
    expect(verdict(await rejecting)).toEqual(PASSED);
    expect(verdict(await answering)).toEqual(PASSED);
  }, 40_000);

  test('transport error: a callee whose TCP connect is refused is answered 500 at once, not after Timer B', async () => {
    await registerAt(server, 'gone', await deadPort(), 'tcp');
    const started = Date.now();
    const uac = substituted(server.dir, 'reject-uac.xml', 'EXPECTED_FINAL', '500');
    expect(verdict(await sipp(server.dir, { scenario: uac, target: server.sipPort, service: 'gone', sippTimeoutSecs: 10 }))).toEqual(PASSED);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);

  test('transport error: a UDP contact whose host name does not resolve is answered 500 at once, not after Timer B', async () => {
    expect(verdict(await sipp(server.dir, { scenario: 'register-contact.xml', target: server.sipPort, service: 'nameless', keys: { contact: 'sip:nameless@no-such-host.invalid:5060' } }))).toEqual(PASSED);
    // The proxy locates the name before any transport sees it (RFC 3263 §4.3 needs its addresses).
    const refused = async (): Promise<number> => metricValue(await metrics(server), 'siphon_proxy_stateless_total{event="next_hop_unresolved"}') || 0;
    const before = await refused();
    const started = Date.now();
    const uac = substituted(server.dir, 'reject-uac.xml', 'EXPECTED_FINAL', '500');
    expect(verdict(await sipp(server.dir, { scenario: uac, target: server.sipPort, service: 'nameless', sippTimeoutSecs: 10 }))).toEqual(PASSED);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await refused()).toBeGreaterThan(before);
  }, 30_000);

  test('MTU: an over-MTU MESSAGE received over UDP is relayed over TCP (RFC 3261 §18.1.1)', async () => {
    const tcpOnly = await freePort();
    await registerAt(server, 'tcprecv', tcpOnly);
    const rcpt = sipp(server.dir, { scenario: 'message-uas.xml', port: tcpOnly, transport: 't1' });
    await portsBound('tcp', [tcpOnly]);
    expect(verdict(await sipp(server.dir, { scenario: 'message-oversized-uac.xml', target: server.sipPort, service: 'tcprecv', sippTimeoutSecs: 10 }))).toEqual(PASSED);
    expect(verdict(await rcpt)).toEqual(PASSED);
  }, 30_000);

  test('auto-100: a non-INVITE left unanswered past Timer E = T2 gets 100 Trying from the proxy (RFC 4320 §4.2)', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'slow', uasPort);
    const rcpt = sipp(server.dir, { scenario: 'message-slow-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    expect(verdict(await sipp(server.dir, { scenario: 'message-trying-uac.xml', target: server.sipPort, service: 'slow' }))).toEqual(PASSED);
    expect(verdict(await rcpt)).toEqual(PASSED);
  }, 30_000);
});

describe('SIPhon auth scenarios (auth.backend static)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({
      config: {
        auth: {
          realm: 'siphon.test',
          nonce_ttl_secs: 1,
          users: [
            { username: 'alice', password: 'secret' },
            { username: 'bob', password: 'secret' },
          ],
        },
      },
    });
  }, 30_000);
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
  });

  test('register: 401 challenge, then 200 with credentials; the binding is stored', async () => {
    const r = await sipp(server.dir, { scenario: 'register-digest.xml', target: server.sipPort, service: 'alice', extra: ['-au', 'alice', '-ap', 'secret'] });
    expect(verdict(r)).toEqual(PASSED);
    expect(await bindingsOf(server, 'alice@127.0.0.1')).toHaveLength(1);
  }, 30_000);

  test('stale nonce: credentials on an expired nonce get 401 stale=true, the retry gets 200', async () => {
    const r = await sipp(server.dir, {
      scenario: 'register-stale-nonce.xml',
      target: server.sipPort,
      service: 'alice',
            extra: ['-au', 'alice', '-ap', 'secret'],
    });
    expect(verdict(r)).toEqual(PASSED);
  }, 30_000);

  test('invite auth: the INVITE is challenged 407, the authenticated retry is proxied to the callee', async () => {
    const uasPort = await freePort();
    const reg = await sipp(server.dir, { scenario: 'register-digest.xml', target: server.sipPort, service: 'bob', port: uasPort, extra: ['-au', 'bob', '-ap', 'secret'] });
    expect(verdict(reg)).toEqual(PASSED);
    const callee = sipp(server.dir, { scenario: 'call-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    const caller = await sipp(server.dir, {
      scenario: 'call-auth-uac.xml',
      target: server.sipPort,
      service: 'bob',
      extra: ['-au', 'alice', '-ap', 'secret'],
    });
    expect(verdict(caller)).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);
  }, 40_000);
});

describe('SIPhon timeout scenarios (short T1 and Timer C)', () => {
  const server = serverPerSuite({ config: { transaction: { t1_ms: 50, invite_timeout_secs: 2 } } });

  test('a registered callee that never answers: the proxy generates 408 when Timer B fires', async () => {
    await registerAt(server, 'mute', await deadPort());
    const uac = substituted(server.dir, 'reject-uac.xml', 'EXPECTED_FINAL', '408');
    expect(verdict(await sipp(server.dir, { scenario: uac, target: server.sipPort, service: 'mute', sippTimeoutSecs: 10 }))).toEqual(PASSED);
  }, 30_000);

  test('a callee that rings forever: Timer C CANCELs the branch and the caller gets 408', async () => {
    const uasPort = await freePort();
    await registerAt(server, 'ringer', uasPort);
    const callee = sipp(server.dir, { scenario: 'ring-forever-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    const uac = substituted(server.dir, 'reject-uac.xml', 'EXPECTED_FINAL', '408');
    expect(verdict(await sipp(server.dir, { scenario: uac, target: server.sipPort, service: 'ringer', sippTimeoutSecs: 10 }))).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);
  }, 30_000);
});

describe('SIPhon routing scenario (Route self-identity on a second UDP listener)', () => {
  let server: ServerProcess;
  let second: number;
  beforeAll(async () => {
    const first = await freePort();
    second = await freePort();
    server = await startServer({ config: { listen: { udp: [`127.0.0.1:${first}`, `127.0.0.1:${second}`], tcp: [`127.0.0.1:${first}`] } } });
  }, 30_000);
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
  });

  test('a call driven at the second listener: the in-dialog ACK/INFO/BYE carrying our Record-Route are relayed', async () => {
    const uasPort = await freePort();
    const reg = await sipp(server.dir, { scenario: 'register-contact.xml', target: second, service: 'rob', keys: { contact: `sip:rob@127.0.0.1:${uasPort}` } });
    expect(verdict(reg)).toEqual(PASSED);
    const callee = sipp(server.dir, { scenario: 'call-uas.xml', port: uasPort });
    await portsBound('udp', [uasPort]);
    expect(verdict(await sipp(server.dir, { scenario: 'call-uac.xml', target: second, service: 'rob' }))).toEqual(PASSED);
    expect(verdict(await callee)).toEqual(PASSED);
  }, 40_000);
});

describe('SIPhon http-auth scenario (slow HA1 backend, no cache)', () => {
  let server: ServerProcess;
  let backend: Server;
  let lookups = 0;
  beforeAll(async () => {
    // Every HA1 lookup takes 400 ms: a node that blocked on it would stall under the load below.
    backend = createServer((req, res) => {
      lookups++;
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const ha1 = createHash('md5').update(`${q.get('username')}:${q.get('realm')}:secret`).digest('hex');
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ha1 })), 400);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    const { port } = backend.address() as { port: number };
    server = await startServer({
      config: { auth: { backend: 'http', realm: 'siphon.test', http: { url: `http://127.0.0.1:${port}/ha1`, cache_ttl_secs: 0 } } },
    });
  }, 30_000);
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await new Promise<void>((r) => backend.close(() => r()));
  });

  test('150 digest REGISTERs at 25/s, each needing a 400 ms HA1 fetch, all succeed', async () => {
    const r = await sipp(server.dir, {
      scenario: 'register-digest.xml',
      target: server.sipPort,
      service: 'bob',
      calls: 150,
      extra: ['-au', 'bob', '-ap', 'secret', '-r', '25', '-l', '60'],
      sippTimeoutSecs: 25,
    });
    expect(verdict(r)).toEqual(PASSED);
    // Concurrent lookups for one user share one fetch (node/auth's http backend), and with the
    // cache off each 400 ms window needs a new one: ~15 over the 6 s run, never just the first.
    expect(lookups).toBeGreaterThanOrEqual(5);
    expect(await bindingsOf(server, 'bob@127.0.0.1')).toHaveLength(1);
  }, 40_000);
});
