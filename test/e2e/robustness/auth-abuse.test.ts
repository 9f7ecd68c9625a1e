/**
 * Digest auth under hostile or foreign credentials (RFC 3261 §22, RFC 4475 §3.1.4.7): unknown
 * schemes are challenged, malformed Digest gets a 400 naming the fault, nothing crashes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type ServerProcess } from '../../helpers/server-process.js';
import { sipRequest, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';
import { SHARED_DIR, optionsAnswered } from './harness.js';

let server: ServerProcess;
let c: UdpClient;
beforeAll(async () => {
  server = await startServer({ config: { nat: { force_rport: true }, auth: { realm: 'siphon', users: [{ username: 'alice', password: 'pw' }] } } });
  c = await udpClient();
}, 30_000);
afterAll(async () => {
  await c?.close();
  if (server) expect(await server.stop()).toBe(0);
});

async function finalFor(req: string | Buffer): Promise<string> {
  c.send(req, server.sipPort);
  for (;;) {
    const res = await c.next(3000);
    if (statusOf(res) >= 200) return res;
  }
}

function withCredentials(method: 'REGISTER' | 'INVITE', value: string): string {
  const header = method === 'REGISTER' ? 'Authorization' : 'Proxy-Authorization';
  const uri = method === 'REGISTER' ? `sip:127.0.0.1:${server.sipPort}` : `sip:bob@127.0.0.1:${server.sipPort}`;
  return sipRequest(method, { uri, viaPort: c.port, rport: true, extra: `${header}: ${value}\r\nContact: <sip:alice@127.0.0.1:${c.port}>\r\n` }).replace(
    /^To: <sip:127[^>]*>/m,
    'To: <sip:alice@127.0.0.1>',
  );
}

it('regaut01: an unknown authorization scheme is challenged with 401 (§3.1.4.7)', async () => {
  const res = await finalFor(readFileSync(join(SHARED_DIR, 'rfc4475', 'regaut01.sip')));
  expect(statusOf(res)).toBe(401);
  expect(res).toMatch(/\r\nWWW-Authenticate: Digest /);
}, 10_000);

it('Basic (token68) credentials are challenged for Digest, never accepted or refused as malformed (§22.4)', async () => {
  expect(statusOf(await finalFor(withCredentials('REGISTER', 'Basic YWxpY2U6cHc=')))).toBe(401);
  expect(statusOf(await finalFor(withCredentials('INVITE', 'Bearer abc.def.ghi')))).toBe(407);
}, 10_000);

it('malformed Digest credentials get a 400 whose reason names the fault; the node stays up', async () => {
  const broken = [
    'Digest',
    'Digest username=',
    'Digest username="alice",,,,realm',
    'Digest username="alice\\',
    'Digest a=b=c=d',
    `Digest username="alice", realm="siphon", nonce="${'n'.repeat(4000)}", uri="x", response="00", nc=zz, qop=auth, cnonce="c"`,
  ];
  for (const value of broken) {
    for (const method of ['REGISTER', 'INVITE'] as const) {
      const res = await finalFor(withCredentials(method, value));
      expect({ value, status: statusOf(res) }).toEqual({ value, status: 400 });
      expect(res.split('\r\n')[0]).toMatch(/^SIP\/2\.0 400 Bad Request - \S/);
    }
  }
  expect(await optionsAnswered(server)).toBe(200);
}, 20_000);
