import { TimerSet } from '../../../node/transaction/timer-set.js';

describe('TimerSet: the named timers of one transaction', () => {
  test('fires due timers earliest first, ties in arming order, and re-arming keeps the slot', () => {
    const t = new TimerSet<'A' | 'B' | 'C'>();
    t.arm('A', 30);
    t.arm('B', 10);
    t.arm('C', 10);
    t.arm('A', 10); // re-armed: same deadline as B and C, but armed first
    expect(t.next()).toBe(10);
    expect([t.takeDue(10), t.takeDue(10), t.takeDue(10), t.takeDue(10)]).toEqual(['A', 'B', 'C', undefined]);
    expect(t.next()).toBeUndefined();
  });

  test('cancel, has, deadline and clear', () => {
    const t = new TimerSet<'E' | 'F' | 'K'>();
    t.arm('E', 5);
    t.arm('F', 100);
    t.arm('K', 50);
    t.cancel('E', 'K');
    expect(t.has('E')).toBe(false);
    expect(t.has('F')).toBe(true);
    expect(t.deadline('F')).toBe(100);
    expect(t.takeDue(99)).toBeUndefined();
    t.clear();
    expect(t.snapshot().size).toBe(0);
    expect(t.takeDue(1000)).toBeUndefined();
  });

  test('more timers than the initial four slots grow the set without losing any', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] as const;
    const t = new TimerSet<(typeof names)[number]>();
    names.forEach((n, i) => t.arm(n, 100 - i));
    expect([...t.snapshot().keys()]).toEqual([...names]);
    const fired: string[] = [];
    for (let n = t.takeDue(100); n !== undefined; n = t.takeDue(100)) fired.push(n);
    expect(fired).toEqual([...names].reverse());
  });
});
