// The manager's binary-heap timer queue.
import { TimerQueue } from '../../../node/transaction/index.js';

function drain(q: TimerQueue<string>, now: number): string[] {
  const out: string[] = [];
  for (let e = q.popDue(now); e !== undefined; e = q.popDue(now)) out.push(`${e.at}:${e.item}`);
  return out;
}

test('pops in deadline order, first-in first-out on ties, only what is due', () => {
  const q = new TimerQueue<string>();
  const deadlines = [50, 10, 40, 10, 30, 20, 10, 60];
  deadlines.forEach((at, i) => q.push(at, `e${i}`));
  expect(q.peekAt()).toBe(10);
  expect(drain(q, 30)).toEqual(['10:e1', '10:e3', '10:e6', '20:e5', '30:e4']);
  expect(q.size).toBe(3);
  expect(drain(q, Infinity)).toEqual(['40:e2', '50:e0', '60:e7']);
  expect(q.peekAt()).toBeUndefined();
});

test('a pseudo-random load comes out sorted; retain drops entries and keeps heap order', () => {
  const q = new TimerQueue<string>();
  let x = 12345;
  for (let i = 0; i < 2000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    q.push(x % 10_000, `k${i}`);
  }
  q.retain((item) => Number(item.slice(1)) % 2 === 0);
  expect(q.size).toBe(1000);
  const out: number[] = [];
  for (let e = q.popDue(Infinity); e !== undefined; e = q.popDue(Infinity)) out.push(e.at);
  expect(out).toEqual([...out].sort((a, b) => a - b));
});

test('push returns the entry: an owner empties it to cancel, and it pops empty in its turn', () => {
  const q = new TimerQueue<string | undefined>();
  const a = q.push(10, 'a');
  q.push(20, 'b');
  a.item = undefined;
  expect(q.popDue(30)?.item).toBeUndefined();
  expect(q.popDue(30)?.item).toBe('b');
  q.push(5, undefined);
  q.retain((item) => item !== undefined);
  expect(q.size).toBe(0);
});
