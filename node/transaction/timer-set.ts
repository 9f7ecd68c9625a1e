/**
 * The named timers of one transaction. Deadlines are absolute times on the injected clock; the
 * owner asks for the earliest one and fires timers that are due, one at a time, in deadline order.
 * A machine has at most four timers armed at once, and every live transaction holds a set for up
 * to 64·T1: two exactly-sized parallel arrays cost a fraction of a Map's memory (or of arrays grown
 * by push, which reserve 17 slots) and are scanned as fast.
 */
export class TimerSet<Name extends string> {
  // Two slots to start: a transaction rarely has more armed at once (A+B, E+F, G+H), and a finished
  // one kept for 64·T1 has one (J, K, L, M); more grow the arrays.
  private names: Name[] = new Array<Name>(2);
  private ats: number[] = new Array<number>(2);
  private n = 0;

  arm(name: Name, at: number): void {
    const i = this.indexOf(name);
    if (i >= 0) {
      // Re-arming keeps the original arming order (ties go to the first armed).
      this.ats[i] = at;
      return;
    }
    if (this.n === this.names.length) {
      const names = new Array<Name>(2 * this.n);
      const ats = new Array<number>(2 * this.n);
      for (let i = 0; i < this.n; i++) {
        names[i] = this.names[i];
        ats[i] = this.ats[i];
      }
      this.names = names;
      this.ats = ats;
    }
    this.names[this.n] = name;
    this.ats[this.n] = at;
    this.n++;
  }

  private indexOf(name: Name): number {
    for (let i = 0; i < this.n; i++) if (this.names[i] === name) return i;
    return -1;
  }

  private removeAt(i: number): void {
    for (let j = i + 1; j < this.n; j++) {
      this.names[j - 1] = this.names[j];
      this.ats[j - 1] = this.ats[j];
    }
    this.n--;
  }

  cancel(a: Name, b?: Name): void {
    this.remove(a);
    if (b !== undefined) this.remove(b);
  }

  private remove(name: Name): void {
    const i = this.indexOf(name);
    if (i >= 0) this.removeAt(i);
  }

  clear(): void {
    this.n = 0;
  }

  has(name: Name): boolean {
    return this.indexOf(name) >= 0;
  }

  deadline(name: Name): number | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.ats[i];
  }

  /** Earliest deadline of any armed timer. */
  next(): number | undefined {
    let best: number | undefined;
    for (let i = 0; i < this.n; i++) if (best === undefined || this.ats[i] < best) best = this.ats[i];
    return best;
  }

  /** Removes and returns the earliest timer due at `now`; ties go to the first armed. */
  takeDue(now: number): Name | undefined {
    let best = -1;
    let bestAt = Infinity;
    for (let i = 0; i < this.n; i++) {
      const at = this.ats[i];
      if (at <= now && at < bestAt) {
        best = i;
        bestAt = at;
      }
    }
    if (best < 0) return undefined;
    const name = this.names[best];
    this.removeAt(best);
    return name;
  }

  /** Armed timers and deadlines, for traces and tests. */
  snapshot(): ReadonlyMap<Name, number> {
    const m = new Map<Name, number>();
    for (let i = 0; i < this.n; i++) m.set(this.names[i], this.ats[i]);
    return m;
  }
}
