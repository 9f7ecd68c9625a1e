import { describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import { OverloadControl } from '../../../node/core/overload-control.js';
import { exemptFromShedding, OverloadMonitor } from '../../../node/core/overload-monitor.js';
import { createNodeMetrics } from '../../../node/metrics/index.js';
import type { RequestView } from '../../../node/transaction/index.js';
import { until } from '../../helpers/eventually.js';

const TARGET = 100;
const INTERVAL = 100;

/** One socket queue (index 0). `delay(ms)` at time t reports a probe sent at t - ms. */
function harness() {
  const c = new OverloadControl({ targetDelayMs: TARGET, intervalMs: INTERVAL }, 1, 0);
  let now = 0;
  return {
    c,
    /** Advances to `t`, reporting on the way a probe that waited `ms`, then lets the control decide. */
    at(t: number, ms?: number) {
      now = t;
      if (ms !== undefined) c.sample(0, ms, t - ms);
      return c.tick(now);
    },
    refusedOf(n: number): number {
      let refused = 0;
      for (let i = 0; i < n; i++) if (!c.admit()) refused++;
      return refused;
    },
  };
}

describe('OverloadControl (queueing-delay admission control)', () => {
  test('delays under the target shed nothing', () => {
    const h = harness();
    for (let t = 100; t <= 2000; t += 100) expect(h.at(t, 40)).toBeNull();
    expect(h.c.shedFraction).toBe(0);
    expect(h.refusedOf(1000)).toBe(0);
  });

  test('a standing delay over the target cuts admission by target/delay, and exactly that share is refused, evenly', () => {
    const h = harness();
    const change = h.at(300, 250); // cut = max(0.5, 100/250) = 0.5
    expect(change).toEqual({ from: 0, to: 0.5, standingDelayMs: 250 });
    const pattern: boolean[] = [];
    for (let i = 0; i < 10; i++) pattern.push(h.c.admit());
    expect(pattern).toEqual([true, false, true, false, true, false, true, false, true, false]);
    expect(h.refusedOf(1000)).toBe(500);
  });

  test('just over the target trims (at most a 10 % cut)', () => {
    const h = harness();
    expect(h.at(200, 105)?.to).toBeCloseTo(0.1, 10);
  });

  test('no decision before an interval has passed, and a burst that drains within it is not overload (the minimum counts)', () => {
    const c = new OverloadControl({ targetDelayMs: TARGET, intervalMs: INTERVAL }, 1, 0);
    c.sample(0, 400, 10);
    expect(c.tick(50)).toBeNull();
    c.sample(0, 5, 80); // the queue emptied: the interval's minimum is 5 ms
    expect(c.tick(100)).toBeNull();
    expect(c.shedFraction).toBe(0);
  });

  test('only fresh evidence counts: probes sent before a cut do not cut again', () => {
    const h = harness();
    h.at(300, 300); // cut to 0.5 at t=300
    expect(h.c.shedFraction).toBe(0.5);
    // Late arrivals of probes sent before the cut report the old, long queue: ignored.
    h.c.sample(0, 350, 250);
    expect(h.c.tick(450)).toBeNull();
    expect(h.c.shedFraction).toBe(0.5);
  });

  test('over the target but draining since the last decision: hold; growing: cut again', () => {
    const h = harness();
    h.at(300, 300); // shed 0.5
    expect(h.at(600, 200)).toBeNull(); // 200 < 0.9 × 300: the cut is working
    expect(h.c.shedFraction).toBe(0.5);
    expect(h.at(900, 250)?.to).toBeCloseTo(0.75, 10); // growing again: admit 0.5 × 0.5
  });

  test('recovery is additive and slow (2 % of admission per decision under half the target) and ends at exactly 0', () => {
    const h = harness();
    h.at(300, 300); // shed 0.5
    let t = 300;
    let decisions = 0;
    while (h.c.shedFraction > 0) {
      t += 100;
      h.at(t, 10);
      decisions++;
      expect(decisions).toBeLessThan(100);
    }
    expect(decisions).toBe(25);
    expect(h.refusedOf(1000)).toBe(0);
  });

  test('between half the target and the target: hold', () => {
    const h = harness();
    h.at(300, 300);
    expect(h.at(400, 75)).toBeNull();
    expect(h.c.shedFraction).toBe(0.5);
  });

  test('a lost probe (the socket overflowed) halves admission even while the delays look fine', () => {
    const h = harness();
    h.c.lost(50);
    const change = h.at(100, 3);
    expect(change?.to).toBe(0.5);
    // A loss from before that decision is stale: the next one recovers instead of cutting again.
    h.c.lost(80);
    expect(h.at(200, 3)?.to).toBeCloseTo(0.48, 10);
  });

  test('no probe back and the oldest fresh one in flight for over twice the target: that age decides', () => {
    const c = new OverloadControl({ targetDelayMs: TARGET, intervalMs: INTERVAL }, 2, 0);
    // Queue 1 answers fast; queue 0 has had a probe in flight for 150 ms, then 450 ms.
    c.sample(1, 2, 90);
    expect(c.tick(150, (q) => (q === 0 ? 150 : 0))).toBeNull(); // not yet evidence: wait for the figure
    c.sample(1, 2, 440);
    const change = c.tick(450, (q) => (q === 0 ? 450 : 0));
    expect(change).toEqual({ from: 0, to: 0.5, standingDelayMs: 450 });
  });

  test('the worst queue decides', () => {
    const c = new OverloadControl({ targetDelayMs: TARGET, intervalMs: INTERVAL }, 2, 0);
    c.sample(0, 1, 50);
    c.sample(1, 200, 0);
    expect(c.tick(200)?.standingDelayMs).toBe(200);
  });

  test('admission never stalls at a tiny share: below 5 % it refuses all new requests, and recovers from there', () => {
    const h = harness();
    let t = 0;
    for (let i = 1; i <= 10 && h.c.shedFraction < 1; i++) {
      t += 1000;
      h.at(t, 500 + i); // fresh probes, ever so slightly longer: never draining
    }
    expect(h.c.shedFraction).toBe(1);
    expect(h.refusedOf(100)).toBe(100);
    h.at(t + 100, 1);
    expect(h.c.shedFraction).toBeCloseTo(0.98, 10);
  });
});

describe('exemptFromShedding', () => {
  const view = (method: string, uri: string, toTag?: string): RequestView =>
    ({ kind: 'request', method, uri, toTag, fromTag: 'f', callId: 'c', cseq: { seq: 1, method }, topVia: { branch: 'z9hG4bK1', host: 'h', port: 5060, transport: 'UDP', raw: '' }, headerValues: () => [] }) as RequestView;

  test('work already admitted and emergency calls are never shed; new out-of-dialog requests are', () => {
    expect(exemptFromShedding(view('CANCEL', 'sip:bob@example.com'))).toBe(true);
    expect(exemptFromShedding(view('BYE', 'sip:bob@example.com', 'totag'))).toBe(true);
    expect(exemptFromShedding(view('INVITE', 'sip:bob@example.com', 'totag'))).toBe(true); // re-INVITE
    expect(exemptFromShedding(view('INVITE', 'urn:service:sos'))).toBe(true);
    expect(exemptFromShedding(view('INVITE', 'URN:Service:SOS.police'))).toBe(true);
    expect(exemptFromShedding(view('INVITE', 'sip:bob@example.com'))).toBe(false);
    expect(exemptFromShedding(view('REGISTER', 'sip:example.com'))).toBe(false);
    expect(exemptFromShedding(view('OPTIONS', 'sip:example.com'))).toBe(false);
  });
});

describe('OverloadMonitor (the shell around the control)', () => {
  test('drops a freshly bound socket counted before the first look are a loss: shedding starts', async () => {
    // A 10 s target: however late a loaded box runs the monitor's timer, only a loss can start shedding.
    const monitor = new OverloadMonitor({ targetDelayMs: 10_000, intervalMs: 20 }, 1, createNodeMetrics({ defaultMetrics: false }), pino({ level: 'silent' }));
    let reads = 0;
    // The flood happened before the monitor's first read: its very first answer is already 40.
    const queue = { sendProbe: () => undefined, probeInFlightMs: () => 0, socketDrops: async () => (reads++, 40) };
    monitor.start([queue]);
    try {
      await until(() => monitor.control.shedFraction > 0, 5000);
      expect(reads).toBeGreaterThanOrEqual(1);
    } finally {
      monitor.stop();
    }
  });
});
