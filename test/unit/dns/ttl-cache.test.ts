import { TtlCache } from '../../../node/dns/index.js';

describe('TtlCache', () => {
  test('an entry lives until its TTL on the injected clock, then is gone', () => {
    const clock = { t: 1000 };
    const c = new TtlCache<string>(10, () => clock.t);
    c.set('a', 'x', 500);
    clock.t = 1499;
    expect(c.get('a')).toBe('x');
    clock.t = 1500;
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  test('bounded: past maxEntries the oldest insertion is evicted; a refresh makes an entry young', () => {
    const c = new TtlCache<number>(3, () => 0);
    c.set('a', 1, 1000);
    c.set('b', 2, 1000);
    c.set('c', 3, 1000);
    c.set('a', 11, 1000); // refreshed: b is now the oldest
    c.set('d', 4, 1000);
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([11, 3, 4]);
    for (let i = 0; i < 1000; i++) c.set(`n${i}`, i, 1000);
    expect(c.size).toBe(3);
  });
});
