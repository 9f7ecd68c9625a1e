// ChurnMap: Map semantics for the operations the per-request tables use (the
// reason they exist, promotion of finished requests, is measured by bench:pipeline).
import { describe, expect, test } from '@jest/globals';
import { ChurnMap } from '../../../node/util/index.js';

describe('ChurnMap', () => {
  test('get, has, set, delete and size behave as a Map', () => {
    const m = new ChurnMap<string, { n: number }>();
    expect(m.size).toBe(0);
    expect(m.get('a')).toBeUndefined();
    expect(m.has('a')).toBe(false);
    const a = { n: 1 };
    expect(m.set('a', a)).toBe(m);
    expect(m.get('a')).toBe(a);
    expect(m.has('a')).toBe(true);
    expect(m.size).toBe(1);
    const b = { n: 2 };
    m.set('a', b); // replacing keeps one entry
    expect(m.get('a')).toBe(b);
    expect(m.size).toBe(1);
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    expect(m.get('a')).toBeUndefined();
    expect(m.has('a')).toBe(false);
    expect(m.size).toBe(0);
  });

  test('a key set again after its delete starts a fresh entry', () => {
    const m = new ChurnMap<string, number>();
    m.set('k', 1);
    m.delete('k');
    m.set('k', 2);
    expect(m.get('k')).toBe(2);
    expect(m.size).toBe(1);
  });

  test('many entries coming and going (table rehashes) keep every live one', () => {
    const m = new ChurnMap<string, number>();
    for (let i = 0; i < 10_000; i++) {
      m.set(`k${i}`, i);
      if (i >= 64) m.delete(`k${i - 64}`);
    }
    expect(m.size).toBe(64);
    for (let i = 10_000 - 64; i < 10_000; i++) expect(m.get(`k${i}`)).toBe(i);
    expect(m.has('k0')).toBe(false);
  });

  test('falsy values are values, not absences', () => {
    const m = new ChurnMap<string, number | null>();
    m.set('zero', 0);
    m.set('null', null);
    expect(m.get('zero')).toBe(0);
    expect(m.has('null')).toBe(true);
    expect(m.get('null')).toBeNull();
  });
});
