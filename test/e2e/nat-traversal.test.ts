/**
 * End-to-end: NAT fix-ups on the real server (`nat.fix_register`, `nat.fix_contact`). Two UDP UAs
 * on loopback write private addresses in their Contacts, as phones behind a NAT do: Alice registers
 * `192.168.1.10:5060` from 127.0.0.1:<her port>, Bob calls with `10.0.0.7:5060`. The call reaches
 * Alice at the address she registered from, each side sees the other's Contact as the address it
 * really sends from, and in-dialog requests by those Contacts arrive.
 */
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.js';
import { headerOf, statusOf, udpClient, type UdpClient } from '../helpers/sip-client.js';

const DOMAIN = 'nat.test';
let server: ServerProcess;
let sipPort = 0;
let alice: UdpClient;
let bob: UdpClient;

beforeAll(async () => {
  sipPort = await freePort();
  server = await startServer({
    config: {
      listen: { udp: [`127.0.0.1:${sipPort}`], tcp: [`127.0.0.1:${sipPort}`] },
      proxy: { local_domains: [DOMAIN] },
      nat: { fix_register: true, fix_contact: true },
    },
  });
  alice = await udpClient();
  bob = await udpClient();
}, 30_000);

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  expect(await server?.stop()).toBe(0);
});

/** The next message on `ua` that is not a 100 Trying. */
async function nextBut100(ua: UdpClient): Promise<string> {
  for (;;) {
    const m = await ua.next(5000);
    if (statusOf(m) !== 100) return m;
  }
}

/** A response to `req` as its UAS writes it (Via, Record-Route, From, Call-ID, CSeq copied). */
function answer(req: string, status: string, extra: readonly string[] = []): string {
  const copied = req.split('\r\n').filter((l) => /^(Via|Record-Route|From|Call-ID|CSeq):/i.test(l));
  const to = headerOf(req, 'To') ?? '';
  return `SIP/2.0 ${status}\r\n${copied.join('\r\n')}\r\nTo: ${to.includes('tag=') ? to : `${to};tag=callee`}\r\n${extra.map((l) => `${l}\r\n`).join('')}Content-Length: 0\r\n\r\n`;
}

test('a call between two UAs writing private Contacts: routed to the registration source, Contacts rewritten, BYE delivered', async () => {
  alice.send(
    `REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-nr1;rport\r\nMax-Forwards: 70\r\n` +
      `From: <sip:alice@${DOMAIN}>;tag=r1\r\nTo: <sip:alice@${DOMAIN}>\r\nCall-ID: nat-reg@test\r\nCSeq: 1 REGISTER\r\n` +
      `Contact: <sip:alice@192.168.1.10:5060>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n`,
    sipPort,
  );
  const reg = await alice.next();
  expect(statusOf(reg)).toBe(200);
  // The binding keeps the Contact the UA wrote (it must recognise it in the 200).
  expect(headerOf(reg, 'Contact')).toContain('sip:alice@192.168.1.10:5060');

  bob.send(
    `INVITE sip:alice@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK-ni1;rport\r\nMax-Forwards: 70\r\n` +
      `From: <sip:bob@${DOMAIN}>;tag=b1\r\nTo: <sip:alice@${DOMAIN}>\r\nCall-ID: nat-call@test\r\nCSeq: 1 INVITE\r\n` +
      `Contact: "Bob" <sip:bob@10.0.0.7:5060;transport=udp>\r\nContent-Length: 0\r\n\r\n`,
    sipPort,
  );
  // fix_register: the INVITE reaches Alice where she registered from, still addressed to her contact.
  const invite = await nextBut100(alice);
  expect(invite).toMatch(/^INVITE sip:alice@192\.168\.1\.10:5060 SIP\/2\.0\r\n/);
  // fix_contact: Bob's Contact names where he sends from.
  expect(headerOf(invite, 'Contact')).toBe(`"Bob" <sip:bob@127.0.0.1:${bob.port};transport=udp>`);

  alice.send(answer(invite, '200 OK', ['Contact: <sip:alice@192.168.1.10:5060>']), sipPort);
  const ok = await nextBut100(bob);
  expect(statusOf(ok)).toBe(200);
  expect(headerOf(ok, 'Contact')).toBe(`<sip:alice@127.0.0.1:${alice.port}>`);

  // Bob's in-dialog requests go to Alice's (fixed) Contact by the route set.
  const routes = ok
    .split('\r\n')
    .filter((l) => /^Record-Route:/i.test(l))
    .map((l) => l.replace(/^Record-Route:\s*/i, ''))
    .reverse();
  const inDialog = (method: string, cseq: number, branch: string): string =>
    `${method} sip:alice@127.0.0.1:${alice.port} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5060;branch=${branch};rport\r\nMax-Forwards: 70\r\n` +
    `${routes.map((r) => `Route: ${r}\r\n`).join('')}From: <sip:bob@${DOMAIN}>;tag=b1\r\nTo: ${headerOf(ok, 'To')}\r\nCall-ID: nat-call@test\r\n` +
    `CSeq: ${cseq} ${method}\r\nContent-Length: 0\r\n\r\n`;
  bob.send(inDialog('ACK', 1, 'z9hG4bK-na1'), sipPort);
  expect(await alice.next()).toMatch(/^ACK /);
  bob.send(inDialog('BYE', 2, 'z9hG4bK-nb1'), sipPort);
  const bye = await alice.next();
  expect(bye).toMatch(new RegExp(`^BYE sip:alice@127\\.0\\.0\\.1:${alice.port} SIP/2\\.0\\r\\n`));
  alice.send(answer(bye, '200 OK'), sipPort);
  expect(statusOf(await nextBut100(bob))).toBe(200);
});
