/**
 * SIP over WebSocket (RFC 7118) end to end: the real server process with a `listen.ws` listener,
 * two browser-style UAs on the `ws` package whose Contacts name `.invalid` hosts (as JsSIP and
 * SIP.js write them), and a UDP UA. Calls both ways between them through the record-routing proxy:
 * the callee reached over its registration connection, in-dialog requests over the connection
 * named by the flow token in our Record-Route (RFC 5626 §5.3).
 */
import { WebSocket } from 'ws';
import { freePort, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';
import { testPki } from '../../helpers/tls-certs.js';

const DOMAIN = 'ws.test';
let seq = 0;

interface WsUa {
  readonly host: string;
  send(text: string): void;
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

async function wsUa(port: number, host: string, secure?: { readonly ca: string }): Promise<WsUa> {
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const s = secure === undefined ? new WebSocket(`ws://127.0.0.1:${port}`, ['sip']) : new WebSocket(`wss://localhost:${port}`, ['sip'], { ca: secure.ca });
    s.once('open', () => resolve(s));
    s.once('error', reject);
  });
  const queue: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  ws.on('message', (data) => {
    const m = data.toString();
    const w = waiters.shift();
    if (w !== undefined) w(m);
    else queue.push(m);
  });
  return {
    host,
    send: (text) => ws.send(text),
    next: (timeoutMs = 3000) => {
      const q = queue.shift();
      if (q !== undefined) return Promise.resolve(q);
      return new Promise((resolve, reject) => {
        const w = (m: string): void => {
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${host}: nothing within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => ws.terminate(),
  };
}

/** A request as a browser UA writes it: Via WS with its .invalid host, no Content-Length needed. */
function wsRequest(ua: WsUa, method: string, uri: string, lines: readonly string[]): string {
  return `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/WS ${ua.host};branch=z9hG4bK-ws${++seq}\r\nMax-Forwards: 70\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
}

function udpRequest(ua: UdpClient, method: string, uri: string, lines: readonly string[]): string {
  return `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-udp${++seq};rport\r\nMax-Forwards: 70\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
}

/** A response to `req` as its UAS writes it: Via, Record-Route, From, Call-ID, CSeq copied. */
function answer(req: string, status: string, toTag: string, extra: readonly string[] = []): string {
  const copied = req.split('\r\n').filter((l) => /^(Via|Record-Route|From|Call-ID|CSeq):/i.test(l));
  const to = headerOf(req, 'To') ?? '';
  return `SIP/2.0 ${status}\r\n${copied.join('\r\n')}\r\nTo: ${to.includes('tag=') ? to : `${to};tag=${toTag}`}\r\n${extra.map((l) => `${l}\r\n`).join('')}Content-Length: 0\r\n\r\n`;
}

async function finalOrRequest(next: () => Promise<string>): Promise<string> {
  for (;;) {
    const m = await next();
    const s = statusOf(m);
    if (s === 0 || s >= 200) return m;
  }
}

/** The route set a UAC takes from a 2xx's Record-Route (§12.1.2: reversed). */
function routeSetOf(ok: string): string[] {
  return ok.split('\r\n').filter((l) => /^Record-Route:/i.test(l)).flatMap((l) => l.replace(/^Record-Route:\s*/i, '').split(/,(?=\s*<)/).map((s) => s.trim())).reverse();
}

describe('SIP over WebSocket through the real server', () => {
  let server: ServerProcess;
  let wsPort = 0;
  let udpPort = 0;
  let alice: WsUa;
  let bob: WsUa;
  let carol: UdpClient;

  beforeAll(async () => {
    wsPort = await freePort();
    udpPort = await freePort();
    server = await startServer({ config: { listen: { udp: [`127.0.0.1:${udpPort}`], tcp: [`127.0.0.1:${udpPort}`], ws: [`127.0.0.1:${wsPort}`] }, proxy: { local_domains: [DOMAIN] } } });
    alice = await wsUa(wsPort, 'a1ic3.invalid');
    bob = await wsUa(wsPort, 'b0b.invalid');
    carol = await udpClient();
    for (const [ua, user] of [[alice, 'alice'], [bob, 'bob']] as const) {
      ua.send(wsRequest(ua, 'REGISTER', `sip:${DOMAIN}`, [
        `From: <sip:${user}@${DOMAIN}>;tag=r${user}`, `To: <sip:${user}@${DOMAIN}>`, `Call-ID: reg-${user}@ws`, 'CSeq: 1 REGISTER',
        `Contact: <sip:${user}x@${ua.host};transport=ws>`, 'Expires: 300',
      ]));
      expect(statusOf(await ua.next())).toBe(200);
    }
  }, 30_000);

  afterAll(async () => {
    alice?.close();
    bob?.close();
    await carol?.close();
    expect(await server.stop()).toBe(0);
  });

  test('WebSocket to WebSocket: INVITE, 200, ACK and BYE from the caller, BYE from the callee, all over the clients\' own connections', async () => {
    const invite = wsRequest(alice, 'INVITE', `sip:bob@${DOMAIN}`, [
      `From: <sip:alice@${DOMAIN}>;tag=a1`, `To: <sip:bob@${DOMAIN}>`, 'Call-ID: ws-call-1', 'CSeq: 1 INVITE', `Contact: <sip:alicex@${alice.host};transport=ws;ob>`,
    ]);
    alice.send(invite);
    const atBob = await bob.next();
    expect(atBob).toMatch(new RegExp(`^INVITE sip:bobx@${bob.host};transport=ws SIP/2\\.0`));
    const rr = atBob.split('\r\n').filter((l) => /^Record-Route:/i.test(l));
    expect(rr.length).toBeGreaterThan(0);
    for (const entry of rr) expect(entry).toMatch(new RegExp(`^Record-Route: <sip:ft\\d+\\.[0-9a-f]{16}@127\\.0\\.0\\.1:${wsPort};transport=ws;lr>$`));

    bob.send(answer(atBob, '200 OK', 'b1', [`Contact: <sip:bobx@${bob.host};transport=ws>`]));
    const ok = await finalOrRequest(() => alice.next());
    expect(statusOf(ok)).toBe(200);
    const routes = routeSetOf(ok).map((r) => `Route: ${r}`);
    const fromAlice = [`From: <sip:alice@${DOMAIN}>;tag=a1`, `To: <sip:bob@${DOMAIN}>;tag=b1`, 'Call-ID: ws-call-1', ...routes];
    alice.send(wsRequest(alice, 'ACK', `sip:bobx@${bob.host};transport=ws`, [...fromAlice, 'CSeq: 1 ACK']));
    expect(await bob.next()).toMatch(/^ACK sip:bobx@b0b\.invalid;transport=ws SIP\/2\.0/);

    // The callee hangs up: its route set is the Record-Route in order, towards alice's .invalid Contact.
    const fromBob = [`From: <sip:bob@${DOMAIN}>;tag=b1`, `To: <sip:alice@${DOMAIN}>;tag=a1`, 'Call-ID: ws-call-1', ...rr.map((l) => l.replace(/^Record-Route/, 'Route'))];
    bob.send(wsRequest(bob, 'BYE', `sip:alicex@${alice.host};transport=ws;ob`, [...fromBob, 'CSeq: 1 BYE']));
    const bye = await alice.next();
    expect(bye).toMatch(/^BYE sip:alicex@a1ic3\.invalid;transport=ws;ob SIP\/2\.0/);
    alice.send(answer(bye, '200 OK', 'a1'));
    expect(statusOf(await bob.next())).toBe(200);
  });

  test('UDP caller to a WebSocket callee and back: the WebSocket side of the Record-Route carries the token', async () => {
    const port = carol.port;
    carol.send(Buffer.from(udpRequest(carol, 'INVITE', `sip:alice@${DOMAIN}`, [
      `From: <sip:carol@${DOMAIN}>;tag=c1`, `To: <sip:alice@${DOMAIN}>`, 'Call-ID: ws-call-2', 'CSeq: 1 INVITE', `Contact: <sip:carol@127.0.0.1:${port}>`,
    ])), udpPort);
    const atAlice = await alice.next();
    expect(atAlice).toMatch(/^INVITE sip:alicex@a1ic3\.invalid;transport=ws SIP\/2\.0/);
    const rr = atAlice.split('\r\n').filter((l) => /^Record-Route:/i.test(l)).map((l) => l.replace(/^Record-Route:\s*/, ''));
    expect(rr).toHaveLength(2);
    expect(rr[0]).toMatch(/^<sip:ft\d+\.[0-9a-f]{16}@127\.0\.0\.1:\d+;transport=ws;lr>$/);
    expect(rr[1]).toMatch(/^<sip:127\.0\.0\.1:\d+;lr>$/);
    alice.send(answer(atAlice, '200 OK', 'a2', [`Contact: <sip:alicex@${alice.host};transport=ws>`]));
    const ok = await finalOrRequest(async () => (await carol.next()).toString());
    expect(statusOf(ok)).toBe(200);

    // Carol's BYE follows the reversed route set and reaches alice over her connection.
    const routes = routeSetOf(ok).map((r) => `Route: ${r}`);
    carol.send(Buffer.from(udpRequest(carol, 'BYE', `sip:alicex@${alice.host};transport=ws`, [
      `From: <sip:carol@${DOMAIN}>;tag=c1`, `To: <sip:alice@${DOMAIN}>;tag=a2`, 'Call-ID: ws-call-2', 'CSeq: 2 BYE', ...routes,
    ])), udpPort);
    const bye = await alice.next();
    expect(bye).toMatch(/^BYE sip:alicex@a1ic3\.invalid;transport=ws SIP\/2\.0/);
    alice.send(answer(bye, '200 OK', 'a2'));
    expect(statusOf((await carol.next()).toString())).toBe(200);
  });

  test('a forged flow token in a Route is not followed: the request is not delivered to that client', async () => {
    const forged = `Route: <sip:ft1.0000000000000000@127.0.0.1:${wsPort};transport=ws;lr>`;
    carol.send(Buffer.from(udpRequest(carol, 'BYE', `sip:bobx@${bob.host};transport=ws`, [
      `From: <sip:carol@${DOMAIN}>;tag=c9`, `To: <sip:bob@${DOMAIN}>;tag=zz`, 'Call-ID: ws-forged', 'CSeq: 1 BYE', forged,
    ])), udpPort);
    const final = await finalOrRequest(async () => (await carol.next()).toString());
    expect(statusOf(final)).toBeGreaterThanOrEqual(400);
    await expect(bob.next(300)).rejects.toThrow();
  });
});

describe('secure WebSocket (wss) on the real server', () => {
  const pki = testPki();
  let server: ServerProcess;
  let wssPort = 0;

  beforeAll(async () => {
    wssPort = await freePort();
    const udp = await freePort();
    server = await startServer({
      config: {
        listen: { udp: [`127.0.0.1:${udp}`], tcp: [`127.0.0.1:${udp}`], wss: [`127.0.0.1:${wssPort}`] },
        proxy: { local_domains: [DOMAIN] },
        tls: { certificate: pki.serverCertFile, private_key: pki.serverKeyFile },
      },
    });
  }, 30_000);

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  test('REGISTER over wss: 200 on the same connection, the binding stored as registered over wss', async () => {
    const dave = await wsUa(wssPort, 'd4v3.invalid', { ca: pki.ca });
    dave.send(wsRequest(dave, 'REGISTER', `sip:${DOMAIN}`, [
      `From: <sip:dave@${DOMAIN}>;tag=rd`, `To: <sip:dave@${DOMAIN}>`, 'Call-ID: reg-dave@wss', 'CSeq: 1 REGISTER',
      `Contact: <sip:davex@${dave.host};transport=wss>`, 'Expires: 300',
    ]).replace('SIP/2.0/WS ', 'SIP/2.0/WSS '));
    const ok = await dave.next();
    expect(statusOf(ok)).toBe(200);
    expect(headerOf(ok, 'Via')).toMatch(/^SIP\/2\.0\/WSS d4v3\.invalid;/);
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/admin/registrations/${encodeURIComponent(`sip:dave@${DOMAIN}`)}`);
    expect(JSON.stringify(await res.json())).toContain('"transport":"wss"');
    dave.close();
  });
});
