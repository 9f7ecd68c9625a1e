import { orderSrv, srvDeclinesService, srvQueryName, canonicalName, type SrvRecord } from '../../../node/dns/index.js';
import { seeded } from '../../helpers/seeded.js';

const rec = (name: string, priority: number, weight: number, port = 5060): SrvRecord => ({ name, priority, weight, port });

describe('RFC 2782 ordering', () => {
  test('lower priority first, whatever the weights and the answer order', () => {
    const records = [rec('c', 30, 100), rec('a', 10, 0), rec('b', 20, 5)];
    for (let seed = 1; seed <= 20; seed++) expect(orderSrv(records, seeded(seed)).map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  test('within a priority every record appears exactly once, each group kept together', () => {
    const records = [rec('x1', 1, 10), rec('y1', 2, 10), rec('x2', 1, 20), rec('y2', 2, 0), rec('x3', 1, 0)];
    const order = orderSrv(records, seeded(7)).map((r) => r.name);
    expect(order.slice(0, 3).sort()).toEqual(['x1', 'x2', 'x3']);
    expect(order.slice(3).sort()).toEqual(['y1', 'y2']);
  });

  test('the first pick follows the weights (60:30:10 over 20000 seeded draws)', () => {
    const records = [rec('a', 0, 60), rec('b', 0, 30), rec('c', 0, 10)];
    const random = seeded(42);
    const first: Record<string, number> = { a: 0, b: 0, c: 0 };
    const n = 20_000;
    for (let i = 0; i < n; i++) first[orderSrv(records, random)[0].name]++;
    expect(first.a / n).toBeGreaterThan(0.57);
    expect(first.a / n).toBeLessThan(0.63);
    expect(first.b / n).toBeGreaterThan(0.27);
    expect(first.b / n).toBeLessThan(0.33);
    expect(first.c / n).toBeGreaterThan(0.08);
    expect(first.c / n).toBeLessThan(0.12);
  });

  test('a zero-weight record is chosen only when the draw is exactly 0 (1 in sum+1), and otherwise comes last', () => {
    const records = [rec('w', 0, 9), rec('zero', 0, 0)];
    expect(orderSrv(records, () => 0).map((r) => r.name)).toEqual(['zero', 'w']);
    expect(orderSrv(records, () => 0.5).map((r) => r.name)).toEqual(['w', 'zero']);
    expect(orderSrv(records, () => 0.9999).map((r) => r.name)).toEqual(['w', 'zero']);
  });

  test('the same seed gives the same order; the input is not modified', () => {
    const records = [rec('a', 1, 1), rec('b', 1, 1), rec('c', 1, 1), rec('d', 1, 1)];
    const copy = records.map((r) => ({ ...r }));
    expect(orderSrv(records, seeded(3))).toEqual(orderSrv(records, seeded(3)));
    expect(records).toEqual(copy);
  });

  test('"." as the only target: service decidedly not available', () => {
    expect(srvDeclinesService([rec('.', 0, 0, 0)])).toBe(true);
    expect(srvDeclinesService([rec('a', 0, 0)])).toBe(false);
    expect(srvDeclinesService([])).toBe(false);
  });
});

describe('RFC 3263 §4.2 SRV names', () => {
  test.each([
    ['example.com', 'udp', false, '_sip._udp.example.com'],
    ['example.com', 'tcp', false, '_sip._tcp.example.com'],
    ['example.com', 'tcp', true, '_sips._tcp.example.com'],
  ] as const)('%s over %s (sips %s) -> %s', (host, transport, secure, expected) => {
    expect(srvQueryName(host, transport, secure)).toBe(expected);
  });

  test('names compare without case and without the root dot', () => {
    expect(canonicalName('Proxy.Example.NET.')).toBe('proxy.example.net');
  });
});
