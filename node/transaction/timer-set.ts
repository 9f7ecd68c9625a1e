/**
 * The named timers of one transaction. Deadlines are absolute times on the injected clock; the
 * owner asks for the earliest one and fires timers that are due, one at a time, in deadline order.
 */
export class TimerSet<Name extends string> {
  private readonly deadlines = new Map<Name, number>();

  arm(name: Name, at: number): void {
    this.deadlines.set(name, at);
  }

  cancel(...names: Name[]): void {
    for (const name of names) this.deadlines.delete(name);
  }

  clear(): void {
    this.deadlines.clear();
  }

  has(name: Name): boolean {
    return this.deadlines.has(name);
  }

  deadline(name: Name): number | undefined {
    return this.deadlines.get(name);
  }

  /** Earliest deadline of any armed timer. */
  next(): number | undefined {
    let best: number | undefined;
    for (const at of this.deadlines.values()) if (best === undefined || at < best) best = at;
    return best;
  }

  /** Removes and returns the earliest timer due at `now`; ties go to the first armed. */
  takeDue(now: number): Name | undefined {
    let best: Name | undefined;
    let bestAt = Infinity;
    for (const [name, at] of this.deadlines) {
      if (at <= now && at < bestAt) {
        best = name;
        bestAt = at;
      }
    }
    if (best !== undefined) this.deadlines.delete(best);
    return best;
  }

  /** Armed timers and deadlines, for traces and tests. */
  snapshot(): ReadonlyMap<Name, number> {
    return new Map(this.deadlines);
  }
}
