/**
 * A binary min-heap of (deadline, item) entries. Rescheduling pushes a new entry and the stale one
 * is recognised and skipped when popped (the owner compares the entry's deadline with the item's
 * current one), which keeps every operation O(log n) without an index into the heap.
 */
export interface QueueEntry<T> {
  readonly at: number;
  /** Insertion order: entries due at the same instant pop first-in first-out (deterministic traces). */
  readonly seq: number;
  /**
   * What is due. An owner whose T allows an empty value may empty a pushed entry to cancel it (no
   * separate slot object per deadline): it stays in the heap until popped or retained out.
   */
  item: T;
}

function before<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** In place (a destructuring swap may allocate an array per step on this per-message path). */
function swap<T>(heap: QueueEntry<T>[], i: number, j: number): void {
  const t = heap[i];
  heap[i] = heap[j];
  heap[j] = t;
}

export class TimerQueue<T> {
  private readonly heap: QueueEntry<T>[] = [];
  private pushed = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Adds an entry and returns it (see QueueEntry.item). */
  push(at: number, item: T): QueueEntry<T> {
    const heap = this.heap;
    const entry: QueueEntry<T> = { at, seq: this.pushed++, item };
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      swap(heap, i, parent);
      i = parent;
    }
    return entry;
  }

  /** Drops every entry `keep` rejects and restores the heap order (O(n)). */
  retain(keep: (item: T) => boolean): void {
    const kept = this.heap.filter((entry) => keep(entry.item));
    this.heap.length = 0;
    kept.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const entry of kept) this.heap.push(entry);
  }

  /** The earliest entry without removing it. */
  peek(): QueueEntry<T> | undefined {
    return this.heap[0];
  }

  peekAt(): number | undefined {
    return this.heap.length > 0 ? this.heap[0].at : undefined;
  }

  /** Removes and returns the earliest entry if it is due at `now`. */
  popDue(now: number): QueueEntry<T> | undefined {
    const heap = this.heap;
    if (heap.length === 0 || heap[0].at > now) return undefined;
    const top = heap[0];
    const last = heap.pop() as QueueEntry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        swap(heap, i, m);
        i = m;
      }
    }
    return top;
  }
}
