// The whole routing stack without sockets: real TransactionManager, node/sip messages, the
// registrar, the shipped default script. REGISTER, then a call INVITE/180/200/ACK/BYE through it.
import { DialogTracker } from '../../../node/dialog/index.js';
import { DEFAULT_REGISTRAR_SETTINGS, MemoryBindingStore, Registrar } from '../../../node/registrar/index.js';
import { createRoutingStack, type RoutingStack } from '../../../node/script/index.js';
import { parseMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../node/sip/index.js';
import { TransactionManager, sipMessageFactory, sipMessageOf, timerConfig, viewOf } from '../../../node/transaction/index.js';

type Addr = string;
const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); };
const msg = (lines: string[]): SipMessage => parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`));
const PROXY = '127.0.0.1:5060';
const ALICE = '127.0.0.1:6000';
const BOB = '127.0.0.1:6001';

let now = 1_700_000_000_000;
const out: Array<{ to: Addr; msg: SipMessage; stateless?: boolean }> = [];
let manager: TransactionManager<Addr>;
let stack: RoutingStack<Addr>;
const dialogs = new DialogTracker({ idleTimeoutMs: 3_600_000 });

beforeAll(async () => {
  const registrar = new Registrar(new MemoryBindingStore(), DEFAULT_REGISTRAR_SETTINGS);
  stack = await createRoutingStack<Addr>({
    scriptPath: null, reload: 'none', manager: () => manager,
    destination: (h) => `${h.host}:${h.port}`,
    sourceOf: (a) => ({ address: a.split(':')[0], port: Number(a.split(':')[1]), transport: 'UDP' }),
    sendStateless: (req: SipRequest, to) => out.push({ to, msg: req, stateless: true }),
    clock: () => now, registrar, auth: null,
    isOwnAddress: (h, p) => (h === '127.0.0.1' || h === 'localhost') && p === 5060,
    advertised: { host: '127.0.0.1', port: 5060 }, recordRoute: true, inviteTimeoutMs: 180_000, dialogs,
    log: { info: () => undefined, warn: () => undefined, error: (o, m) => { throw new Error(`${m} ${JSON.stringify(o)}`); } },
  });
  manager = new TransactionManager<Addr>({
    config: timerConfig(), factory: sipMessageFactory, tu: stack.tu, isReliable: () => false,
    transport: { send: (m, to) => out.push({ to, msg: sipMessageOf(m) }) },
  });
});
afterAll(() => stack.stop());

function inbound(lines: string[], from: Addr): void {
  manager.onInbound(viewOf(msg(lines)), from, now);
}
const responsesTo = (to: Addr): SipResponse[] => out.filter((o) => o.to === to && !o.msg.isRequest).map((o) => o.msg as SipResponse);
const requestsTo = (to: Addr, method: string): SipRequest[] =>
  out.filter((o) => o.to === to && o.msg.isRequest && o.msg.method === method).map((o) => o.msg as SipRequest);

test('REGISTER then a call through the default script', async () => {
  inbound(['REGISTER sip:127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP ${BOB};branch=z9hG4bKreg1`, 'Max-Forwards: 70',
    'From: <sip:bob@127.0.0.1:5060>;tag=r1', 'To: <sip:bob@127.0.0.1:5060>', 'Call-ID: reg-1', 'CSeq: 1 REGISTER',
    `Contact: <sip:bob@${BOB}>`, 'Expires: 300', 'Content-Length: 0'], BOB);
  await settle();
  const [reg] = responsesTo(BOB);
  expect(reg.status).toBe(200);
  expect(reg.headers.get('Contact')).toContain(`sip:bob@${BOB}`);

  const call = ['From: <sip:alice@127.0.0.1:5060>;tag=a1', 'Call-ID: call-1'];
  inbound(['INVITE sip:bob@127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP ${ALICE};branch=z9hG4bKinv1`, 'Max-Forwards: 70',
    ...call, 'To: <sip:bob@127.0.0.1:5060>', 'CSeq: 1 INVITE', `Contact: <sip:alice@${ALICE}>`, 'Content-Length: 0'], ALICE);
  await settle();
  const [inv] = requestsTo(BOB, 'INVITE');
  expect(inv.uri).toBe(`sip:bob@${BOB}`);
  expect(inv.headers.get('Record-Route')).toBe(`<sip:${PROXY};lr>`);

  const reply = (status: number, reason: string): string[] => [`SIP/2.0 ${status} ${reason}`,
    ...inv.headers.getAll('Via').map((v) => `Via: ${v}`), `Record-Route: <sip:${PROXY};lr>`, ...call,
    'To: <sip:bob@127.0.0.1:5060>;tag=b1', 'CSeq: 1 INVITE', `Contact: <sip:bob@${BOB}>`, 'Content-Length: 0'];
  inbound(reply(180, 'Ringing'), BOB);
  inbound(reply(200, 'OK'), BOB);
  await settle();
  expect(responsesTo(ALICE).map((r) => r.status)).toEqual([180, 200]);
  expect(dialogs.active).toBe(1);

  const inDialog = (method: string, branch: string, cseq: string): string[] => [`${method} sip:bob@${BOB} SIP/2.0`,
    `Via: SIP/2.0/UDP ${ALICE};branch=${branch}`, 'Max-Forwards: 70', `Route: <sip:${PROXY};lr>`, ...call,
    'To: <sip:bob@127.0.0.1:5060>;tag=b1', `CSeq: ${cseq}`, 'Content-Length: 0'];
  inbound(inDialog('ACK', 'z9hG4bKack1', '1 ACK'), ALICE);
  await settle();
  expect(out.filter((o) => o.stateless && o.to === BOB).map((o) => (o.msg as SipRequest).method)).toEqual(['ACK']);

  inbound(inDialog('BYE', 'z9hG4bKbye1', '2 BYE'), ALICE);
  await settle();
  const [bye] = requestsTo(BOB, 'BYE');
  expect(bye.headers.get('Route')).toBeUndefined();
  inbound(['SIP/2.0 200 OK', ...bye.headers.getAll('Via').map((v) => `Via: ${v}`), ...call,
    'To: <sip:bob@127.0.0.1:5060>;tag=b1', 'CSeq: 2 BYE', 'Content-Length: 0'], BOB);
  await settle();
  expect(responsesTo(ALICE).map((r) => r.status)).toEqual([180, 200, 200]);
  expect(dialogs.active).toBe(0);
});
