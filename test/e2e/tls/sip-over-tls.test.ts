/**
 * SIP over TLS end to end: the real server process with a TLS listener (throwaway PKI from
 * test/helpers/tls-certs.ts), two UAs as Node TLS clients. Registration over TLS, a call between
 * them through the record-routing proxy with the callee reached over the connection it registered
 * on (its Contact names a port nobody listens on, as for a phone behind NAT), in-dialog requests
 * by the route set, and a client refused under mTLS.
 */
import { freePort, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, statusOf, tlsClient, udpClient, type TcpClient } from '../../helpers/sip-client.js';
import { eventually } from '../../helpers/eventually.js';
import { testPki } from '../../helpers/tls-certs.js';

const pki = testPki();
const DOMAIN = 'tls.test';
let seq = 0;

function tlsConfig(tlsPort: number, udpPort: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listen: { udp: [`127.0.0.1:${udpPort}`], tcp: [`127.0.0.1:${udpPort}`], tls: [`127.0.0.1:${tlsPort}`] },
    proxy: { local_domains: [DOMAIN] },
    tls: { certificate: pki.serverCertFile, private_key: pki.serverKeyFile, ca: pki.caFile, ...extra },
  };
}

/** A request as a UA on a TLS connection writes it (Via with the connection's local port). */
function request(ua: TcpClient, method: string, uri: string, lines: readonly string[], body = ''): string {
  const n = ++seq;
  return (
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:${ua.localPort};branch=z9hG4bK-tls${n}-${Date.now()};rport\r\nMax-Forwards: 70\r\n` +
    `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** A response to `req` as its UAS writes it: Via, Record-Route, From, Call-ID, CSeq copied. */
function answer(req: string, status: string, toTag: string, extra: readonly string[] = []): string {
  const copied = req
    .split('\r\n')
    .filter((l) => /^(Via|Record-Route|From|Call-ID|CSeq):/i.test(l));
  const to = headerOf(req, 'To') ?? '';
  return `SIP/2.0 ${status}\r\n${copied.join('\r\n')}\r\nTo: ${to.includes('tag=') ? to : `${to};tag=${toTag}`}\r\n${extra.map((l) => `${l}\r\n`).join('')}Content-Length: 0\r\n\r\n`;
}

/** The next message on `ua` that is not a provisional response. */
async function nextFinalOrRequest(ua: TcpClient): Promise<string> {
  for (;;) {
    const m = await ua.next(5000);
    const s = statusOf(m);
    if (s === 0 || s >= 200) return m;
  }
}

describe('SIP over TLS through the real server', () => {
  const ports = { tls: 0, udp: 0 };
  let server: ServerProcess;
  let alice: TcpClient;
  let bob: TcpClient;

  beforeAll(async () => {
    ports.tls = await freePort();
    ports.udp = await freePort();
    server = await startServer({ config: tlsConfig(ports.tls, ports.udp) });
    alice = await tlsClient(ports.tls, { ca: pki.ca, servername: 'localhost' });
    bob = await tlsClient(ports.tls, { ca: pki.ca, servername: 'localhost' });
  }, 30_000);
  afterAll(async () => {
    alice?.close();
    bob?.close();
    expect(await server.stop()).toBe(0);
  });

  test('REGISTER over TLS: 200 with the binding stored as registered over TLS', async () => {
    // Alice's Contact names a port she does not listen on: only her connection reaches her.
    alice.send(request(alice, 'REGISTER', `sip:${DOMAIN}`, [
      `From: <sip:alice@${DOMAIN}>;tag=ra`, `To: <sip:alice@${DOMAIN}>`, 'Call-ID: reg-alice@tls', 'CSeq: 1 REGISTER',
      'Contact: <sip:alice@127.0.0.1:5999;transport=tls>', 'Expires: 300',
    ]));
    const ok = await alice.next();
    expect(statusOf(ok)).toBe(200);
    expect(headerOf(ok, 'Via')).toMatch(/^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;/);
    bob.send(request(bob, 'REGISTER', `sip:${DOMAIN}`, [
      `From: <sip:bob@${DOMAIN}>;tag=rb`, `To: <sip:bob@${DOMAIN}>`, 'Call-ID: reg-bob@tls', 'CSeq: 1 REGISTER',
      `Contact: <sip:bob@127.0.0.1:${bob.localPort};transport=tls>`, 'Expires: 300',
    ]));
    expect(statusOf(await bob.next())).toBe(200);
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent(`sip:alice@${DOMAIN}`)}`);
    expect(JSON.stringify(await res.json())).toContain('transport=tls');
  });

  test('a call from Bob reaches Alice over her registration connection, record-routed over TLS, and ends with BYE', async () => {
    const inviteLines = [
      `From: <sip:bob@${DOMAIN}>;tag=b1`, `To: <sip:alice@${DOMAIN}>`, 'Call-ID: call-1@tls', 'CSeq: 1 INVITE',
      `Contact: <sip:bob@127.0.0.1:${bob.localPort};transport=tls>`,
    ];
    bob.send(request(bob, 'INVITE', `sip:alice@${DOMAIN}`, inviteLines));
    const invite = await alice.next();
    expect(invite).toMatch(/^INVITE sip:alice@127\.0\.0\.1:5999;transport=tls SIP\/2\.0/);
    const rr = headerOf(invite, 'Record-Route');
    expect(rr).toBe(`<sip:127.0.0.1:${ports.tls};transport=tls;lr>`);
    expect(headerOf(invite, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${ports.tls};branch=z9hG4bK`));

    // Alice answers with a Contact on her connection's port, so in-dialog requests find it too.
    alice.send(answer(invite, '200 OK', 'a1', [`Contact: <sip:alice@127.0.0.1:${alice.localPort};transport=tls>`]));
    const ok = await nextFinalOrRequest(bob);
    expect(statusOf(ok)).toBe(200);
    expect(headerOf(ok, 'Record-Route')).toBe(rr);

    const dialog = [`From: <sip:bob@${DOMAIN}>;tag=b1`, `To: <sip:alice@${DOMAIN}>;tag=a1`, 'Call-ID: call-1@tls', `Route: ${rr}`];
    const aliceUri = `sip:alice@127.0.0.1:${alice.localPort};transport=tls`;
    bob.send(request(bob, 'ACK', aliceUri, [...dialog, 'CSeq: 1 ACK']));
    expect(await alice.next()).toMatch(/^ACK sip:alice@127\.0\.0\.1:\d+;transport=tls SIP\/2\.0/);
    bob.send(request(bob, 'BYE', aliceUri, [...dialog, 'CSeq: 2 BYE']));
    const bye = await alice.next();
    expect(bye).toMatch(/^BYE /);
    alice.send(answer(bye, '200 OK', 'a1'));
    expect(statusOf(await bob.next())).toBe(200);
  });

  test('once the callee\'s connection has closed, the proxy connects to its Contact; refused, the caller gets 500 (§16.7: a 503 is not passed upstream)', async () => {
    const carol = await tlsClient(ports.tls, { ca: pki.ca, servername: 'localhost' });
    const unused = await freePort();
    carol.send(request(carol, 'REGISTER', `sip:${DOMAIN}`, [
      `From: <sip:carol@${DOMAIN}>;tag=rc`, `To: <sip:carol@${DOMAIN}>`, 'Call-ID: reg-carol@tls', 'CSeq: 1 REGISTER',
      `Contact: <sip:carol@127.0.0.1:${unused};transport=tls>`, 'Expires: 300',
    ]));
    expect(statusOf(await carol.next())).toBe(200);
    carol.close();
    await new Promise((r) => setTimeout(r, 200));
    bob.send(request(bob, 'INVITE', `sip:carol@${DOMAIN}`, [
      `From: <sip:bob@${DOMAIN}>;tag=b2`, `To: <sip:carol@${DOMAIN}>`, 'Call-ID: call-2@tls', 'CSeq: 1 INVITE',
      `Contact: <sip:bob@127.0.0.1:${bob.localPort};transport=tls>`,
    ]));
    const final = await nextFinalOrRequest(bob);
    expect(statusOf(final)).toBe(500);
  });
});

describe('mTLS on the real server', () => {
  let server: ServerProcess;
  let tlsPort = 0;
  beforeAll(async () => {
    tlsPort = await freePort();
    server = await startServer({ config: tlsConfig(tlsPort, await freePort(), { verify_client: true, client_ca: pki.caFile }) });
  }, 30_000);
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  test('a client without a certificate is refused and counted; one with a certificate from client_ca is served', async () => {
    const anonymous = await tlsClient(tlsPort, { ca: pki.ca, servername: 'localhost' }).catch(() => null);
    anonymous?.send(`OPTIONS sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bKm1\r\nMax-Forwards: 70\r\nFrom: <sip:x@${DOMAIN}>;tag=1\r\nTo: <sip:${DOMAIN}>\r\nCall-ID: m1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);
    if (anonymous !== null) await expect(anonymous.next(1500)).rejects.toThrow();
    await eventually('handshake failures', async () => {
      const text = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      return /siphon_tls_handshake_failures_total\{direction="inbound"\} (\d+)/.exec(text)?.[1] ?? '0';
    }, (n) => Number(n) >= 1);
    const trusted = await tlsClient(tlsPort, { ca: pki.ca, servername: 'localhost', cert: pki.clientCert, key: pki.clientKey });
    trusted.send(request(trusted, 'OPTIONS', `sip:${DOMAIN}`, [`From: <sip:x@${DOMAIN}>;tag=2`, `To: <sip:${DOMAIN}>`, 'Call-ID: m2', 'CSeq: 1 OPTIONS']));
    expect(statusOf(await trusted.next())).toBe(200);
    anonymous?.close();
    trusted.close();
  });
});

describe('RFC 5923 connection reuse on the real server (mTLS)', () => {
  let server: ServerProcess;
  const ports = { tls: 0, udp: 0 };
  beforeAll(async () => {
    ports.tls = await freePort();
    ports.udp = await freePort();
    server = await startServer({ config: tlsConfig(ports.tls, ports.udp, { verify_client: true, client_ca: pki.caFile }) });
  }, 30_000);
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  /** A peer proxy's OPTIONS over its TLS connection, its Via offering the connection for `sentBy`. */
  const offer = (peer: TcpClient, sentByPort: number): string =>
    `OPTIONS sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:${sentByPort};branch=z9hG4bK-al${++seq};alias\r\nMax-Forwards: 70\r\n` +
    `From: <sip:peer@${DOMAIN}>;tag=p${seq}\r\nTo: <sip:${DOMAIN}>\r\nCall-ID: alias-${seq}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

  /** An in-dialog BYE from a UDP UA, routed through us to carol at the peer's sent-by over TLS. */
  const bye = (uaPort: number, sentByPort: number): string =>
    `BYE sip:carol@127.0.0.1:${sentByPort};transport=tls SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${uaPort};branch=z9hG4bK-ab${++seq};rport\r\n` +
    `Route: <sip:127.0.0.1:${ports.udp};lr>\r\nMax-Forwards: 70\r\nFrom: <sip:ua@${DOMAIN}>;tag=u${seq}\r\nTo: <sip:carol@${DOMAIN}>;tag=c${seq}\r\n` +
    `Call-ID: alias-bye-${seq}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`;

  test('a peer whose certificate names its sent-by and whose Via says alias gets our requests for it over its own connection', async () => {
    const sentBy = await freePort(); // nobody listens there: only the offered connection reaches the peer
    // pki.serverCert names 127.0.0.1 (and is signed by client_ca).
    const peer = await tlsClient(ports.tls, { ca: pki.ca, servername: 'localhost', cert: pki.serverCert, key: pki.serverKey });
    peer.send(offer(peer, sentBy));
    expect(statusOf(await peer.next())).toBe(200);
    const ua = await udpClient();
    ua.send(bye(ua.port, sentBy), ports.udp);
    const forwarded = await peer.next(5000);
    expect(forwarded).toMatch(new RegExp(`^BYE sip:carol@127\\.0\\.0\\.1:${sentBy};transport=tls SIP/2\\.0\\r\\n`));
    // Our own Via over TLS offers the same to the peer (§6).
    expect(headerOf(forwarded, 'Via')).toMatch(/^SIP\/2\.0\/TLS .*;alias/);
    peer.send(answer(forwarded, '200 OK', 'c'));
    const ok = await ua.next(5000);
    expect(statusOf(ok)).toBe(200);
    await ua.close();
    peer.close();
  });

  test('a certificate that does not name the sent-by earns no alias: the server connects to the sent-by itself (refused here)', async () => {
    const sentBy = await freePort();
    // pki.clientCert names client.test only.
    const peer = await tlsClient(ports.tls, { ca: pki.ca, servername: 'localhost', cert: pki.clientCert, key: pki.clientKey });
    peer.send(offer(peer, sentBy));
    expect(statusOf(await peer.next())).toBe(200);
    const ua = await udpClient();
    ua.send(bye(ua.port, sentBy), ports.udp);
    let final = await ua.next(5000);
    while (statusOf(final) < 200) final = await ua.next(5000);
    expect(statusOf(final)).toBeGreaterThanOrEqual(500);
    await expect(peer.next(500)).rejects.toThrow();
    await ua.close();
    peer.close();
  });
});
