// One OS timer for all protocol timers: the transaction manager and the proxy keep their own
// heaps; this arms a single setTimeout at the earliest of their deadlines. `poke()` is cheap and
// coalesced: it re-checks the deadline once per event-loop turn, after the TU's async work settled.

export interface DeadlineSource {
  nextDeadline(): number | undefined;
  /** Fire everything due at `now`. */
  advance(now: number): void;
}

export interface TimerHost {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate(fn: () => void): unknown;
}

const REAL_TIMERS: TimerHost = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
};

export class DeadlineTimer {
  private handle: unknown = undefined;
  private armedAt = Infinity;
  private pending = false;
  private stopped = false;

  constructor(
    private readonly sources: readonly DeadlineSource[],
    private readonly clock: () => number,
    private readonly host: TimerHost = REAL_TIMERS,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Something may have scheduled a new timer: re-arm soon (coalesced). */
  poke(): void {
    if (this.pending || this.stopped) return;
    this.pending = true;
    this.host.setImmediate(() => {
      this.pending = false;
      this.rearm();
    });
  }

  /** Re-arm now (synchronously) at the earliest deadline. */
  rearm(): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const s of this.sources) {
      const d = s.nextDeadline();
      if (d !== undefined && d < next) next = d;
    }
    if (next === this.armedAt) return;
    if (this.handle !== undefined) this.host.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = next;
    if (next === Infinity) return;
    // Rounded up so we never wake before the deadline; an early wake-up just re-arms.
    const delay = Math.max(0, Math.ceil(next - this.clock()));
    this.handle = this.host.setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    const now = this.clock();
    for (const s of this.sources) {
      try {
        s.advance(now);
      } catch (err) {
        // A throwing TU callback must not stop the clock for every other transaction.
        this.onError(err);
      }
    }
    this.rearm();
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== undefined) this.host.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
