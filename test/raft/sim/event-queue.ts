/** Binary min-heap of timed events; ties broken by insertion order so runs are deterministic. */
export interface TimedEvent<T> {
  at: number;
  seq: number;
  ev: T;
}

export class EventQueue<T> {
  private heap: TimedEvent<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, ev: T): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, ev });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  pop(): TimedEvent<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as TimedEvent<T>;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  private less(a: TimedEvent<T>, b: TimedEvent<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}
