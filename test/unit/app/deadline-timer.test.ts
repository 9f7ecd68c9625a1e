/** DeadlineTimer: one OS timer at the earliest deadline of several sources, under an injected clock. */
import { DeadlineTimer, type DeadlineSource, type TimerHost } from '../../../node/app/index.js';

class FakeHost implements TimerHost {
  timers = new Map<number, { fn: () => void; at: number }>();
  immediates: (() => void)[] = [];
  private seq = 0;
  constructor(private readonly clock: { now: number }) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { fn, at: this.clock.now + ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  setImmediate(fn: () => void): unknown {
    this.immediates.push(fn);
    return undefined;
  }
  runImmediates(): void {
    const list = this.immediates;
    this.immediates = [];
    for (const fn of list) fn();
  }
  /** Advances the clock, firing due timers in deadline order. */
  advanceTo(t: number): void {
    for (;;) {
      const due = [...this.timers.entries()].filter(([, v]) => v.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.clock.now = due[1].at;
      due[1].fn();
    }
    this.clock.now = t;
  }
}

class Source implements DeadlineSource {
  readonly fired: number[] = [];
  constructor(public deadlines: number[]) {}
  nextDeadline(): number | undefined {
    return this.deadlines.length === 0 ? undefined : Math.min(...this.deadlines);
  }
  advance(now: number): void {
    const due = this.deadlines.filter((d) => d <= now);
    this.deadlines = this.deadlines.filter((d) => d > now);
    this.fired.push(...due);
  }
}

function setup(sources: Source[]) {
  const clock = { now: 0 };
  const host = new FakeHost(clock);
  const errors: unknown[] = [];
  const timer = new DeadlineTimer(sources, () => clock.now, host, (e) => errors.push(e));
  return { clock, host, timer, errors };
}

test('arms exactly one OS timer at the earliest deadline across sources', () => {
  const a = new Source([500]);
  const b = new Source([200, 900]);
  const { host, timer } = setup([a, b]);
  timer.rearm();
  expect(host.timers.size).toBe(1);
  expect([...host.timers.values()][0].at).toBe(200);
});

test('firing advances every source at the current time and re-arms at the next deadline', () => {
  const a = new Source([500]);
  const b = new Source([200, 900]);
  const { host, timer } = setup([a, b]);
  timer.rearm();
  host.advanceTo(200);
  expect(b.fired).toEqual([200]);
  expect(a.fired).toEqual([]);
  expect([...host.timers.values()].map((t) => t.at)).toEqual([500]);
  host.advanceTo(1000);
  expect(a.fired).toEqual([500]);
  expect(b.fired).toEqual([200, 900]);
  expect(host.timers.size).toBe(0); // nothing left: no timer armed
});

test('poke is coalesced to one re-check per event-loop turn and picks up a new earlier deadline', () => {
  const a = new Source([1000]);
  const { host, timer } = setup([a]);
  timer.rearm();
  a.deadlines.push(100);
  timer.poke();
  timer.poke();
  timer.poke();
  expect(host.immediates).toHaveLength(1);
  host.runImmediates();
  expect([...host.timers.values()].map((t) => t.at)).toEqual([100]);
});

test('an unchanged deadline does not re-create the OS timer', () => {
  const a = new Source([300]);
  const { host, timer } = setup([a]);
  timer.rearm();
  const before = [...host.timers.keys()];
  timer.rearm();
  expect([...host.timers.keys()]).toEqual(before);
});

test('a throwing source is reported each time and does not stop the others or the clock', () => {
  const bad: DeadlineSource = {
    nextDeadline: () => undefined,
    advance: () => {
      throw new Error('boom');
    },
  };
  const good = new Source([50, 80]);
  const clock = { now: 0 };
  const host = new FakeHost(clock);
  const errors: unknown[] = [];
  const t = new DeadlineTimer([bad, good], () => clock.now, host, (e) => errors.push(e));
  t.rearm();
  host.advanceTo(100);
  // Every firing advances every source: two firings (50, 80), two reports, both deadlines served.
  expect(errors).toHaveLength(2);
  expect(good.fired).toEqual([50, 80]);
});

test('stop clears the timer and ignores later pokes', () => {
  const a = new Source([100]);
  const { host, timer } = setup([a]);
  timer.rearm();
  timer.stop();
  expect(host.timers.size).toBe(0);
  timer.poke();
  expect(host.immediates).toHaveLength(0);
});
