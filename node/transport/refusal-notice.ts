/**
 * Connections refused at accept (the inbound cap reached, or accept() failing with EMFILE/ENFILE)
 * come in floods, one event per connection attempt. Operators must hear of them, but a log line
 * per refusal would turn a connection flood into a logging flood: this folds them into at most
 * one notice per interval, carrying how many were refused since the previous one.
 */
export interface Notice {
  /** Refusals folded into this notice (including the one that released it). */
  readonly count: number;
  /** Reasons seen since the previous notice, e.g. 'limit', 'EMFILE'. */
  readonly reasons: readonly string[];
}

export class RefusalNotice {
  private last = -Infinity;
  private count = 0;
  private readonly reasons = new Set<string>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Records one refusal; returns a notice to log when the interval since the last one has passed. */
  note(reason: string): Notice | null {
    this.count++;
    this.reasons.add(reason);
    const t = this.now();
    if (t - this.last < this.intervalMs) return null;
    this.last = t;
    const notice: Notice = { count: this.count, reasons: [...this.reasons] };
    this.count = 0;
    this.reasons.clear();
    return notice;
  }
}
