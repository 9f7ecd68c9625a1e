/**
 * node/app composed over a real in-process node (node/core on 127.0.0.1 sockets, port 0): the
 * registrar answers only after the binding store committed, the proxy routes an INVITE to a
 * registered contact through the dispatcher's transactions, and a contact that never answers gets
 * the caller a 408 from Timer B (client-transaction timeout forwarded to the proxy).
 */
import { MemoryBindingStore, type BindingChange } from '../../../node/registrar/index.js';
import { startInProcessApp, type InProcessApp } from '../../helpers/in-process-app.js';
import { headerOf, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';

/** A store whose commits wait for the test: stands in for the Raft-backed store (commit = resolve). */
class GatedStore extends MemoryBindingStore {
  gate: Promise<void> | null = null;
  override async apply(changes: readonly BindingChange[], now: number, expect?: Parameters<MemoryBindingStore['apply']>[2]): Promise<void> {
    if (this.gate !== null) await this.gate;
    return super.apply(changes, now, expect);
  }
}

let running: InProcessApp;
let port: number;
const store = new GatedStore();
let seq = 0;

beforeAll(async () => {
  running = await startInProcessApp(
    {
      listen: { udp: ['127.0.0.1:0'], tcp: ['127.0.0.1:0'] },
      // Timer B (transaction.timeout_secs) = 1 s, so the no-answer test stays short.
      transaction: { t1_ms: 20, t2_ms: 80, timeout_secs: 1 },
    },
    { store, sweepIntervalMs: 100 },
  );
  port = running.port;
});

afterAll(() => running.stop());

function register(ua: UdpClient, user: string, expires = 600): string {
  const n = ++seq;
  return (
    `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-reg${n};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:${user}@127.0.0.1>;tag=r${n}\r\nTo: <sip:${user}@127.0.0.1>\r\n` +
    `Call-ID: reg-${user}-${n}@test\r\nCSeq: ${n} REGISTER\r\n` +
    `Contact: <sip:${user}@127.0.0.1:${ua.port}>\r\nExpires: ${expires}\r\nContent-Length: 0\r\n\r\n`
  );
}

function invite(ua: UdpClient, user: string): string {
  const n = ++seq;
  return (
    `INVITE sip:${user}@127.0.0.1:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-inv${n};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=c${n}\r\nTo: <sip:${user}@127.0.0.1>\r\n` +
    `Call-ID: call-${n}@test\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:${ua.port}>\r\nContent-Length: 0\r\n\r\n`
  );
}

/** The UAS answer to a received request: every Via, From, To with a tag, Call-ID, CSeq (§8.2.6). */
function answer(req: string, status: number, reason: string): string {
  const lines = req.split('\r\n');
  const pick = (name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return (
    `SIP/2.0 ${status} ${reason}\r\n` +
    [...pick('Via'), ...pick('Record-Route'), ...pick('From'), `${pick('To')[0]};tag=uas1`, ...pick('Call-ID'), ...pick('CSeq')].join('\r\n') +
    `\r\nContact: <sip:uas@127.0.0.1>\r\nContent-Length: 0\r\n\r\n`
  );
}

async function nextFinal(ua: UdpClient, timeoutMs = 3000): Promise<string> {
  for (;;) {
    const m = await ua.next(timeoutMs);
    if (statusOf(m) >= 200) return m;
  }
}

test('REGISTER is answered 200 only after the binding store committed the change', async () => {
  const ua = await udpClient();
  let release!: () => void;
  store.gate = new Promise<void>((r) => (release = r));
  ua.send(register(ua, 'ann'), port);
  expect(await ua.silentFor(300)).toBe(true);
  expect(store.count()).toBe(0);
  release();
  store.gate = null;
  const res = await ua.next();
  expect(statusOf(res)).toBe(200);
  expect(headerOf(res, 'Contact')).toContain(`sip:ann@127.0.0.1:${ua.port}`);
  expect(running.app.registrar.lookup('sip:ann@127.0.0.1', Date.now())).toHaveLength(1);
  await ua.close();
});

test('a retransmitted REGISTER is absorbed by the server transaction and gets the same response', async () => {
  const ua = await udpClient();
  const req = register(ua, 'rita');
  ua.send(req, port);
  const first = await ua.next();
  ua.send(req, port);
  const again = await ua.next();
  expect(statusOf(again)).toBe(200);
  expect(headerOf(again, 'To')).toBe(headerOf(first, 'To')); // same To tag: the stored response, not a new one
  await ua.close();
});

test('an INVITE to a registered AoR reaches the contact with our Via and Record-Route; its 200 reaches the caller', async () => {
  const callee = await udpClient();
  const caller = await udpClient();
  callee.send(register(callee, 'bea'), port);
  expect(statusOf(await callee.next())).toBe(200);
  caller.send(invite(caller, 'bea'), port);
  const forwarded = await callee.next();
  expect(forwarded.startsWith(`INVITE sip:bea@127.0.0.1:${callee.port} SIP/2.0`)).toBe(true);
  expect(forwarded).toMatch(new RegExp(`Record-Route: <sip:127\\.0\\.0\\.1:${port};lr>`));
  expect(forwarded.match(/^Via:/gim)).toHaveLength(2);
  expect(headerOf(forwarded, 'Max-Forwards')).toBe('69');
  callee.send(answer(forwarded, 200, 'OK'), port);
  const res = await nextFinal(caller);
  expect(statusOf(res)).toBe(200);
  expect(res.match(/^Via:/gim)).toHaveLength(1); // the proxy removed its own Via (§16.7 item 3)
  expect(headerOf(res, 'Via')).toContain(`branch=z9hG4bK-inv`);
  await callee.close();
  await caller.close();
});

test('a registered contact that never answers: Timer B fires and the caller gets 408', async () => {
  const callee = await udpClient();
  const caller = await udpClient();
  callee.send(register(callee, 'sam'), port);
  expect(statusOf(await callee.next())).toBe(200);
  caller.send(invite(caller, 'sam'), port);
  const res = await nextFinal(caller, 5000);
  expect(statusOf(res)).toBe(408);
  await callee.close();
  await caller.close();
});

test('an INVITE to an unknown user gets 404 from the default script; OPTIONS to the node gets 200', async () => {
  const ua = await udpClient();
  ua.send(invite(ua, 'nobody'), port);
  expect(statusOf(await nextFinal(ua))).toBe(404);
  const n = ++seq;
  ua.send(
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-opt${n}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:probe@127.0.0.1>;tag=o${n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: opt-${n}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    port,
  );
  const res = await ua.next();
  expect(statusOf(res)).toBe(200);
  expect(headerOf(res, 'Allow')).toContain('REGISTER');
  // §11.2: the methods routed too, and a Contact naming the listener the probe reached.
  expect(headerOf(res, 'Allow')?.split(/\s*,\s*/)).toEqual(expect.arrayContaining(['MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'INFO', 'REFER', 'PRACK', 'UPDATE']));
  expect(headerOf(res, 'Contact')).toBe(`<sip:127.0.0.1:${port}>`);
  await ua.close();
});
