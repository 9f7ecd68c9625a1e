// The NAT keep-alive's bookkeeping (node/app/nat-keepalive.ts): who gets pinged each round, who
// answered, and who has missed enough pings in a row to be removed.
import { NatKeepaliveBook } from '../../../node/app/nat-keepalive.js';

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
