// The NAT keep-alive's bookkeeping (node/app/nat-keepalive.ts): who gets pinged each round, who
// answered, and who has missed enough pings in a row to be removed.
import { jest } from '@jest/globals';
import { NatKeepaliveBook, startNatKeepalive } from '../../../node/app/nat-keepalive.js';
import type { Binding, Registrar } from '../../../node/registrar/index.js';

const a = { aor: 'sip:a@x', key: 'uri:sip:a@10.0.0.1' };
const b = { aor: 'sip:b@x', key: 'uri:sip:b@10.0.0.2' };

test('every present binding is pinged each round; an answer resets its misses', () => {
  const book = new NatKeepaliveBook(2);
  const r1 = book.round([a, b]);
  expect(r1.ping.map((p) => p.aor)).toEqual([a.aor, b.aor]);
  expect(r1.failed).toEqual([]);
  expect(book.answered(r1.ping[0].callId)).toBe(true);
  const r2 = book.round([a, b]); // b missed one
  expect(r2.failed).toEqual([]);
  expect(book.answered(r2.ping[0].callId)).toBe(true);
  const r3 = book.round([a, b]); // b missed two: removed, not pinged again
  expect(r3.failed).toEqual([b]);
  expect(r3.ping.map((p) => p.aor)).toEqual([a.aor]);
  expect(new Set([...r1.ping, ...r2.ping, ...r3.ping].map((p) => p.callId)).size).toBe(5);
});

test('a binding that answers after missing some starts counting from zero again', () => {
  const book = new NatKeepaliveBook(3);
  book.round([a]);
  book.round([a]);
  const r3 = book.round([a]); // two misses so far
  expect(book.answered(r3.ping[0].callId)).toBe(true);
  expect(book.round([a]).failed).toEqual([]);
  expect(book.round([a]).failed).toEqual([]);
  expect(book.round([a]).failed).toEqual([]);
  expect(book.round([a]).failed).toEqual([a]);
});

test('bindings gone since the last round are forgotten; a late answer to one is still absorbed; foreign Call-IDs are not ours', () => {
  const book = new NatKeepaliveBook(1);
  const r1 = book.round([a, b]);
  book.round([a]);
  expect(book.tracked).toBe(0); // a failed at once (threshold 1), b is gone
  expect(book.answered(r1.ping[1].callId)).toBe(true);
  expect(book.answered('1234@phone')).toBe(false);
});

describe('startNatKeepalive', () => {
  /** `n` UDP bindings registered from behind a NAT (private Contact, another source). */
  function natBindings(n: number): [string, Binding[]][] {
    return Array.from({ length: n }, (_, i) => {
      const aor = `sip:u${i}@example.com`;
      const b = {
        aor, key: `uri:${i}`, contactUri: `sip:u${i}@192.168.0.${1 + (i % 200)}:5060`, params: [], q: null, expires: 3600,
        expiresAt: Number.MAX_SAFE_INTEGER, callId: `c${i}`, cseq: 1, instance: null, regId: null, outbound: false, path: [],
        flow: { transport: 'udp', address: '203.0.113.5', port: 10000 + i, connectionId: null, localAddress: '127.0.0.1:5060' },
        userAgent: null, registeredAt: 0, updatedAt: 0, tempGruus: [],
      } satisfies Binding;
      return [aor, [b]];
    });
  }

  test('a round of pings leaves in bursts of 200 spread over the interval, each to the binding\'s source', () => {
    jest.useFakeTimers();
    try {
      const sent: { to: number; uri: string }[] = [];
      const listener = { transport: 'udp', host: '127.0.0.1', port: 5060, advertisedHost: '127.0.0.1', advertisedPort: 5060 } as const;
      const host = {
        listeners: [listener],
        udp: [{ listener, send: (bytes: Buffer, dest: { port: number }) => void sent.push({ to: dest.port, uri: bytes.toString('latin1').split(' ')[1] }) }],
        tcp: [],
      };
      const bindings = natBindings(450);
      const registrar = { allBindings: () => bindings, bindingFailed: async () => true } as unknown as Registrar;
      const ka = startNatKeepalive(host, registrar, { intervalMs: 1000, failureThreshold: 3 }, () => 0, (err) => {
        throw err;
      });
      jest.advanceTimersByTime(1000);
      expect(sent).toHaveLength(200);
      expect(sent[0]).toEqual({ to: 10000, uri: 'sip:u0@192.168.0.1:5060' });
      jest.advanceTimersByTime(300); // bursts every 800/3 ms
      expect(sent).toHaveLength(400);
      jest.advanceTimersByTime(300);
      expect(sent).toHaveLength(450);
      ka.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});
