/**
 * What real clients found (test/e2e/clients), pinned at the app level:
 * - linphonec puts its public GRUU (RFC 5627) in the Contact of a dialog, so the ACK and BYE come
 *   back with our Record-Route as Route and the GRUU as Request-URI: they must reach the
 *   instance's registered contact (§5.5), not the GRUU's host (port 5060 of the domain).
 * - sipvicious svwar -m OPTIONS: with digest auth on, an OPTIONS naming a user is challenged like
 *   any request to that user, registered or not; only a user-less keepalive is answered unchallenged.
 * - sipvicious svmap -m INVITE never ACKs: the 407 we issue is sent once, not retransmitted on
 *   Timer G (RFC 3261 §26.3.2.4), so a scan or a forged source gets no amplification.
 */
import { digestGate, optionsForUs, ownAddressMatcher } from '../../../node/app/index.js';
import type { ScriptRequest } from '../../../node/proxy/index.js';
import type { AuthPort } from '../../../node/script/index.js';
import { parseMessage, type SipRequest } from '../../../node/sip/index.js';
import { startInProcessApp, type InProcessApp } from '../../helpers/in-process-app.js';
import { headerOf, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';

describe('in-dialog requests to a GRUU (RFC 5627 §5.5)', () => {
  let running: InProcessApp;
  let port: number;

  beforeAll(async () => {
    running = await startInProcessApp({
      // The AoR domain (and so the GRUUs) is 127.0.0.1 without our port: a domain we serve.
      proxy: { local_domains: ['127.0.0.1'] },
      transaction: { t1_ms: 20, t2_ms: 80, timeout_secs: 1 },
    });
    port = running.port;
  });

  afterAll(() => running.stop());

  const INSTANCE = 'urn:uuid:6791a034-5747-0054-a429-73db164f6021';

  function request(method: string, uri: string, ua: UdpClient, branch: string, extra: string, cseq = 1, toTag = ''): string {
    return (
      `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=${branch};rport\r\nMax-Forwards: 70\r\n` +
      `From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>${toTag}\r\nCall-ID: gruu-call@test\r\nCSeq: ${cseq} ${method}\r\n` +
      `${extra}Content-Length: 0\r\n\r\n`
    );
  }

  async function nextSkippingInvites(ua: UdpClient, timeoutMs: number): Promise<string> {
    for (;;) {
      const msg = await ua.next(timeoutMs);
      if (!msg.startsWith('INVITE ')) return msg;
    }
  }

  /** The callee's answer: the request's Vias, Record-Route, From, To with its tag, Call-ID, CSeq and its GRUU as Contact. */
  function answer(req: string, status: number, contact: string): string {
    const lines = req.split('\r\n');
    const pick = (name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const to = pick('To')[0];
    return (
      `SIP/2.0 ${status} OK\r\n` +
      [...pick('Via'), ...pick('Record-Route'), ...pick('From'), /;tag=/.test(to) ? to : `${to};tag=b1`, ...pick('Call-ID'), ...pick('CSeq')].join('\r\n') +
      `\r\nContact: <${contact}>\r\nContent-Length: 0\r\n\r\n`
    );
  }

  test('the ACK and BYE of a dialog whose callee Contact is its public GRUU reach the registered contact', async () => {
    const bob = await udpClient();
    const alice = await udpClient();
    try {
      bob.send(
        `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bK-greg;rport\r\nMax-Forwards: 70\r\n` +
          `From: <sip:bob@127.0.0.1>;tag=r1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: gruu-reg@test\r\nCSeq: 1 REGISTER\r\nSupported: gruu\r\n` +
          `Contact: <sip:bob@127.0.0.1:${bob.port};transport=udp>;+sip.instance="<${INSTANCE}>"\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
        port,
      );
      const reg = await bob.next();
      expect(statusOf(reg)).toBe(200);
      const gruu = /pub-gruu="([^"]+)"/.exec(headerOf(reg, 'Contact') ?? '')?.[1];
      expect(gruu).toBe(`sip:bob@127.0.0.1;gr=${INSTANCE}`);

      alice.send(request('INVITE', `sip:bob@127.0.0.1:${port}`, alice, 'z9hG4bK-ginv', `Contact: <sip:alice@127.0.0.1:${alice.port}>\r\n`), port);
      const invite = await bob.next();
      expect(invite.startsWith('INVITE ')).toBe(true);
      const recordRoute = headerOf(invite, 'Record-Route');
      expect(recordRoute).toBe(`<sip:127.0.0.1:${port};lr>`);
      bob.send(answer(invite, 200, gruu ?? ''), port);
      let ok = await alice.next();
      while (statusOf(ok) < 200) ok = await alice.next();
      expect(statusOf(ok)).toBe(200);

      // The 2xx ACK and the BYE follow the route set: Route = our Record-Route, R-URI = the GRUU.
      const inDialog = `Route: ${recordRoute}\r\nContact: <sip:alice@127.0.0.1:${alice.port}>\r\n`;
      alice.send(request('ACK', gruu ?? '', alice, 'z9hG4bK-gack', inDialog, 1, ';tag=b1'), port);
      // With T1 at 20 ms and no 100 from bob, the proxy may have retransmitted the INVITE before
      // bob's 200 reached it: those copies can still be queued ahead of the ACK.
      const ack = await nextSkippingInvites(bob, 2000);
      expect(ack.startsWith(`ACK sip:bob@127.0.0.1:${bob.port};transport=udp SIP/2.0`)).toBe(true);

      alice.send(request('BYE', gruu ?? '', alice, 'z9hG4bK-gbye', inDialog, 2, ';tag=b1'), port);
      const bye = await nextSkippingInvites(bob, 2000);
      expect(bye.startsWith(`BYE sip:bob@127.0.0.1:${bob.port};transport=udp SIP/2.0`)).toBe(true);
      bob.send(answer(bye, 200, gruu ?? ''), port);
      expect(statusOf(await alice.next(2000))).toBe(200);
    } finally {
      await bob.close();
      await alice.close();
    }
  });

  test('an in-dialog request to a GRUU whose instance has two flows (RFC 5626 reg-id) goes to one of them only', async () => {
    const flows = [await udpClient(), await udpClient()];
    const alice = await udpClient();
    const instance = 'urn:uuid:0b0b0b0b-1111-2222-3333-444444444444';
    try {
      for (const [i, ua] of flows.entries()) {
        ua.send(
          `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-flow${i};rport\r\nMax-Forwards: 70\r\n` +
            `From: <sip:carl@127.0.0.1>;tag=f${i}\r\nTo: <sip:carl@127.0.0.1>\r\nCall-ID: flows-${i}@test\r\nCSeq: 1 REGISTER\r\nSupported: gruu, outbound\r\n` +
            `Contact: <sip:carl@127.0.0.1:${ua.port}>;+sip.instance="<${instance}>";reg-id=${i + 1}\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
          port,
        );
        expect(statusOf(await ua.next())).toBe(200);
      }
      const gruu = `sip:carl@127.0.0.1;gr=${instance}`;
      alice.send(request('BYE', gruu, alice, 'z9hG4bK-gflows', `Route: <sip:127.0.0.1:${port};lr>\r\n`, 5, ';tag=c1'), port);
      const arrived = await Promise.all(flows.map(async (ua) => !(await ua.silentFor(500))));
      expect(arrived.filter(Boolean)).toHaveLength(1);
    } finally {
      for (const ua of [...flows, alice]) await ua.close();
    }
  });

  test('a BYE to the GRUU of an instance that is not registered gets 480', async () => {
    const alice = await udpClient();
    try {
      const stale = 'sip:bob@127.0.0.1;gr=urn:uuid:00000000-0000-0000-0000-000000000000';
      alice.send(request('BYE', stale, alice, 'z9hG4bK-gstale', `Route: <sip:127.0.0.1:${port};lr>\r\n`, 3, ';tag=b1'), port);
      expect(statusOf(await alice.next(2000))).toBe(480);
    } finally {
      await alice.close();
    }
  });
});

describe('OPTIONS under digest auth (svwar -m OPTIONS)', () => {
  function sipRequest(method: string, uri: string): SipRequest {
    const m = parseMessage(
      Buffer.from(
        `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n` +
          `From: <sip:carol@127.0.0.1>;tag=1\r\nTo: <sip:carol@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`,
      ),
    );
    if (!m.isRequest) throw new Error('not a request');
    return m;
  }
  const isOwn = ownAddressMatcher([{ transport: 'udp', host: '127.0.0.1', port: 5060, advertisedHost: '127.0.0.1', advertisedPort: 5060 }]);

  test('with auth on, the node answers only a user-less OPTIONS itself; one naming a user is routed, registered or not', () => {
    expect(optionsForUs(sipRequest('OPTIONS', 'sip:127.0.0.1'), isOwn, () => false, true)).toBe(true);
    expect(optionsForUs(sipRequest('OPTIONS', 'sip:carol@127.0.0.1'), isOwn, () => false, true)).toBe(false);
    expect(optionsForUs(sipRequest('OPTIONS', 'sip:bob@127.0.0.1'), isOwn, () => true, true)).toBe(false);
    // Without auth the unregistered user's OPTIONS stays the node's (no policy change there).
    expect(optionsForUs(sipRequest('OPTIONS', 'sip:carol@127.0.0.1'), isOwn, () => false)).toBe(true);
  });

  test('the digest gate challenges an OPTIONS to a local user and lets only the user-less keepalive through', async () => {
    const challenged: string[] = [];
    const auth: AuthPort = {
      requireDigest: (r) => {
        challenged.push(r.ruri);
        return false;
      },
    };
    const gate = digestGate(auth);
    const options = (ruri: string): ScriptRequest =>
      ({ method: 'OPTIONS', ruri, inDialog: false, ruriIsLocal: true, decided: false, authUser: undefined }) as unknown as ScriptRequest;
    await gate(options('sip:bob@127.0.0.1:5060'));
    await gate(options('sip:127.0.0.1:5060'));
    expect(challenged).toEqual(['sip:bob@127.0.0.1:5060']);
  });
});

describe('challenges are not retransmitted (RFC 3261 §26.3.2.4)', () => {
  let running: InProcessApp;
  let port: number;

  beforeAll(async () => {
    running = await startInProcessApp({
      auth: { realm: 'findings.test', users: [{ username: 'alice', password: 'pw' }] },
      // T1 = 20 ms: Timer G would resend at 20, 60, 140, 300, 460 ms.
      transaction: { t1_ms: 20, t2_ms: 160, timeout_secs: 1 },
    });
    port = running.port;
  });

  afterAll(() => running.stop());

  test('an INVITE without credentials gets one 407 and no retransmission; its own retransmission gets one more', async () => {
    const scanner = await udpClient();
    try {
      const invite =
        `INVITE sip:bob@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${scanner.port};branch=z9hG4bK-scan1;rport\r\n` +
        `Max-Forwards: 70\r\nFrom: "sipvicious"<sip:100@1.1.1.1>;tag=s1\r\nTo: "sipvicious"<sip:100@1.1.1.1>\r\nCall-ID: scan-1\r\n` +
        `CSeq: 1 INVITE\r\nContact: <sip:100@127.0.0.1:${scanner.port}>\r\nContent-Length: 0\r\n\r\n`;
      scanner.send(invite, port);
      expect(statusOf(await scanner.next(1000))).toBe(407);
      expect(await scanner.silentFor(600)).toBe(true);
      scanner.send(invite, port);
      expect(statusOf(await scanner.next(1000))).toBe(407);
      expect(await scanner.silentFor(300)).toBe(true);
    } finally {
      await scanner.close();
    }
  });
});
