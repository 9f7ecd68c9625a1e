// scripts/default.ts loaded through the ScriptHost and driving the stateful proxy (fake
// transaction layer, in-memory registrar port): the Kamailio-equivalent policy, case by case.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { StatefulProxy, type ScriptRequest } from '../../../node/proxy/index.js';
import { ScriptHost, proxyHooksFrom, type ScriptContact } from '../../../node/script/index.js';
import { FakeTransactions, factory, request } from '../proxy/fake-sip.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(here, '../../../scripts/default.ts');
const src = { address: '127.0.0.1', port: 5062, transport: 'UDP' };

const bindings = new Map<string, ScriptContact[]>([
  ['sip:bob@127.0.0.1:5060', [{ uri: 'sip:bob@127.0.0.1:6001', q: 1 }, { uri: 'sip:bob@127.0.0.1:6002', q: 0.5 }]],
]);
const saved: string[] = [];
let host: ScriptHost;

beforeAll(async () => {
  host = new ScriptHost({
    path: SCRIPT, reload: 'none',
    ports: {
      registrar: {
        save: (r: ScriptRequest) => { saved.push(r.header('To') ?? ''); r.reply(200, 'OK'); },
        lookup: (aor: string) => bindings.get(aor.replace(/;.*$/, '')) ?? [],
      },
      auth: { requireDigest: () => true },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    },
  });
  await host.start();
});
afterAll(() => host.stop());

function setup(): { proxy: StatefulProxy<string, number>; tx: FakeTransactions } {
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, hooks: proxyHooksFrom(() => host.handlers),
    isOwnAddress: (h, p) => (h === '127.0.0.1' || h === 'localhost') && p === 5060,
    advertised: { host: '127.0.0.1', port: 5060 }, recordRoute: false, inviteTimeoutMs: 180_000,
  });
  return { proxy, tx };
}

const dialog = (method: string, ruri: string, ...extra: string[]) => request(`${method} ${ruri}`,
  'Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKd1', 'Max-Forwards: 70', 'From: <sip:alice@127.0.0.1:5060>;tag=a',
  'Call-ID: d-1', `CSeq: 1 ${method}`, ...extra);

test('REGISTER goes to registrar.save', async () => {
  const { proxy, tx } = setup();
  await proxy.onRequest('s', dialog('REGISTER', 'sip:127.0.0.1:5060', 'To: <sip:carol@127.0.0.1:5060>',
    'Contact: <sip:carol@127.0.0.1:7000>'), src, 0);
  expect(saved).toEqual(['<sip:carol@127.0.0.1:5060>']);
  expect(tx.statuses('s')).toEqual([200]);
});

test('INVITE to a registered AoR forks in parallel to its contacts, record-routed; a pre-loaded Route is dropped', async () => {
  const { proxy, tx } = setup();
  await proxy.onRequest('s', dialog('INVITE', 'sip:bob@127.0.0.1:5060', 'To: <sip:bob@127.0.0.1:5060>',
    'Route: <sip:10.9.9.9;lr>'), src, 0);
  const sent = tx.method('INVITE');
  expect(sent.map((s) => s.request.uri)).toEqual(['sip:bob@127.0.0.1:6001', 'sip:bob@127.0.0.1:6002']);
  for (const s of sent) {
    expect(s.request.headers.get('Record-Route')).toBe('<sip:127.0.0.1:5060;lr>');
    expect(s.request.headers.get('Route')).toBeUndefined();
  }
});

test.each([
  ['INVITE to an unknown AoR → 404', dialog('INVITE', 'sip:nobody@127.0.0.1:5060', 'To: <sip:nobody@127.0.0.1:5060>'), 404],
  ['INVITE to a foreign domain → 403', dialog('INVITE', 'sip:bob@192.0.2.99', 'To: <sip:bob@192.0.2.99>'), 403],
  ['INVITE without a user → 484', dialog('INVITE', 'sip:127.0.0.1:5060', 'To: <sip:127.0.0.1:5060>'), 484],
  ['an unknown method addressed to the node itself → 501 (§8.2.1)', dialog('FOO', 'sip:127.0.0.1:5060', 'To: <sip:127.0.0.1:5060>'), 501],
  ['OPTIONS keepalive to us → 200', dialog('OPTIONS', 'sip:127.0.0.1:5060', 'To: <sip:127.0.0.1:5060>'), 200],
  ['in-dialog BYE without Route → 404', dialog('BYE', 'sip:bob@127.0.0.1:6001', 'To: <sip:bob@127.0.0.1:5060>;tag=b'), 404],
])('%s', async (_name, req, status) => {
  const { proxy, tx } = setup();
  await proxy.onRequest('s', req, src, 0);
  expect(tx.statuses('s')).toEqual([status]);
  expect(tx.sent).toHaveLength(0);
});

test('in-dialog BYE with our Route is loose-routed to the R-URI', async () => {
  const { proxy, tx } = setup();
  await proxy.onRequest('s', dialog('BYE', 'sip:bob@127.0.0.1:6001', 'To: <sip:bob@127.0.0.1:5060>;tag=b',
    'Route: <sip:127.0.0.1:5060;lr>'), src, 0);
  const [bye] = tx.method('BYE');
  expect(bye.dest).toEqual({ host: '127.0.0.1', port: 6001, transport: 'UDP', source: 'ruri' });
});

test('in-dialog ACK with our Route is forwarded statelessly; one without Route is dropped', async () => {
  const { proxy, tx } = setup();
  await proxy.onAck(dialog('ACK', 'sip:bob@127.0.0.1:6001', 'To: <sip:bob@127.0.0.1:5060>;tag=b',
    'Route: <sip:127.0.0.1:5060;lr>'), src, 0);
  await proxy.onAck(dialog('ACK', 'sip:bob@127.0.0.1:6002', 'To: <sip:bob@127.0.0.1:5060>;tag=b'), src, 0);
  expect(tx.stateless.map((s) => s.dest.port)).toEqual([6001]);
});
