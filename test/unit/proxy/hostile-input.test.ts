// Bad input never throws out of the proxy: a seeded sweep of mangled requests and responses.
import { StatefulProxy } from '../../../node/proxy/index.js';
import { seeded as rng } from '../../helpers/seeded.js';
import { answer, factory, FakeTransactions, request } from './fake-sip.js';

const URIS = ['sip:bob@example.com', 'sip:', 'sip:@', 'sip:[::1', 'sip:h:99999', 'tel:+123', 'sips:x@y;lr;transport=',
  'sip:proxy.example.com;lr', 'garbage', 'sip:a@b?x=y', 'sip:a@b:5060;maddr='];
const VALUES = ['', ' ', '<', '<sip:', '<sip:proxy.example.com;lr>', 'SIP/2.0/UDP', 'SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKxxxxxxxxxx.1',
  '"unterminated', ';tag=', 'abc', '-1', '99999999999', '<sip:x@y>;tag=1', ',,,'];
const NAMES = ['Via', 'Route', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Proxy-Require', 'Record-Route'];

test('500 mangled requests and their responses: no throw, every request answered or forwarded', async () => {
  const r = rng(42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const tx = new FakeTransactions();
  const proxy = new StatefulProxy<string, number>({
    transactions: tx, factory, isOwnAddress: (h, p) => h === 'proxy.example.com' && p === 5060,
    advertised: { host: 'proxy.example.com', port: 5060 }, recordRoute: true, inviteTimeoutMs: 1000,
    hooks: { onRequest: (q) => (r() < 0.5 ? q.relay() : q.fork([pick(URIS), pick(URIS)], { strategy: r() < 0.5 ? 'parallel' : 'sequential' })) },
  });
  for (let i = 0; i < 500; i++) {
    const lines = NAMES.filter(() => r() < 0.7).map((n) => `${n}: ${pick(VALUES)}`);
    const req = request(`${pick(['INVITE', 'BYE', 'OPTIONS', 'ACK', 'CANCEL'])} ${pick(URIS)}`, ...lines);
    const sentBefore = tx.sent.length;
    const server = `s${i}`;
    if (req.method === 'ACK') await proxy.onAck(req, { address: '192.0.2.1', port: 5060, transport: 'UDP' }, i);
    else await proxy.onRequest(server, req, { address: '192.0.2.1', port: 5060, transport: 'UDP' }, i);
    for (const s of tx.sent.slice(sentBefore)) {
      const res = answer(s.request, pick([100, 180, 200, 486, 503, 603]));
      if (r() < 0.3) res.headers.remove('Via');
      await proxy.onResponse(s.tx, res, i);
    }
    // The transaction layer ends the client transactions (Timer D/K, or right away on a 2xx):
    // a later request reusing this one's Via is then a new transaction, not a late retransmission.
    for (const s of tx.sent.slice(sentBefore)) proxy.onTerminated(s.tx);
    if (req.method !== 'ACK') expect(tx.statuses(server).length + tx.sent.length - sentBefore).toBeGreaterThan(0);
  }
  await proxy.advance(10_000);
  await proxy.advance(100_000);
});
