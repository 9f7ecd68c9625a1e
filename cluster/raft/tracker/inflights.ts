/**
 * The AppendEntries messages sent to one follower and not yet acknowledged, bounded both by
 * count and by total payload bytes so a slow follower cannot make the leader buffer without limit.
 * Stored as a ring of (last index, bytes) pairs in send order.
 */
export class Inflights {
  private readonly idx: number[];
  private readonly sizes: number[];
  private start = 0;
  private count_ = 0;
  private bytes_ = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes = 0, // 0: no byte bound
  ) {
    this.idx = new Array<number>(capacity).fill(0);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.count_;
  }

  get bytes(): number {
    return this.bytes_;
  }

  /** Records a message whose last entry is `index`, carrying `bytes` of payload. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('inflights: add on a full window');
    const pos = (this.start + this.count_) % this.capacity;
    this.idx[pos] = index;
    this.sizes[pos] = bytes;
    this.count_++;
    this.bytes_ += bytes;
  }

  /** Frees every message whose last index is <= `to` (they were acknowledged). */
  freeLE(to: number): void {
    while (this.count_ > 0 && this.idx[this.start] <= to) {
      this.bytes_ -= this.sizes[this.start];
      this.start = (this.start + 1) % this.capacity;
      this.count_--;
    }
    if (this.count_ === 0) this.start = 0;
  }

  /** Frees the oldest message: a heartbeat response proves the follower is alive (etcd semantics). */
  freeFirstOne(): void {
    if (this.count_ === 0) return;
    this.freeLE(this.idx[this.start]);
  }

  full(): boolean {
    return this.count_ === this.capacity || (this.maxBytes > 0 && this.bytes_ >= this.maxBytes);
  }

  reset(): void {
    this.start = 0;
    this.count_ = 0;
    this.bytes_ = 0;
  }

  clone(): Inflights {
    const c = new Inflights(this.capacity, this.maxBytes);
    for (let i = 0; i < this.count_; i++) {
      const p = (this.start + i) % this.capacity;
      c.add(this.idx[p], this.sizes[p]);
    }
    return c;
  }
}
