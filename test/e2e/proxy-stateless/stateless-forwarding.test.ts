/**
 * The real server process (dist/node/main.js) forwarding without a response context, seen from
 * two raw UDP sockets: a UAC and a next hop. RFC 3261 §16.10: a CANCEL for an INVITE this node
 * never saw is forwarded (our Via on top, Max-Forwards decremented) and the next hop's answer is
 * relayed; §16.11 / §18.1.2: a late 2xx with our Via on top goes to the next Via's received/rport,
 * one whose top Via is not ours goes nowhere; over TCP it reuses the caller's open connection.
 */
import { startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, statusOf, tcpClient, udpClient, type UdpClient } from '../../helpers/sip-client.js';

let server: ServerProcess;
let uac: UdpClient;
let peer: UdpClient;

beforeAll(async () => {
  server = await startServer();
}, 30_000);
afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
});
beforeEach(async () => {
  uac = await udpClient();
  peer = await udpClient();
});
afterEach(async () => {
  await uac.close();
  await peer.close();
});

/** Header values of one name, in order (each Via line of ours carries one value). */
function valuesOf(msg: string, name: string): string[] {
  const head = msg.slice(0, msg.indexOf('\r\n\r\n'));
  return head.split('\r\n').slice(1)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(l.indexOf(':') + 1).trim());
}

function cancel(uri: string, tag: string, extra = ''): string {
  return `CANCEL ${uri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK-${tag}-${Date.now()};rport\r\n` +
    'Max-Forwards: 70\r\n' + extra +
    `From: <sip:alice@127.0.0.1>;tag=a-${tag}\r\n` +
    `To: <${uri}>\r\n` +
    `Call-ID: ${tag}-${Date.now()}@e2e\r\n` +
    'CSeq: 1 CANCEL\r\n' +
    'Content-Length: 0\r\n\r\n';
}

/** The answer a UAS gives to `req`: its Via stack, From, To (tagged), Call-ID and CSeq echoed. */
function answer(req: string, status: number, reason: string): string {
  const copy = (n: string): string => valuesOf(req, n).map((v) => `${n}: ${v}\r\n`).join('');
  return `SIP/2.0 ${status} ${reason}\r\n${copy('Via')}${copy('From')}To: ${headerOf(req, 'To')};tag=uas\r\n` +
    `${copy('Call-ID')}${copy('CSeq')}Content-Length: 0\r\n\r\n`;
}

async function expectCancelForwarded(req: string): Promise<void> {
  uac.send(req, server.sipPort);
  const got = await peer.next(3000);
  expect(got.startsWith('CANCEL ')).toBe(true);
  const vias = valuesOf(got, 'Via');
  expect(vias).toHaveLength(2);
  expect(vias[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${server.sipPort};branch=z9hG4bK`));
  expect(vias[1]).toContain(`127.0.0.1:${uac.port};branch=z9hG4bK-`);
  expect(headerOf(got, 'Max-Forwards')).toBe('69');
  // We answer nothing ourselves: the UAC hears only the next hop's 200, with its own Via alone.
  expect(await uac.silentFor(300)).toBe(true);
  peer.send(answer(got, 200, 'OK'), server.sipPort);
  const ok = await uac.next(3000);
  expect(statusOf(ok)).toBe(200);
  expect(headerOf(ok, 'CSeq')).toBe('1 CANCEL');
  expect(valuesOf(ok, 'Via')).toHaveLength(1);
  expect(valuesOf(ok, 'Via')[0]).toContain(`127.0.0.1:${uac.port};branch=z9hG4bK-`);
  const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  expect(metrics).toMatch(/siphon_proxy_stateless_total\{event="cancel_forwarded"\} [1-9]/);
}

test('a CANCEL for an INVITE this node never saw follows its Route to the next hop (§16.10)', async () => {
  await expectCancelForwarded(cancel('sip:bob@192.0.2.99', 'route', `Route: <sip:127.0.0.1:${peer.port};lr>\r\n`));
}, 20_000);

test('a CANCEL for an INVITE this node never saw follows its Request-URI to the next hop (§16.10)', async () => {
  await expectCancelForwarded(cancel(`sip:bob@127.0.0.1:${peer.port}`, 'ruri'));
}, 20_000);

test('a late 200 with our Via on top reaches the next Via\'s received/rport; one not ours is discarded (§16.11, §18.1.2)', async () => {
  const late = (topVia: string): string => 'SIP/2.0 200 OK\r\n' +
    `Via: ${topVia}\r\n` +
    // sent-by port 9 is wrong on purpose: rport (RFC 3581) says where the UAC really listens.
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-late-uac;rport=${uac.port};received=127.0.0.1\r\n` +
    'From: <sip:alice@127.0.0.1>;tag=a-late\r\n' +
    `To: <sip:bob@127.0.0.1:${peer.port}>;tag=b-late\r\n` +
    'Call-ID: late-200@e2e\r\n' +
    'CSeq: 1 INVITE\r\n' +
    `Contact: <sip:bob@127.0.0.1:${peer.port}>\r\n` +
    'Content-Length: 0\r\n\r\n';
  peer.send(late(`SIP/2.0/UDP 127.0.0.1:${server.sipPort};branch=z9hG4bK0123456789.ended`), server.sipPort);
  const got = await uac.next(3000);
  expect(statusOf(got)).toBe(200);
  expect(valuesOf(got, 'Via')).toEqual([`SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-late-uac;rport=${uac.port};received=127.0.0.1`]);
  expect(headerOf(got, 'Call-ID')).toBe('late-200@e2e');

  peer.send(late('SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-not-ours'), server.sipPort);
  expect(await uac.silentFor(500)).toBe(true);

  const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  expect(metrics).toMatch(/siphon_proxy_stateless_total\{event="response_forwarded"\} [1-9]/);
  expect(metrics).toMatch(/siphon_proxy_stateless_total\{event="response_dropped"\} [1-9]/);
}, 20_000);

test('a late 200 for a TCP caller goes back on the caller\'s open connection (§18.2.2, RFC 3581)', async () => {
  const caller = await tcpClient(server.sipPort);
  try {
    // An OPTIONS first, so the connection is surely adopted by the server before the 200 arrives.
    caller.send(`OPTIONS sip:127.0.0.1:${server.sipPort} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${caller.localPort};branch=z9hG4bK-tcp-opt\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1:${server.sipPort}>\r\nCall-ID: tcp-opt@e2e\r\n` +
      'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n');
    expect(statusOf(await caller.next(3000))).toBe(200);
    peer.send('SIP/2.0 200 OK\r\n' +
      `Via: SIP/2.0/TCP 127.0.0.1:${server.sipPort};branch=z9hG4bK0123456789.tcpended\r\n` +
      `Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-tcp-uac;rport=${caller.localPort};received=127.0.0.1\r\n` +
      'From: <sip:alice@127.0.0.1>;tag=a-tcp\r\nTo: <sip:bob@127.0.0.1>;tag=b-tcp\r\nCall-ID: late-tcp@e2e\r\n' +
      'CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n', server.sipPort);
    const got = await caller.next(3000);
    expect(statusOf(got)).toBe(200);
    expect(headerOf(got, 'Call-ID')).toBe('late-tcp@e2e');
    expect(valuesOf(got, 'Via')).toHaveLength(1);
  } finally {
    caller.close();
  }
}, 20_000);
