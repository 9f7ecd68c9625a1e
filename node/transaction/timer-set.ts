/**
 * The named timers of one transaction. Deadlines are absolute times on the injected clock; the
 * owner asks for the earliest one and fires timers that are due, one at a time, in deadline order.
 * A machine has at most four timers armed at once, and every live transaction holds a set for up
 * to 64·T1: a handful of slots scanned in order cost a fraction of a Map's memory and are as fast.
 */
export class TimerSet<Name extends string> {
  private n = 0;
  // The first two slots are fields: a transaction rarely has more armed at once (A+B, E+F, G+H),
  // and one kept for 64·T1 after its final has one (J, K, L, M). Two arrays per transaction would
  // be four more heap objects; further slots live in arrays made on demand.
  private name0: Name | undefined = undefined;
  private at0 = Number.POSITIVE_INFINITY;
  private name1: Name | undefined = undefined;
  private at1 = Number.POSITIVE_INFINITY;
  private moreNames: Name[] | null = null;
  private moreAts: number[] | null = null;

  private nameAt(i: number): Name {
    return (i === 0 ? this.name0 : i === 1 ? this.name1 : (this.moreNames as Name[])[i - 2]) as Name;
  }

  private atOf(i: number): number {
    return i === 0 ? this.at0 : i === 1 ? this.at1 : (this.moreAts as number[])[i - 2];
  }

  private put(i: number, name: Name, at: number): void {
    if (i === 0) {
      this.name0 = name;
      this.at0 = at;
    } else if (i === 1) {
      this.name1 = name;
      this.at1 = at;
    } else {
      (this.moreNames ??= [])[i - 2] = name;
      (this.moreAts ??= [])[i - 2] = at;
    }
  }

  arm(name: Name, at: number): void {
    const i = this.indexOf(name);
    // Re-arming keeps the original arming order (ties go to the first armed).
    this.put(i >= 0 ? i : this.n++, name, at);
  }

  private indexOf(name: Name): number {
    for (let i = 0; i < this.n; i++) if (this.nameAt(i) === name) return i;
    return -1;
  }

  private removeAt(i: number): void {
    for (let j = i + 1; j < this.n; j++) this.put(j - 1, this.nameAt(j), this.atOf(j));
    this.n--;
    if (this.n >= 2) (this.moreNames as Name[]).length = (this.moreAts as number[]).length = this.n - 2;
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
    this.moreNames = this.moreAts = null;
  }

  has(name: Name): boolean {
    return this.indexOf(name) >= 0;
  }

  deadline(name: Name): number | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.atOf(i);
  }

  /** Earliest deadline of any armed timer. */
  next(): number | undefined {
    let best: number | undefined;
    for (let i = 0; i < this.n; i++) {
      const at = this.atOf(i);
      if (best === undefined || at < best) best = at;
    }
    return best;
  }

  /** Removes and returns the earliest timer due at `now`; ties go to the first armed. */
  takeDue(now: number): Name | undefined {
    let best = -1;
    let bestAt = Infinity;
    for (let i = 0; i < this.n; i++) {
      const at = this.atOf(i);
      if (at <= now && at < bestAt) {
        best = i;
        bestAt = at;
      }
    }
    if (best < 0) return undefined;
    const name = this.nameAt(best);
    this.removeAt(best);
    return name;
  }

  /** Armed timers and deadlines, for traces and tests. */
  snapshot(): ReadonlyMap<Name, number> {
    const m = new Map<Name, number>();
    for (let i = 0; i < this.n; i++) m.set(this.nameAt(i), this.atOf(i));
    return m;
  }
}
