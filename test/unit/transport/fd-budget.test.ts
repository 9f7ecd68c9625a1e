import { OWN_DESCRIPTORS, RefusalNotice, inboundConnectionCap, openFilesSoftLimit, outboundConnectionCap, reservedDescriptors } from '../../../node/transport/index.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            256                  1048576              files
Max locked memory         8388608              8388608              bytes
`;

describe('inbound TCP stays within the open-file limit', () => {
  test('the soft open-files limit is read from /proc/self/limits text', () => {
    expect(openFilesSoftLimit(LIMITS)).toBe(256);
    expect(openFilesSoftLimit(LIMITS.replace('256     ', 'unlimited'))).toBeNull();
    expect(openFilesSoftLimit('Max cpu time unlimited unlimited seconds\n')).toBeNull();
  });

  test('a quarter of the limit (at least 64) is reserved for the admin API, outbound connections and files', () => {
    expect(reservedDescriptors(256)).toBe(64);
    expect(reservedDescriptors(100)).toBe(64);
    expect(reservedDescriptors(20_000)).toBe(5_000);
  });

  test('the default cap of 10,000 under ulimit -n 256 is lowered so accept() never takes the last descriptors', () => {
    expect(inboundConnectionCap(10_000, 256, 1)).toEqual({ perListener: 192, clamped: true });
    // two TCP listeners share the budget
    expect(inboundConnectionCap(10_000, 256, 2)).toEqual({ perListener: 96, clamped: true });
  });

  test('a configured cap that fits, or an unknown limit, is kept', () => {
    expect(inboundConnectionCap(100, 256, 1)).toEqual({ perListener: 100, clamped: false });
    expect(inboundConnectionCap(10_000, 1_048_576, 1)).toEqual({ perListener: 10_000, clamped: false });
    expect(inboundConnectionCap(10_000, null, 1)).toEqual({ perListener: 10_000, clamped: false });
  });

  test('a limit smaller than the reserve still leaves one connection per listener', () => {
    expect(inboundConnectionCap(10_000, 32, 1)).toEqual({ perListener: 1, clamped: true });
  });
});

describe('outbound TCP gets the reserve less the node\'s own descriptors', () => {
  test('under ulimit -n 256: 192 inbound + 32 outbound + the node\'s own stay below the limit', () => {
    expect(outboundConnectionCap(256)).toBe(32);
    expect(inboundConnectionCap(10_000, 256, 1).perListener + (outboundConnectionCap(256) ?? 0) + OWN_DESCRIPTORS).toBeLessThanOrEqual(256);
  });

  test('scales with the limit, never below one, and is absent when the limit is unknown', () => {
    expect(outboundConnectionCap(20_000)).toBe(5_000 - OWN_DESCRIPTORS);
    expect(outboundConnectionCap(64)).toBe(32);
    expect(outboundConnectionCap(null)).toBeNull();
  });
});

describe('refused connections are reported at most once per interval', () => {
  test('a flood of refusals folds into one notice per minute with its count and reasons', () => {
    let now = 1_000;
    const n = new RefusalNotice(60_000, () => now);
    expect(n.note('limit')).toEqual({ count: 1, reasons: ['limit'] });
    for (let i = 0; i < 500; i++) {
      now += 10;
      expect(n.note(i % 2 === 0 ? 'limit' : 'EMFILE')).toBeNull();
    }
    now = 61_000;
    expect(n.note('EMFILE')).toEqual({ count: 501, reasons: ['limit', 'EMFILE'] });
    expect(n.note('limit')).toBeNull();
  });
});
