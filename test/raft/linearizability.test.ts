import { checkLinearizable, type KvOp } from './linearizability.js';

const put = (key: string, value: string, call: number, ret: number): KvOp => ({ kind: 'put', key, value, call, ret });
const get = (key: string, value: string | null, call: number, ret: number): KvOp => ({ kind: 'get', key, value, call, ret });

describe('linearizability checker (Porcupine-style, per key)', () => {
  test('sequential history that follows register semantics is linearizable', () => {
    expect(checkLinearizable([put('x', 'a', 0, 1), get('x', 'a', 2, 3), put('x', 'b', 4, 5), get('x', 'b', 6, 7)]).ok).toBe(true);
  });

  test('a read of a never-written key returns null', () => {
    expect(checkLinearizable([get('x', null, 0, 1)]).ok).toBe(true);
    expect(checkLinearizable([get('x', 'ghost', 0, 1)]).ok).toBe(false);
  });

  test('stale read after a completed write is not linearizable', () => {
    const h = [put('x', 'a', 0, 1), put('x', 'b', 2, 3), get('x', 'a', 4, 5)];
    expect(checkLinearizable(h)).toEqual({ ok: false, badKey: 'x', exhausted: false });
  });

  test('a read concurrent with a write may see either value', () => {
    expect(checkLinearizable([put('x', 'a', 0, 1), put('x', 'b', 2, 10), get('x', 'a', 3, 4)]).ok).toBe(true);
    expect(checkLinearizable([put('x', 'a', 0, 1), put('x', 'b', 2, 10), get('x', 'b', 3, 4)]).ok).toBe(true);
  });

  test('two reads cannot see the values in opposite orders (new-old inversion)', () => {
    // Knossos' classic: once a reader has seen b, a later reader cannot see a again.
    const h = [put('x', 'a', 0, 1), put('x', 'b', 2, 20), get('x', 'b', 3, 4), get('x', 'a', 5, 6)];
    expect(checkLinearizable(h).ok).toBe(false);
  });

  test('an operation with unknown outcome (ret=+Infinity) may or may not have happened', () => {
    const lost = put('x', 'b', 2, Infinity);
    expect(checkLinearizable([put('x', 'a', 0, 1), lost, get('x', 'a', 5, 6)]).ok).toBe(true);
    expect(checkLinearizable([put('x', 'a', 0, 1), lost, get('x', 'b', 5, 6)]).ok).toBe(true);
    expect(checkLinearizable([put('x', 'a', 0, 1), lost, get('x', 'b', 5, 6), get('x', 'a', 7, 8)]).ok).toBe(false);
  });

  test('a read cannot see a write that started after it returned', () => {
    expect(checkLinearizable([get('x', 'a', 0, 1), put('x', 'a', 2, 3)]).ok).toBe(false);
  });

  test('keys are checked independently', () => {
    const h = [put('x', 'a', 0, 1), put('y', 'b', 0, 1), get('y', 'b', 2, 3), get('x', 'b', 2, 3)];
    expect(checkLinearizable(h)).toEqual({ ok: false, badKey: 'x', exhausted: false });
  });

  test('long histories of overlapping writers and readers stay tractable', () => {
    const h: KvOp[] = [];
    // 300 writes each overlapping the next few; a read after each write's return sees it
    // unless a later overlapping write already started.
    for (let i = 0; i < 300; i++) {
      h.push(put('k', `v${i}`, i * 10, i * 10 + 25));
      h.push(get('k', `v${i}`, i * 10 + 26, i * 10 + 29));
    }
    for (let i = 0; i < 100; i++) h.push(put('k', `lost${i}`, i * 30, Infinity));
    const r = checkLinearizable(h);
    expect(r).toEqual({ ok: true, exhausted: false });
    // Inject one stale read: value v10 read long after v200 completed.
    h.push(get('k', 'v10', 3000, 3001));
    expect(checkLinearizable(h).ok).toBe(false);
  });

  test('rejects a history with a return before its call', () => {
    expect(() => checkLinearizable([put('x', 'a', 5, 1)])).toThrow();
  });
});
