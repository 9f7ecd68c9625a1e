/**
 * Counts by one label's value kept as plain numbers and handed to a prom-client Counter when it is
 * scraped. prom-client's labelled `inc` validates and hashes the labels object on every call, which
 * on the per-message path (every request by method, every response by code) costs far more than the
 * addition; a scrape happens every few seconds at most, so the work moves there.
 */
import type { Counter } from 'prom-client';

export class LabelTally<L extends string> {
  /** Totals by label value, in first-seen order (the order the series then appear in). */
  private readonly totals = new Map<string | number, number>();
  /** What the counter has been given so far, by label value. */
  private readonly reported = new Map<string | number, number>();

  constructor(private readonly label: L) {}

  add(value: string | number): void {
    this.totals.set(value, (this.totals.get(value) ?? 0) + 1);
  }

  /** Gives the counter what was added since the last flush (call it from the counter's collect()). */
  flushInto(counter: Counter<L>): void {
    for (const [value, total] of this.totals) {
      const delta = total - (this.reported.get(value) ?? 0);
      if (delta === 0) continue;
      counter.inc({ [this.label]: String(value) } as Partial<Record<L, string>>, delta);
      this.reported.set(value, total);
    }
  }
}
