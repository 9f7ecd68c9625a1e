import { ENVELOPE_BYTES, unwrap, wrap } from '../../../cluster/log/proposal-envelope.js';

test('a client entry carries its proposal id and round-trips; other data is not mistaken for one', () => {
  const id = { origin: 7, incarnation: 0xdeadbeef, seq: 4_000_000_000 };
  const w = wrap(id, Buffer.from('payload'));
  expect(w.length).toBe(ENVELOPE_BYTES + 7);
  const u = unwrap(w)!;
  expect(u.id).toEqual(id);
  expect(Buffer.from(u.payload).toString()).toBe('payload');
  expect(unwrap(new Uint8Array(0))).toBeUndefined();
  expect(unwrap(Buffer.from('not an envelope at all'))).toBeUndefined();
  // A sub-array view (as decoded from a frame) works too.
  const framed = Buffer.concat([Buffer.from('xx'), w]).subarray(2);
  expect(unwrap(framed)!.id).toEqual(id);
});
