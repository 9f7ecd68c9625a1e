import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import type { InitialState, Storage } from '../../../cluster/raft/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../../../cluster/raft/types.js';

type Op =
  | { k: 'snap'; s: Snapshot }
  | { k: 'append'; e: Entry[] }
  | { k: 'hs'; h: HardState }
  | { k: 'create'; i: number; conf: ConfState; data: Uint8Array }
  | { k: 'compact'; i: number };

export interface SnapshotSource {
  index: number;
  conf: ConfState;
  data: Uint8Array;
}

/**
 * A disk as the simulator sees it: writes land in a volatile copy (what the node reads back)
 * and reach the durable copy only at sync() — the fsync. A crash keeps only the durable copy,
 * so every write not yet fsynced is lost.
 */
export class SimStorage implements Storage {
  volatile: MemoryStorage;
  private readonly durable: MemoryStorage;
  private pending: Op[] = [];
  /** Produces a fresh snapshot of the applied state when the leader needs one (etcd-server style). */
  snapshotSource: (() => SnapshotSource | undefined) | undefined;

  constructor(durable: MemoryStorage) {
    this.durable = durable;
    this.volatile = SimStorage.clone(durable);
  }

  static clone(src: MemoryStorage): MemoryStorage {
    const m = new MemoryStorage();
    const s = src.snapshot();
    if (s.metadata.index > 0) m.applySnapshot(s);
    else m.applySnapshot({ metadata: { ...s.metadata }, data: s.data });
    if (src.lastIndex() >= src.firstIndex()) m.append(src.entries(src.firstIndex(), src.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
    m.setHardState(src.hard);
    return m;
  }

  initialState(): InitialState {
    return this.volatile.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.volatile.entries(lo, hi, maxBytes);
  }
  term(i: number): number {
    return this.volatile.term(i);
  }
  firstIndex(): number {
    return this.volatile.firstIndex();
  }
  lastIndex(): number {
    return this.volatile.lastIndex();
  }
  snapshot(): Snapshot {
    const src = this.snapshotSource?.();
    if (src && src.index > this.volatile.snapshot().metadata.index && src.index <= this.volatile.lastIndex()) {
      this.createSnapshot(src.index, src.conf, src.data);
    }
    return this.volatile.snapshot();
  }

  get hard(): HardState {
    return this.volatile.hard;
  }
  get durableHard(): HardState {
    return this.durable.hard;
  }
  get durableSnapshotIndex(): number {
    return this.durable.snapshot().metadata.index;
  }

  applySnapshot(s: Snapshot): void {
    this.volatile.applySnapshot(s);
    this.pending.push({ k: 'snap', s });
  }
  append(e: Entry[]): void {
    if (e.length === 0) return;
    this.volatile.append(e);
    this.pending.push({ k: 'append', e });
  }
  setHardState(h: HardState): void {
    this.volatile.setHardState(h);
    this.pending.push({ k: 'hs', h: { ...h } });
  }
  createSnapshot(i: number, conf: ConfState, data: Uint8Array): void {
    this.volatile.createSnapshot(i, conf, data);
    this.pending.push({ k: 'create', i, conf, data });
  }
  compact(i: number): void {
    this.volatile.compact(i);
    this.pending.push({ k: 'compact', i });
  }

  /** fsync: every write so far becomes durable. */
  sync(): void {
    for (const op of this.pending) this.persist(op);
    this.pending = [];
  }

  private persist(op: Op): void {
      switch (op.k) {
        case 'snap':
          this.durable.applySnapshot(op.s);
          break;
        case 'append':
          this.durable.append(op.e);
          break;
        case 'hs':
          this.durable.setHardState(op.h);
          break;
        case 'create':
          this.durable.createSnapshot(op.i, op.conf, op.data);
          break;
        case 'compact':
          this.durable.compact(op.i);
          break;
      }
  }

  /**
   * Power loss: unsynced writes vanish; the node restarts from the durable copy. With `torn`,
   * the disk had already written some prefix of them (possibly cutting an append in the middle),
   * as a real disk may before the fsync returns.
   */
  crash(torn?: (max: number) => number): void {
    if (torn) {
      const k = torn(this.pending.length);
      for (let i = 0; i < k; i++) this.persist(this.pending[i]);
      const cut = this.pending[k];
      if (cut?.k === 'append') {
        const n = torn(cut.e.length);
        if (n > 0) this.durable.append(cut.e.slice(0, n));
      }
    }
    this.pending = [];
    this.volatile = SimStorage.clone(this.durable);
  }
}
